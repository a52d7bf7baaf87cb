import Cluster
import SeededRandom

/// The distribution of a stochastic estimator's probe vectors z (E[z zᵀ] = I for both).
public enum ProbeDistribution: String, Codable, Sendable, CaseIterable {
    /// Entries ±1 with equal probability: ‖z‖² = n exactly, the least-variance Hutchinson probe.
    case rademacher
    /// Entries standard normal.
    case gaussian
}

/// Probe vectors as a function of (seed, purpose, index) alone: probe i is the same vector on
/// every rank, for any number of ranks, any group of ranks and any block size — which is what
/// makes a stochastic estimate reproducible and the same on 1 or 64 ranks.
public struct ProbeStream: Sendable {
    /// Separate purposes draw from separate streams (a Hutch++ sketch and its residual probes
    /// must be independent).
    public enum Purpose: UInt64, Sendable { case start = 1, density = 2, trace = 3, sketch = 4, residual = 5, replacement = 6 }

    public let seed: UInt64
    public let purpose: Purpose
    public let distribution: ProbeDistribution

    public init(seed: UInt64, purpose: Purpose, distribution: ProbeDistribution) {
        self.seed = seed
        self.purpose = purpose
        self.distribution = distribution
    }

    public func vector(_ index: Int, length n: Int) -> [Double] {
        var random = SplitMix64(seed: seed).fork(purpose.rawValue).fork(UInt64(index))
        switch distribution {
        case .rademacher: return (0..<n).map { _ in random.next() >> 63 == 0 ? 1.0 : -1.0 }
        case .gaussian: return (0..<n).map { _ in random.nextNormal() }
        }
    }

    /// Probes `indices`, side by side as one block (n × count).
    func block(_ indices: Range<Int>, length n: Int) -> [Double] {
        var block: [Double] = []
        block.reserveCapacity(n * indices.count)
        for i in indices { block.append(contentsOf: vector(i, length: n)) }
        return block
    }
}

/// Throws unless every entry of an operator's result is finite: an overflow at an absurd point
/// would otherwise turn every later number into NaN without a word. The result is replicated,
/// so every rank reaches the same verdict — an `InputError` is safe to throw here.
func requireFinite(_ values: [Double], _ what: @autoclosure () -> String) throws {
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
        throw InputError("\(what()) returned \(values[bad]) at entry \(bad): the curvature is not finite at this point; check the parameters (an overflow?) and the data")
    }
}
