import Cluster

/// The world split into groups of ranks that work side by side — density's probes, interpolate's
/// points — each group data-parallel inside (its own shard of the data). Rank r is in group
/// r / size, so groups are runs of consecutive ranks (neighbours on a node share its memory bus;
/// `GroupWorkQueue` finds a group's results at world rank g · size). Work is dealt to the groups
/// by `GroupWorkQueue` (rounds, results on rank 0) or `share` (results on every rank).
package struct RankGroups {
    package let world: Communicator
    /// The ranks this one works with: the world itself when there is one group.
    package let group: Communicator
    package let index: Int
    package let count: Int
    /// The group is a split of the world, to be freed at the end.
    package var ownsGroup: Bool { count > 1 }

    /// Groups of `size` ranks (0 = one group of all); `size` must divide the ranks. `setting` is
    /// the key the size came from (`path.group-size`), named in the refusal.
    package static func split(_ world: Communicator, size requested: Int, setting: String) throws -> RankGroups {
        try check(size: requested, ranks: world.size, setting: setting)
        let size = requested > 0 ? requested : world.size
        let index = world.rank / size
        let group = size == world.size ? world : try world.split(color: index)
        return RankGroups(world: world, group: group, index: index, count: world.size / size)
    }

    /// Refuses a group size that does not divide `ranks` (0: one group), without splitting: a job
    /// that splits only after other work (a study, after training) checks first.
    package static func check(size requested: Int, ranks: Int, setting: String) throws {
        let size = requested > 0 ? requested : ranks
        guard size >= 1, size <= ranks, ranks % size == 0 else {
            throw InputError(setting: setting, "= \(requested) must divide the number of ranks (\(ranks)); e.g. 1, or \(ranks) for one group")
        }
    }

    package func free() {
        if ownsGroup { try? group.free() }
    }
}
