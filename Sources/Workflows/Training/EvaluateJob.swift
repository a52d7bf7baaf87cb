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
/// configured data; printed by rank 0 and written to `summary.json` in the output directory. On
/// request it also writes ∇L (`gradient.npy`) and curvature products C·vⱼ (`products.npy`) — the
/// numbers another tool checks ours against (docs/onnx.md).
public struct EvaluateJob {
    public var configuration: RunConfiguration
    /// Run on this model instead of one built from `configuration.model` (library callers; `JobModel.swift`).
    public var model: (any Model)? = nil
    /// The parameter file, or nil for θ₀ (an imported model's own parameters, else the seed's draw).
    public var parameters: String?
    public var output: RunDirectory
    /// Write ∇L (mean over the samples) as gradient.npy.
    public var writesGradient = false
    /// Directions V (an NPY of shape (M,) or (B, M), one direction per row) whose products with
    /// `curvature` are written as products.npy in the same shape.
    public var directions: String?
    public var curvature = CurvatureKind.hessian

    public init(configuration: RunConfiguration, parameters: String?, output: RunDirectory) {
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
        let (theta, point) = try run.point(parameters.map { .checkpoint($0) } ?? .initialization, configuration, inputs, flag: "--params")
        let products = try directions.map { try readDirections($0, dimension: model.parameterCount, on: world) }
        let objective = DataParallelObjective(model: model, dataset: dataset, communicator: world)
        try run.own {
            if FileManager.default.fileExists(atPath: output.file("summary.json")) {
                throw InputError("\(output.named) already holds an evaluation (summary.json); choose another --out")
            }
        }
        let evaluation = try run.timings.measure("evaluate", on: world) { try objective.evaluate(theta) }
        let applied = try products.map { v in
            try run.timings.measure("curvature products", on: world) {
                try objective.curvature(curvature, at: theta).apply(v.values, count: v.values.count / model.parameterCount)
            }
        }
        // Rank 0 writes; a failure there is every rank's verdict (one line, not an abort).
        try world.agree {
            if writesGradient { try NPYArray(shape: [model.parameterCount], values: evaluation.gradient!).write(to: output.file("gradient.npy")) }
            if let products, let applied { try NPYArray(shape: products.shape, values: applied).write(to: output.file("products.npy")) }
        }
        let header = try run.completedHeader()
        guard world.isRoot else { return }
        let summary = EvaluateSummary(parametersFile: parameters ?? point, seed: configuration.seed, data: dataset.description,
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

extension EvaluateJob {
    /// The directions of `--products`: a float NPY of shape (M,) or (B, M), finite, the same verdict on every rank.
    func readDirections(_ path: String, dimension m: Int, on world: Communicator) throws -> NPYArray {
        try world.agree { () throws in
            let array: NPYArray
            do { array = try NPYArray(contentsOf: path) } catch {
                throw InputError("--products '\(path)': \(error); give an NPY of shape (M,) or (B, M) with M = \(m)")
            }
            guard (array.shape.count == 1 && array.shape[0] == m) || (array.shape.count == 2 && array.shape[1] == m && array.shape[0] >= 1) else {
                throw InputError("--products '\(path)' has shape \(array.shape); give (M,) or (B, M) with M = \(m), one direction per row")
            }
            if let i = array.values.firstIndex(where: { !$0.isFinite }) { throw InputError("--products '\(path)': entry \(i) is \(array.values[i]); directions must be finite") }
        }
        // Checked on rank 0; every rank reads the same file.
        return try NPYArray(contentsOf: path)
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
