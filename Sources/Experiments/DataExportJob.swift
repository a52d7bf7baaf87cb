import Cluster
import Datasets
import Foundation
import NPY

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

    public func run(on runtime: MPIRuntime) throws {
        let world = runtime.world
        try configuration.data.validate()
        _ = try world.agree { () throws -> Bool in try output.validate(); return true }
        let dataset = try configuration.data.load(seed: configuration.seed, on: world)
        let n = dataset.globalCount, d = dataset.inputDimension, k = dataset.outputDimension
        let counts = (0..<world.size).map { r -> Int in let (s, e) = Shard.bounds(of: r, count: n, ranks: world.size); return e - s }
        let x = try world.gatherv(dataset.samples.inputs, counts: counts.map { $0 * d })
        let labels = dataset.localLabels
        let y: [Double] = if let labels { try world.gatherv(labels.map(Double.init), counts: counts) }
            else { try world.gatherv(dataset.samples.targets, counts: counts.map { $0 * k }) }
        guard world.isRoot else { return }
        try output.create()
        try NPYArray(shape: [n, d], values: x).write(to: output.file("X.npy"))
        if labels != nil {
            var data = Data(NPYHeader(dataType: .int64, fortranOrder: false, shape: [n]).encoded())
            for value in y { withUnsafeBytes(of: Int64(value).littleEndian) { data.append(contentsOf: $0) } }
            try writeAtomically(data, to: output.file("y.npy"))
        } else {
            try NPYArray(shape: [n, k], values: y).write(to: output.file("y.npy"))
        }
        try writeAtomically(Data(configuration.toml.utf8), to: output.file("config.toml"))
        print("wrote \(output.file("X.npy")) (\(n) × \(d)) and \(output.file("y.npy")) (\(labels != nil ? "\(n) labels, \(k) classes" : "\(n) × \(k) targets")): \(dataset.description)")
    }
}
