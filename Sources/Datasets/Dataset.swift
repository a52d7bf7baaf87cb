import Cluster
import Networks

/// A dataset as one rank holds it: its shard of the samples, plus the global facts every rank
/// agrees on (N, d, k, whether targets are class labels).
public struct Dataset: Sendable {
    /// One line for logs and summaries, e.g. "clusters: 1000 samples, 10 classes in R^100".
    public let description: String
    public let shard: Shard
    /// This rank's samples: inputs (n × d) and targets (n × k: one-hot rows for classes).
    public var samples: SampleBatch
    /// The number of classes for classification data; nil for regression targets.
    public let classes: Int?

    public init(description: String, shard: Shard, samples: SampleBatch, classes: Int?) {
        precondition(samples.count == shard.count)
        self.description = description
        self.shard = shard
        self.samples = samples
        self.classes = classes
    }

    public var globalCount: Int { shard.globalCount }
    public var inputDimension: Int { samples.inputDimension }
    public var outputDimension: Int { samples.targetDimension }
    public var isClassification: Bool { classes != nil }

    /// The class of each local sample (argmax of its one-hot row); nil for regression data.
    public var localLabels: [Int]? {
        guard isClassification else { return nil }
        let k = outputDimension
        return (0..<samples.count).map { i in
            var best = 0
            for c in 1..<k where samples.targets[i * k + c] > samples.targets[i * k + best] { best = c }
            return best
        }
    }
}

/// One-hot rows for labels in 0..<k.
func oneHot(_ labels: [Int], classes k: Int) -> [Double] {
    var y = [Double](repeating: 0, count: labels.count * k)
    for (i, label) in labels.enumerated() { y[i * k + label] = 1 }
    return y
}

/// Refuses shards that would not fit in memory long before allocating them.
func checkShardSize(samples: Int, ranks: Int, width: Int, what: String) throws {
    let perRank = (samples + ranks - 1) / ranks
    let (elements, overflow) = perRank.multipliedReportingOverflow(by: width)
    if overflow || elements > (1 << 34) {   // 128 GiB of float64 per rank
        throw InputError("\(what): \(samples) samples of width \(width) on \(ranks) ranks is absurdly large (\(perRank) × \(width) values per rank)")
    }
}
