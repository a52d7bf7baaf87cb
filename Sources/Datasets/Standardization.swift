import Cluster

/// Per-feature statistics of the whole dataset, computed across ranks.
public struct FeatureStatistics: Sendable, Codable, Equatable {
    public var mean: [Double]
    /// Population standard deviation; features with zero spread keep scale 1.
    public var standardDeviation: [Double]

    /// Two passes, each one allreduce of d sums: mean = Σx/N, then var = Σ(x − mean)²/N (the
    /// two-pass form avoids the cancellation of Σx² − N·mean²). Every rank gets the same numbers.
    public static func compute(_ inputs: [Double], dimension d: Int, globalCount: Int,
                               on communicator: Communicator) throws -> FeatureStatistics {
        let n = inputs.count / d
        var sums = [Double](repeating: 0, count: d)
        for i in 0..<n { for q in 0..<d { sums[q] += inputs[i * d + q] } }
        try communicator.allreduce(&sums, .sum)
        let mean = sums.map { $0 / Double(globalCount) }
        var squares = [Double](repeating: 0, count: d)
        for i in 0..<n { for q in 0..<d { let c = inputs[i * d + q] - mean[q]; squares[q] += c * c } }
        try communicator.allreduce(&squares, .sum)
        let sd = squares.map { s -> Double in
            let value = (s / Double(globalCount)).squareRoot()
            return value > 0 ? value : 1
        }
        return FeatureStatistics(mean: mean, standardDeviation: sd)
    }

    /// x ← (x − mean) / sd, feature by feature.
    public func apply(to inputs: inout [Double]) {
        let d = mean.count
        for t in inputs.indices { let q = t % d; inputs[t] = (inputs[t] - mean[q]) / standardDeviation[q] }
    }
}
