import Cluster
import Datasets
import Foundation
import Support
import NPY
import Configuration
import Jobs

/// `landscape data export`: the assembled dataset (after subsetting and standardisation, exactly
/// as training sees it) as `X.npy` (N × d float64) and `y.npy` (N int64 class labels, or N × k
/// float64 targets), gathered to rank 0 in sample order, plus `config.toml`.
public struct DataExportJob {
    public var configuration: RunConfiguration
    public var output: RunDirectory

    public init(configuration: RunConfiguration, output: RunDirectory) {
        self.configuration = configuration
        self.output = output
    }

    public func run(on world: Communicator) throws {
        // Only the [data] table matters here: no model is built (a loss that does not suit the
        // data is no reason to refuse exporting it), and config.toml is the configuration as given.
        try configuration.data.validate()
        try JobRun.perform("data", configuration: nil, output: output, quiet: true, on: world) { run in
            try execute(run)
        }
    }

    private func execute(_ run: JobRun) throws {
        let world = run.world
        let split = try configuration.data.loadSplit(seed: configuration.seed, on: world)
        try run.own {
            if FileManager.default.fileExists(atPath: output.file("X.npy")) {
                throw InputError("\(output.named) already holds exported data (X.npy); choose another --out")
            }
        }
        let training = try gathered(split.training, on: world)
        let heldOut = try split.heldOut.map { try gathered($0, on: world) }
        guard world.isRoot else { return }
        try output.create()
        try training.write(to: output, suffix: "")
        try heldOut?.write(to: output, suffix: "_held_out")
        try writeAtomically(Data(configuration.toml.utf8), to: output.file("config.toml"))
        let dataset = split.training
        print("wrote \(output.file("X.npy")) (\(dataset.globalCount) × \(dataset.inputDimension)) and \(output.file("y.npy")) (\(dataset.isClassification ? "\(dataset.globalCount) labels, \(dataset.outputDimension) classes" : "\(dataset.globalCount) × \(dataset.outputDimension) targets"))"
              + (heldOut.map { " + X_held_out.npy, y_held_out.npy (\($0.count) samples)" } ?? "") + ": \(dataset.description)")
    }

    /// One dataset's arrays gathered to rank 0 in sample order (empty on other ranks).
    package struct Arrays {
        package var count: Int
        package var dimension: Int
        package var x: [Double]
        /// Labels (classification) or N × k targets.
        package var y: [Double]
        package var targets: Int
        package var labels: Bool

        package func write(to output: RunDirectory, suffix: String) throws {
            try NPYArray(shape: [count, dimension], values: x).write(to: output.file("X\(suffix).npy"))
            if labels {
                var data = Data(NPYHeader(dataType: .int64, fortranOrder: false, shape: [count]).encoded())
                for value in y { withUnsafeBytes(of: Int64(value).littleEndian) { data.append(contentsOf: $0) } }
                try writeAtomically(data, to: output.file("y\(suffix).npy"))
            } else {
                try NPYArray(shape: [count, targets], values: y).write(to: output.file("y\(suffix).npy"))
            }
        }
    }

    package func gathered(_ dataset: Dataset, on world: Communicator) throws -> Arrays {
        let n = dataset.globalCount, d = dataset.inputDimension, k = dataset.outputDimension
        let counts = (0..<world.size).map { r -> Int in let (s, e) = Shard.bounds(of: r, count: n, ranks: world.size); return e - s }
        let x = try world.gatherv(dataset.samples.inputs, counts: counts.map { $0 * d })
        let labels = dataset.localLabels
        let y: [Double] = if let labels { try world.gatherv(labels.map(Double.init), counts: counts) }
            else { try world.gatherv(dataset.samples.targets, counts: counts.map { $0 * k }) }
        return Arrays(count: n, dimension: d, x: x, y: y, targets: k, labels: labels != nil)
    }
}
