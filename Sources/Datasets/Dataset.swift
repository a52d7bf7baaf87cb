import Cluster
import Samples

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
/// `setting` names the key the count came from, so the message shows the flag the user typed.
func checkShardSize(samples: Int, ranks: Int, width: Int, what: String, setting: String? = nil) throws {
    let perRank = (samples + ranks - 1) / ranks
    let (elements, overflow) = perRank.multipliedReportingOverflow(by: width)
    if overflow || elements > (1 << 34) {   // 128 GiB of float64 per rank
        let detail = "\(samples) samples of width \(width) on \(ranks) ranks is absurdly large (\(perRank) × \(width) values per rank); use fewer samples or more ranks"
        if let setting { throw InputError(setting: setting, "= \(detail)") }
        throw InputError("\(what): \(detail)")
    }
}

/// Training data and, when asked for, held-out data from the same source.
public struct DataSplit: Sendable {
    public var training: Dataset
    public var heldOut: Dataset?
}

/// Builds the training shard and the held-out shard from a reader of rows by position, where
/// positions 0..<N are the training samples and N..<N+T the held-out ones. Standardisation uses
/// the training samples' statistics for both (held-out data must not leak into training).
func assemble(training n: Int, heldOut t: Int, dimension d: Int, targets k: Int, classes: Int?, standardize: Bool,
              description: String, on communicator: Communicator,
              rows: (Range<Int>) throws -> (inputs: [Double], targets: [Double])) throws -> DataSplit {
    // Sizes before any allocation: the training shard and the held-out shard, on every path.
    try checkShardSize(samples: n, ranks: communicator.size, width: d + k, what: "data")
    try checkShardSize(samples: t, ranks: communicator.size, width: d + k, what: "data.held-out", setting: "data.held-out")
    let shard = try Shard(globalCount: n, communicator: communicator)
    var (x, y) = try rows(shard.range)
    try requireFinite(x, y, dimension: d, targets: k, firstSample: shard.start, description: description, on: communicator)
    var statistics: FeatureStatistics? = nil
    if standardize {
        statistics = try FeatureStatistics.compute(x, dimension: d, globalCount: n, on: communicator)
        statistics!.apply(to: &x)
    }
    let training = Dataset(description: description, shard: shard,
                           samples: SampleBatch(inputs: x, inputDimension: d, targets: y, targetDimension: k), classes: classes)
    guard t > 0 else { return DataSplit(training: training, heldOut: nil) }
    let heldShard = try Shard(globalCount: t, communicator: communicator, allowEmpty: true)
    var (hx, hy) = try rows((n + heldShard.start)..<(n + heldShard.end))
    try requireFinite(hx, hy, dimension: d, targets: k, firstSample: n + heldShard.start, description: description, on: communicator)
    statistics?.apply(to: &hx)
    let heldOut = Dataset(description: "held-out: \(t) further samples", shard: heldShard,
                          samples: SampleBatch(inputs: hx, inputDimension: d, targets: hy, targetDimension: k), classes: classes)
    return DataSplit(training: training, heldOut: heldOut)
}

/// Refuses NaN or ±∞ in the data (collective): each rank checks its own rows, one allreduce finds
/// the first bad sample of all ranks, and every rank throws the same error naming it — training
/// on them would only produce NaN parameters.
func requireFinite(_ x: [Double], _ y: [Double], dimension d: Int, targets k: Int, firstSample: Int,
                   description: String, on communicator: Communicator) throws {
    var first = Int.max
    if let i = x.firstIndex(where: { !$0.isFinite }) { first = firstSample * (d + k) + (i / d) * (d + k) + i % d }
    if let i = y.firstIndex(where: { !$0.isFinite }) { first = min(first, firstSample * (d + k) + (i / k) * (d + k) + d + i % k) }
    let bad = try communicator.allreduce(first, .min)
    guard bad != Int.max else { return }
    let sample = bad / (d + k), column = bad % (d + k)
    let place = column < d ? "input feature \(column)" : "target \(column - d)"
    throw InputError("\(description): sample \(sample) has a non-finite value (NaN or ±∞) in \(place); clean the data or drop that sample")
}
