import Configuration
import Datasets
import Networks
import Cluster

/// Where every job gets its model: the configuration's `[model]` table (what the CLI runs), or a
/// model a library caller built — any `Model`, the seam every job works over. A given model is
/// checked against the data like a built one; the job's summary names it (`Model.summary`), and
/// its config.toml says in a comment that the `[model]` table it holds was not used.
extension RunConfiguration {
    /// The model for `dataset`, refusing loss/data combinations that make no sense.
    func resolvedModel(for dataset: Dataset, given: (any Model)? = nil) throws -> any Model {
        let loss = given?.loss ?? model.loss
        if loss == .crossEntropy && !dataset.isClassification {
            throw InputError("model.loss = \"cross-entropy\" needs class labels, but data kind '\(data.kind.rawValue)' has real-valued targets; use model.loss = \"mse\"")
        }
        if let given {
            guard given.inputDimension == dataset.inputDimension, given.outputDimension == dataset.outputDimension else {
                throw InputError("the given model (\(given.summary)) takes \(given.inputDimension) inputs and \(given.outputDimension) outputs, but the data have d = \(dataset.inputDimension) and k = \(dataset.outputDimension); build it for the data")
            }
            return given
        }
        guard let m = model.parameterCount(inputs: dataset.inputDimension, outputs: dataset.outputDimension), m <= 1 << 31 else {
            throw InputError("model.layers \(model.layers) give an absurdly large network")
        }
        return model.model(inputs: dataset.inputDimension, outputs: dataset.outputDimension)
    }

    /// config.toml of a run on `model`: the resolved configuration, with a first line naming a
    /// model that was given rather than built from `[model]`.
    func toml(runningOn model: (any Model)?) -> String {
        guard let model else { return toml }
        return "# model given by the library caller: \(model.summary) (the [model] table below was not used)\n" + toml
    }
}
