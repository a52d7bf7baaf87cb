import Cluster

/// The world split into groups of ranks that work side by side — density's probes, interpolate's
/// points — each group data-parallel inside (its own shard of the data). Rank r is in group
/// r / size, so groups are runs of consecutive ranks (neighbours on a node share its memory bus).
struct RankGroups {
    let world: Communicator
    /// The ranks this one works with: the world itself when there is one group.
    let group: Communicator
    let index: Int
    let count: Int
    /// The group is a split of the world, to be freed at the end.
    var ownsGroup: Bool { count > 1 }

    /// Groups of `size` ranks (0 = one group of all); `size` must divide the ranks. `refuse` words
    /// the refusal for the setting or flag the size came from.
    static func split(_ world: Communicator, size requested: Int, refuse: (String) -> InputError) throws -> RankGroups {
        try check(size: requested, ranks: world.size, refuse: refuse)
        let size = requested > 0 ? requested : world.size
        let index = world.rank / size
        let group = size == world.size ? world : try world.split(color: index)
        return RankGroups(world: world, group: group, index: index, count: world.size / size)
    }

    /// Refuses a group size that does not divide `ranks` (0: one group), without splitting: a job
    /// that splits only after other work (a study, after training) checks first.
    static func check(size requested: Int, ranks: Int, refuse: (String) -> InputError) throws {
        let size = requested > 0 ? requested : ranks
        guard size >= 1, size <= ranks, ranks % size == 0 else {
            throw refuse("must divide the number of ranks (\(ranks)); e.g. 1, or \(ranks) for one group")
        }
    }

    func free() {
        if ownsGroup { try? group.free() }
    }
}

extension RankGroups {
    /// Items 0 ..< `count` computed side by side: item i by group i mod `self.count`, each a vector
    /// of `width` values, which every rank of the world then holds. The group's rank 0 places its
    /// items' values in one zeroed world-wide buffer and a sum over the world fills it — exact, as
    /// every slot has one non-zero contributor (x + 0 = x) — so all ranks continue with the very same
    /// numbers. With one group every rank computed every item already, and nothing is exchanged.
    /// Collective over the world (`compute` over the group).
    func share(_ count: Int, width: Int, _ compute: (Int) throws -> [Double]) throws -> [[Double]] {
        var flat = [Double](repeating: 0, count: count * width)
        for item in stride(from: index, to: count, by: self.count) {
            let values = try compute(item)
            precondition(values.count == width, "every shared item has the same width")
            if group.rank == 0 || self.count == 1 { flat.replaceSubrange((item * width)..<((item + 1) * width), with: values) }
        }
        if self.count > 1 { try world.allreduce(&flat, .sum) }
        return (0..<count).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
    }
}
