import Cluster

/// This rank's contiguous slice of the N samples: rank r holds [start, end).
///
/// Balanced block distribution: the first N mod P ranks hold ⌈N/P⌉ samples, the rest ⌊N/P⌋, so
/// sample i lives on one rank determined by (i, N, P) alone and no rank ever holds the whole set.
public struct Shard: Equatable, Sendable, Codable {
    public let globalCount: Int
    public let rank: Int
    public let ranks: Int
    public let start: Int
    public let end: Int

    /// More ranks than samples is refused (a rank with no training data cannot take part
    /// meaningfully) unless `allowEmpty` (held-out data, which is only evaluated).
    public init(globalCount: Int, rank: Int, ranks: Int, allowEmpty: Bool = false) throws {
        guard ranks <= globalCount || allowEmpty else {
            throw InputError("\(ranks) ranks for \(globalCount) samples: every rank needs at least one sample; use at most \(globalCount) ranks")
        }
        self.globalCount = globalCount
        self.rank = rank
        self.ranks = ranks
        (start, end) = Self.bounds(of: rank, count: globalCount, ranks: ranks)
    }

    public init(globalCount: Int, communicator: Communicator, allowEmpty: Bool = false) throws {
        try self.init(globalCount: globalCount, rank: communicator.rank, ranks: communicator.size, allowEmpty: allowEmpty)
    }

    public var count: Int { end - start }
    public var range: Range<Int> { start..<end }

    /// [start, end) of `rank`'s slice.
    public static func bounds(of rank: Int, count: Int, ranks: Int) -> (Int, Int) {
        let base = count / ranks, extra = count % ranks
        let start = rank * base + min(rank, extra)
        return (start, start + base + (rank < extra ? 1 : 0))
    }
}
