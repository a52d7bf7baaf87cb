import Cluster
import Support

/// Which rows of an n-vector each of P ranks holds: contiguous, balanced ranges (the first n mod P
/// ranks one row more), rank r's rows `offsets[r] ..< offsets[r + 1]` — the block distribution of
/// a vector (ScaLAPACK's NUMROC with one block per process). One part is the replicated layout:
/// every row on every rank.
public struct RowPartition: Sendable, Equatable {
    /// n.
    public let length: Int
    /// P + 1 offsets, from 0 to n.
    public let offsets: [Int]
    /// This rank's part.
    public let part: Int

    public init(length n: Int, parts: Int, part: Int) {
        precondition(n >= 0 && parts >= 1 && (0..<parts).contains(part))
        let (base, extra) = n.quotientAndRemainder(dividingBy: parts)
        offsets = (0...parts).map { r in r * base + min(r, extra) }
        length = n
        self.part = part
    }

    /// n rows over the ranks of `world`, part = rank — or the replicated layout when `sharded` is
    /// false, on one rank, or when there are fewer rows than ranks (a toy n would leave ranks
    /// without rows).
    public init(length n: Int, over world: Communicator, sharded: Bool = true) {
        let split = sharded && world.size > 1 && n >= world.size
        self.init(length: n, parts: split ? world.size : 1, part: split ? world.rank : 0)
    }

    /// How this rank's partial sums over its rows become whole: an allreduce over `world` (the
    /// communicator the partition was made over) when sharded; nothing to do when replicated.
    public func sums(on world: Communicator) -> ShardSums {
        guard parts > 1 else { return .whole }
        precondition(parts == world.size, "a partition sums over the ranks it was made over")
        return ShardSums { try world.allreduce(&$0, .sum) }
    }

    public var parts: Int { offsets.count - 1 }
    /// How many rows each part holds, in part order (what a gather or scatter of one column moves).
    public var counts: [Int] { (0..<parts).map(count(of:)) }
    /// The rows this rank holds.
    public var rows: Range<Int> { offsets[part] ..< offsets[part + 1] }
    /// How many rows this rank holds.
    public var count: Int { rows.count }
    public func count(of part: Int) -> Int { offsets[part + 1] - offsets[part] }

    /// This rank's rows of every column of a replicated n × k block (column-major).
    public func slice(_ block: [Double], columns k: Int) -> [Double] {
        precondition(block.count == length * k)
        if parts == 1 { return block }
        var local = [Double](repeating: 0, count: count * k)
        let rows = self.rows
        for j in 0..<k { local.replaceSubrange(j * count ..< (j + 1) * count, with: block[j * length + rows.lowerBound ..< j * length + rows.upperBound]) }
        return local
    }

    /// The whole n × k block (column-major) from every part's rows, on every rank of `world` (the
    /// communicator the partition was made over; collective; this rank's block when replicated).
    public func gather(_ local: [Double], columns k: Int, on world: Communicator) throws -> [Double] {
        guard parts > 1 else { return local }
        let gathered = try world.allgatherv(local, counts: counts.map { $0 * k })
        // Gathered part-major; stored column-major.
        var whole = [Double](repeating: 0, count: length * k)
        forEachPartMajorSegment(columns: k) { column, packed in whole.replaceSubrange(column, with: gathered[packed]) }
        return whole
    }

    /// The two layouts of an n × k block the collectives convert between: column-major (`whole`)
    /// and part-major (`packed`: part r's rows of every column, then part r + 1's — what a rank
    /// contributes to an allgather and receives from a reduce-scatter). Calls `body` with each
    /// segment's place in both.
    func forEachPartMajorSegment(columns k: Int, _ body: (_ whole: Range<Int>, _ packed: Range<Int>) -> Void) {
        var at = 0
        for r in 0..<parts {
            let rows = offsets[r] ..< offsets[r + 1]
            for j in 0..<k {
                body(j * length + rows.lowerBound ..< j * length + rows.upperBound, at ..< at + rows.count)
                at += rows.count
            }
        }
    }
}

/// An operator that sums per-rank contributions: W = scale · Σ_ranks local(V). Sharding its
/// vectors then needs no allreduce of the whole M × B block — a reduce-scatter hands each rank
/// the sum of its own rows only (half an allreduce's traffic).
public protocol LocallySummedOperator: SymmetricOperator {
    /// This rank's unreduced contribution to A V (n × B, column-major).
    func localSums(_ directions: [Double], count: Int) -> [Double]
    /// The factor applied after the sum (1/N for a mean over N samples).
    var sumScale: Double { get }
    /// Sums every rank's `localSums`, regrouped part-major in `send`, onto the parts' owners
    /// (`counts[r]` values to rank r): the operator's communication when its vectors are sharded.
    /// A requirement, so that a wrapper counting an operator's cost (`bench throughput`) sees it.
    func sumOntoOwners(_ send: UnsafeBufferPointer<Double>, into receive: UnsafeMutableBufferPointer<Double>, counts: [Int]) throws
}

extension LocallySummedOperator {
    public func sumOntoOwners(_ send: UnsafeBufferPointer<Double>, into receive: UnsafeMutableBufferPointer<Double>, counts: [Int]) throws {
        try communicator.reduceScatter(send, into: receive, counts: counts)
    }
}

extension CurvatureOperator: LocallySummedOperator {
    public var sumScale: Double { 1 / Double(globalSampleCount) }
}

/// A symmetric operator applied to vectors distributed by rows over its ranks (`partition`):
/// each rank passes its rows of the B directions (count × B, column-major) and receives its rows of
/// A V. An allgather assembles the directions every rank's product needs (a data-parallel HVP
/// needs all of θ's directions), then the products are summed onto the rows' owners — by a
/// reduce-scatter for a `LocallySummedOperator` (the two together move what one allreduce did), or
/// by taking this rank's rows of a replicated result for any other operator.
///
/// This is what lets Krylov methods keep their bases sharded: memory O(n·k/P) per rank, and the
/// re-orthogonalisation's GEMMs on n/P rows with one allreduce of k × B coefficients per step
/// (`Basis`). With one rank, or `sharded: false`, the partition is the replicated one and
/// `apply` is the base's own.
public struct RowShardedOperator {
    public let base: any SymmetricOperator
    public let partition: RowPartition

    public init(_ base: any SymmetricOperator, sharded: Bool = true) {
        let world = base.communicator
        self.init(base, partition: RowPartition(length: base.dimension, over: world, sharded: sharded))
    }

    private init(_ base: any SymmetricOperator, partition: RowPartition) {
        self.base = base
        self.partition = partition
    }

    public var communicator: Communicator { base.communicator }
    public var dimension: Int { base.dimension }
    /// Whether vectors are split over ranks (false: every rank holds all rows).
    public var isSharded: Bool { partition.parts > 1 }

    /// This rank's rows of A V for this rank's rows of V (collective).
    public func apply(_ local: [Double], count k: Int) throws -> [Double] {
        precondition(local.count == partition.count * k)
        guard isSharded else { return try base.apply(local, count: k) }
        // (A + σI) V: the base on the same rows, plus σ times this rank's rows — so an energy's
        // L2 term keeps the base's reduce-scatter instead of a gather and a full allreduce.
        if let shifted = base as? ShiftedOperator {
            var w = try RowShardedOperator(shifted.base, partition: partition).apply(local, count: k)
            for i in w.indices { w[i] += shifted.shift * local[i] }
            return w
        }
        let full = try gather(local, columns: k)
        guard let summed = base as? any LocallySummedOperator else {
            return partition.slice(try base.apply(full, count: k), columns: k)
        }
        // Reduce-scatter delivers contiguous segments, so the sums are regrouped part-major.
        let sums = summed.localSums(full, count: k)
        var grouped = [Double](repeating: 0, count: sums.count)
        partition.forEachPartMajorSegment(columns: k) { whole, packed in grouped.replaceSubrange(packed, with: sums[whole]) }
        var mine = [Double](repeating: 0, count: partition.count * k)
        try grouped.withUnsafeBufferPointer { send in
            try mine.withUnsafeMutableBufferPointer { receive in
                try summed.sumOntoOwners(send, into: receive, counts: partition.counts.map { $0 * k })
            }
        }
        let scale = summed.sumScale
        for i in mine.indices { mine[i] *= scale }
        return mine
    }

    /// The whole n × k block from every rank's rows (collective; identity when not sharded).
    public func gather(_ local: [Double], columns k: Int) throws -> [Double] {
        try partition.gather(local, columns: k, on: communicator)
    }
}
