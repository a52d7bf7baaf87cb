/// Many minima and the paths between them (GEOMETRY.md §4, Draxler et al. 2018 §3): the minimum
/// spanning tree of the saddle energies, and the disconnectivity graph it defines.
///
/// Minima are the nodes; a computed path between two of them is an edge weighted by its saddle
/// energy (the highest loss along it). Kruskal's algorithm keeps the edges of the minimum spanning
/// tree, and the tree answers for every pair the lowest saddle over all chains of computed paths
/// (the minimax path of a graph runs along its minimum spanning tree): a pair whose direct path
/// is higher is connected lower through other minima. The order in which Kruskal merges the
/// components is the disconnectivity graph (Becker & Karplus 1997): minima joined at the energy of
/// the saddle that first connects their basins.
public struct BarrierTree: Sendable {
    public struct Edge: Sendable, Equatable {
        public var a: Int
        public var b: Int
        /// The highest loss along the path a → b.
        public var saddle: Double
        public init(_ a: Int, _ b: Int, saddle: Double) { self.a = a; self.b = b; self.saddle = saddle }
    }

    /// One union of Kruskal's algorithm: the components holding `left` and `right` (lists of
    /// minima) joined at `saddle`.
    public struct Merge: Sendable {
        public var left: [Int]
        public var right: [Int]
        public var saddle: Double
    }

    public let nodeCount: Int
    /// The minimum spanning tree (a forest when the computed paths do not connect every minimum).
    public private(set) var edges: [Edge] = []
    public private(set) var merges: [Merge] = []

    /// Ties are broken by the order of `paths`, so the tree does not depend on floating-point noise
    /// in equal saddles.
    public init(nodeCount: Int, paths: [Edge]) {
        self.nodeCount = nodeCount
        var parent = Array(0..<nodeCount)
        var members = (0..<nodeCount).map { [$0] }
        func root(_ i: Int) -> Int {
            var i = i
            while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
            return i
        }
        let order = paths.indices.sorted { (paths[$0].saddle, $0) < (paths[$1].saddle, $1) }
        for e in order.map({ paths[$0] }) {
            let (ra, rb) = (root(e.a), root(e.b))
            guard ra != rb else { continue }
            edges.append(e)
            merges.append(Merge(left: members[ra], right: members[rb], saddle: e.saddle))
            parent[rb] = ra
            members[ra] += members[rb]
            members[rb] = []
        }
    }

    /// The lowest saddle connecting a and b through the tree (nil: not connected by the paths).
    public func saddle(between a: Int, and b: Int) -> Double? {
        guard a != b else { return nil }
        // The merge that first puts a and b into one component happened at the minimax saddle.
        return merges.first { ($0.left.contains(a) && $0.right.contains(b)) || ($0.left.contains(b) && $0.right.contains(a)) }?.saddle
    }

    /// The minima in the disconnectivity graph's left-to-right order: every component is a
    /// contiguous run, so no two branches cross.
    public var leafOrder: [Int] {
        var lists = (0..<nodeCount).map { [$0] }
        var owner = Array(0..<nodeCount)
        for m in merges {
            let (l, r) = (owner[m.left[0]], owner[m.right[0]])
            lists[l] += lists[r]
            for i in lists[r] { owner[i] = l }
            lists[r] = []
        }
        return lists.filter { !$0.isEmpty }.flatMap { $0 }
    }
}
