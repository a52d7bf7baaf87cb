import Cluster
import Datasets
import Foundation
import Support
import Networks
import Objectives
import NPY
import Training
import Configuration
import Jobs

/// `landscape evaluate`: the mean loss, accuracy and gradient norm of a parameter vector on the
/// configured data; printed by rank 0 and written to `summary.json` in the output directory.
public struct EvaluateJob {
    public var configuration: RunConfiguration
    /// Run on this model instead of one built from `configuration.model` (library callers; `JobModel.swift`).
    public var model: (any Model)? = nil
    public var parameters: String
    public var output: RunDirectory

    public init(configuration: RunConfiguration, parameters: String, output: RunDirectory) {
        self.configuration = configuration
        self.parameters = parameters
        self.output = output
    }

    public func run(on world: Communicator) throws {
        try JobRun.perform("evaluate", configuration: configuration, model: model, output: output, quiet: true, on: world) { run in
            try execute(&run)
        }
    }

    private func execute(_ run: inout JobRun) throws {
        let world = run.world
        let inputs = try run.inputs(configuration, given: model)
        let (dataset, model) = (inputs.dataset, inputs.model)
        let (theta, _) = try run.point(.checkpoint(parameters), configuration, inputs, flag: "--params")
        let objective = DataParallelObjective(model: model, dataset: dataset, communicator: world)
        try run.own {
            if FileManager.default.fileExists(atPath: output.file("summary.json")) {
                throw InputError("\(output.named) already holds an evaluation (summary.json); choose another --out")
            }
        }
        let evaluation = try run.timings.measure("evaluate", on: world) { try objective.evaluate(theta) }
        let header = try run.completedHeader()
        guard world.isRoot else { return }
        let summary = EvaluateSummary(parametersFile: parameters, seed: configuration.seed, data: dataset.description,
                                      widths: model.layerWidths, parameters: model.parameterCount,
                                      samples: dataset.globalCount, ranks: world.size, loss: evaluation.loss,
                                      accuracy: evaluation.accuracy, gradientNorm: evaluation.gradientNorm ?? .nan,
                                      seconds: header.seconds, peakResidentBytesPerRank: header.peakResidentBytesPerRank)
        try run.finish(summary, header: header)
        let accuracy = evaluation.accuracy.map { String(format: "accuracy %.6f  ", $0) } ?? ""
        print(String(format: "loss %.12g  %@gradient norm %.6g  (N = %d, M = %d)", evaluation.loss, accuracy,
                     evaluation.gradientNorm ?? .nan, dataset.globalCount, model.parameterCount))
    }
}

package struct EvaluateSummary: Codable {
    package var command = "evaluate"
    package var parametersFile: String
    package var seed: UInt64
    package var data: String
    package var widths: [Int]
    package var parameters: Int
    package var samples: Int
    package var ranks: Int
    package var loss: Double
    package var accuracy: Double?
    package var gradientNorm: Double
    package var seconds: Double
    package var peakResidentBytesPerRank: [Int]

    package init(parametersFile: String, seed: UInt64, data: String, widths: [Int], parameters: Int, samples: Int, ranks: Int,
         loss: Double, accuracy: Double?, gradientNorm: Double, seconds: Double, peakResidentBytesPerRank: [Int]) {
        self.parametersFile = parametersFile; self.seed = seed; self.data = data; self.widths = widths
        self.parameters = parameters; self.samples = samples; self.ranks = ranks; self.loss = loss
        self.accuracy = accuracy; self.gradientNorm = gradientNorm; self.seconds = seconds
        self.peakResidentBytesPerRank = peakResidentBytesPerRank
    }
}
