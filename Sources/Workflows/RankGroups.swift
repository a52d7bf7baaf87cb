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
        let size = requested > 0 ? requested : world.size
        guard size <= world.size, world.size % size == 0 else {
            throw refuse("must divide the number of ranks (\(world.size)); e.g. 1, or \(world.size) for one group")
        }
        let index = world.rank / size
        let group = size == world.size ? world : try world.split(color: index)
        return RankGroups(world: world, group: group, index: index, count: world.size / size)
    }

    func free() {
        if ownsGroup { try? group.free() }
    }
}
