/// How sums over a vector's entries become whole when the vector is sharded by rows: each shard
/// adds up its own entries, and `combine` adds the shards' partial sums in place — an allreduce
/// over the ranks that hold them (`RowPartition.sums(on:)`). `whole` is the unsharded vector,
/// whose partial sums already are the sums.
///
/// Geometry that needs only dot products and norms of sharded vectors (an elastic band's
/// tangents and forces, FIRE's power) takes one of these, so the same arithmetic runs on a whole
/// vector in a unit test and on a band spread over a cluster, with no MPI in the module.
public struct ShardSums: Sendable {
    private let combine: @Sendable (inout [Double]) throws -> Void
    /// The vector is whole: nothing to combine.
    public let isWhole: Bool

    public init(_ combine: @escaping @Sendable (inout [Double]) throws -> Void) {
        self.combine = combine
        isWhole = false
    }

    private init() {
        combine = { _ in }
        isWhole = true
    }

    public static let whole = ShardSums()

    /// The whole sums from this shard's partial sums (collective when sharded: every shard calls
    /// it with the same number of sums, in the same order).
    public func callAsFunction(_ partial: [Double]) throws -> [Double] {
        if isWhole { return partial }
        var sums = partial
        try combine(&sums)
        return sums
    }
}
