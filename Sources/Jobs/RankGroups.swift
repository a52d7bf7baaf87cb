import Cluster
import Configuration

/// The world split into groups of ranks that work side by side — density's probes, interpolate's
/// points — each group data-parallel inside (its own shard of the data). Work is dealt to the
/// groups by `GroupWorkQueue` (rounds, results on rank 0) or `share` (results on every rank).
///
/// Placement (`GroupPlacement`): by default a group lies on one node — the ranks of each node, in
/// world-rank order, cut into runs of `size` — since a group that straddles nodes pays the network
/// in every collective of its work. On one node (or whenever the launcher put consecutive ranks
/// together, Open MPI's default `--map-by slot`) these are the runs of consecutive world ranks,
/// group r / size, which `.any` always takes. Either way groups are numbered by their lowest world
/// rank, which is the group's rank 0 (`leaders`): group 0 holds world rank 0.
package struct RankGroups {
    package let world: Communicator
    /// The ranks this one works with: the world itself when there is one group.
    package let group: Communicator
    package let index: Int
    package let count: Int
    /// The world rank of each group's rank 0, by group index (ascending).
    package let leaders: [Int]
    /// The group of every world rank.
    package let colors: [Int]
    /// Where the groups run, one line for the job's progress; nil with one group or on one host.
    package let placement: String?
    /// The group is a split of the world, to be freed at the end.
    package var ownsGroup: Bool { count > 1 }

    /// Groups of `size` ranks (0 = one group of all), placed by `placement`. `setting` is the key
    /// the size came from (`path.group-size`), named in a refusal: a size that does not divide the
    /// ranks, or (`.node`) the ranks on some node. Collective over the world.
    package static func split(_ world: Communicator, size requested: Int, setting: String,
                              placement: GroupPlacement = .node) throws -> RankGroups {
        let layout = try NodeLayout(world)
        let colors = try layout.groups(size: requested, setting: setting, placement: placement)
        let count = (colors.max() ?? 0) + 1
        let index = colors[world.rank]
        let group = count == 1 ? world : try world.split(color: index)
        let leaders = (0..<count).map { g in colors.firstIndex(of: g)! }
        return RankGroups(world: world, group: group, index: index, count: count, leaders: leaders, colors: colors,
                          placement: layout.describe(colors, count: count))
    }

    /// Refuses what `split` would refuse, without splitting: a job that splits only after other
    /// work (a study, after training) checks first. Collective over the world.
    package static func check(size requested: Int, on world: Communicator, setting: String, placement: GroupPlacement = .node) throws {
        _ = try NodeLayout(world).groups(size: requested, setting: setting, placement: placement)
    }

    /// Says where the groups run, when there is something to say (several groups, several hosts).
    package func announce(on progress: JobProgress) {
        if let placement { progress.say(placement) }
    }

    /// The world ranks of group g, in world-rank order (its rank 0 first).
    package func members(of g: Int) -> [Int] { colors.indices.filter { colors[$0] == g } }

    package func free() {
        if ownsGroup { try? group.free() }
    }
}

/// Which node every world rank is on, known to every rank: nodes are the shared-memory
/// communicators (`MPI_COMM_TYPE_SHARED`, what MPI itself treats as one node), each named by its
/// lowest world rank so that every rank computes the same numbering; host names only label them.
private struct NodeLayout {
    let ranks: Int
    /// Each world rank's node: the lowest world rank on it.
    let node: [Int]
    /// Each world rank's host name (for messages).
    let host: [String]

    init(_ world: Communicator) throws {
        node = try world.nodeOfEachRank()
        let names = try world.gather(string: RunDirectoryLock.hostName)
        host = try world.agree { names }
        ranks = world.size
    }

    /// The nodes in order of their lowest rank, with their ranks in world-rank order.
    var nodes: [[Int]] {
        var members: [Int: [Int]] = [:]
        for r in 0..<ranks { members[node[r], default: []].append(r) }
        return members.keys.sorted().map { members[$0]! }
    }

    /// Each world rank's group index, or the refusal in one line.
    func groups(size requested: Int, setting: String, placement: GroupPlacement) throws -> [Int] {
        let size = requested > 0 ? requested : ranks
        guard size >= 1, size <= ranks, ranks % size == 0 else {
            throw InputError(setting: setting, "= \(requested) must divide the number of ranks (\(ranks)); e.g. 1, or \(ranks) for one group")
        }
        // One group is the whole job (whatever hosts it spans), as without groups.
        if placement == .any || size == ranks { return (0..<ranks).map { $0 / size } }
        let nodes = self.nodes
        guard nodes.allSatisfy({ $0.count % size == 0 }) else {
            let counts = nodes.map { "\($0.count) on \(host[$0[0]])" }.joined(separator: ", ")
            let fits = nodes.reduce(0) { gcd($0, $1.count) }
            throw InputError(setting: setting, "= \(requested) does not divide the ranks on every host (\(counts)), so a group would straddle hosts; give a size that divides each (e.g. \(fits)), or --group-placement any to allow straddling")
        }
        // Runs of `size` of each node's ranks, numbered by their lowest world rank.
        let runs = nodes.flatMap { members in stride(from: 0, to: members.count, by: size).map { Array(members[$0..<($0 + size)]) } }
        var colors = [Int](repeating: 0, count: ranks)
        for (g, run) in runs.sorted(by: { $0[0] < $1[0] }).enumerated() {
            for r in run { colors[r] = g }
        }
        return colors
    }

    /// "rank groups: 2 of 2 ranks on 2 hosts — group 0: ranks 0, 2 on a; group 1: ranks 1, 3 on b".
    func describe(_ colors: [Int], count: Int) -> String? {
        let hosts = Set(node).count
        guard count > 1, hosts > 1 else { return nil }
        let groups = (0..<count).map { g -> String in
            let members = colors.indices.filter { colors[$0] == g }
            var names: [String] = []
            for r in members where !names.contains(host[r]) { names.append(host[r]) }
            return "group \(g): ranks \(Self.list(members)) on \(names.joined(separator: " + "))"
        }
        return "rank groups: \(count) of \(ranks / count) ranks on \(hosts) hosts — " + groups.joined(separator: "; ")
    }

    /// Ranks as "0, 2" or, for runs, "0-3".
    static func list(_ ranks: [Int]) -> String {
        var parts: [String] = [], i = 0
        while i < ranks.count {
            var j = i
            while j + 1 < ranks.count && ranks[j + 1] == ranks[j] + 1 { j += 1 }
            parts.append(j > i ? "\(ranks[i])-\(ranks[j])" : "\(ranks[i])")
            i = j + 1
        }
        return parts.joined(separator: ", ")
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
