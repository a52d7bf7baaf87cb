import Configuration
import Datasets
import Networks
import Cluster
import ONNX

/// Where every job gets its model: the configuration's `[model]` table (what the CLI runs), or a
/// model a library caller built — any `Model`, the seam every job works over. A given model is
/// checked against the data like a built one; the job's summary names it (`Model.summary`), and
/// its config.toml says in a comment that the `[model]` table it holds was not used.
extension RunConfiguration {
    /// The model for `dataset`, refusing loss/data combinations that make no sense.
    package func resolvedModel(for dataset: Dataset, given: (any Model)? = nil) throws -> any Model {
        let loss = given?.loss ?? model.loss
        if loss == .crossEntropy && !dataset.isClassification {
            throw InputError("model.loss = \"cross-entropy\" needs class labels, but data kind '\(data.kind.rawValue)' has real-valued targets; use model.loss = \"mse\"")
        }
        if let given {
            guard given.parameterCount <= maximumParameterCount else {
                throw InputError("the given model (\(given.summary)) has \(given.parameterCount) parameters, more than 2³¹ − 1 (BLAS's 32-bit sizes); use a smaller model")
            }
            guard given.inputDimension == dataset.inputDimension, given.outputDimension == dataset.outputDimension else {
                throw InputError("the given model (\(given.summary)) takes \(given.inputDimension) inputs and \(given.outputDimension) outputs, but the data have d = \(dataset.inputDimension) and k = \(dataset.outputDimension); build it for the data")
            }
            return given
        }
        return try builtModel(inputs: dataset.inputDimension, outputs: dataset.outputDimension)
    }

    /// The `[model]` table's model for d inputs and k outputs, the inputs shaped as the data say
    /// (`DataSpecification.inputShape`), refused as bad input naming the setting at fault: too many
    /// parameters, convolution layers that do not chain, a data.shape that does not hold d values.
    package func builtModel(inputs d: Int, outputs k: Int) throws -> any Model {
        if let path = model.onnx { return try importedModel(path, inputs: d, outputs: k) }
        let built: any Model
        do {
            if model.kind == .mlp { try model.requireSupportedSize(inputs: d, outputs: k) }
            built = try model.model(inputs: d, shape: model.kind == .convnet ? data.inputShape() : nil, outputs: k)
        } catch let error as ModelError {
            throw InputError(setting: error.setting, error.detail)
        }
        guard built.parameterCount <= maximumParameterCount else {
            throw InputError(setting: "model.convolution", "\(built.summary) has \(built.parameterCount) parameters, more than 2³¹ − 1 (BLAS's 32-bit sizes); use fewer channels or units")
        }
        return built
    }

    /// The network of the ONNX file `model.onnx`, its initialisers as θ₀, checked against the data:
    /// d inputs (in data.shape's C × H × W when that is given) and k outputs.
    func importedModel(_ path: String, inputs d: Int, outputs k: Int) throws -> any Model {
        var imported: ConvolutionalNetwork
        do {
            let file = try ONNXModel(contentsOf: path, loss: model.loss)
            imported = file.network
            imported.storedParameters = file.parameters
        } catch {
            throw InputError(setting: "model.onnx", error.description)
        }
        let shape = [imported.input.channels, imported.input.height, imported.input.width]
        guard imported.inputDimension == d else {
            let takes = imported.input.height == 1 && imported.input.width == 1 ? "d = \(imported.inputDimension)" : "\(imported.input) = \(imported.inputDimension)"
            throw InputError(setting: "model.onnx", "'\(path)' takes \(takes) inputs per sample, but the data have d = \(d); give data that fit the graph's input")
        }
        // A graph that takes flat rows ([N, d]: its first layer dense) takes any shape holding d
        // values — a dense layer flattens NCHW anyway; a convolution's input must match exactly.
        let flat = imported.input.height == 1 && imported.input.width == 1
        if let given = try data.inputShape(), given != shape, !(flat && given.reduce(1, *) == d) {
            throw InputError(setting: "data.shape", "\(given.map(String.init).joined(separator: "×")) disagrees with the ONNX graph's input \(imported.input) ('\(path)'); remove data.shape or make it match")
        }
        guard imported.outputDimension == k else {
            throw InputError(setting: "model.onnx", "'\(path)' makes \(imported.outputDimension) outputs per sample, but the data have k = \(k) \(model.loss == .crossEntropy ? "classes" : "targets"); give a graph whose last layer has k outputs")
        }
        guard imported.parameterCount <= maximumParameterCount else {
            throw InputError(setting: "model.onnx", "'\(path)' has \(imported.parameterCount) parameters, more than 2³¹ − 1 (BLAS's 32-bit sizes)")
        }
        return imported
    }

    /// θ₀ of `model` and its name in run headers: the parameters it came with (an ONNX file's
    /// initialisers), else the draw of `model.init` for the run's seed.
    package func initialParameters(for model: any Model) -> (θ: [Double], name: String) {
        if let stored = model.storedParameters, let path = self.model.onnx {
            return (stored, "the initialisers of model.onnx '\(path)'")
        }
        return (self.model.initialization.parameters(for: model, seed: seed), "initialization (seed \(seed))")
    }

    /// config.toml of a run on `model`: the resolved configuration, with a first line naming a
    /// model that was given rather than built from `[model]`.
    package func toml(runningOn model: (any Model)?) -> String {
        guard let model else { return toml }
        return "# model given by the library caller: \(model.summary) (the [model] table below was not used)\n" + toml
    }
}

extension ModelSpecification {
    /// M of `model` (built from this specification), with the M of the same layers under the
    /// other `model.bias`: they differ by the bias blocks (Σ of the weight blocks' output sizes),
    /// never 0, so a file of the other size has a likely cause.
    package func expectedParameters(of model: any Model) -> ParameterCount {
        let blocks = model.parameterBlocks
        let other = bias ? model.parameterCount - blocks.filter { $0.role == .bias }.reduce(0) { $0 + $1.count }
                         : model.parameterCount + blocks.filter { $0.role == .weight }.reduce(0) { $0 + $1.shape[0] }
        return ParameterCount(m: model.parameterCount, other: ParameterCount.Other(m: other, setting: "model.bias = \(!bias)", current: "model.bias = \(bias)"))
    }

    /// Refuses, as bad input, a specification whose model would have more than
    /// `maximumParameterCount` parameters (or so many that M itself overflows).
    package func requireSupportedSize(inputs d: Int, outputs k: Int) throws {
        guard let m = parameterCount(inputs: d, outputs: k), m <= maximumParameterCount else {
            throw InputError(setting: "model.layers", "\(layers) with d = \(d) inputs and k = \(k) outputs give more than 2³¹ − 1 parameters (BLAS's 32-bit sizes); use narrower or fewer layers")
        }
    }
}
