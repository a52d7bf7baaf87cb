import Jobs
import Cluster
import Foundation
import Geometry
import Reporting
import Support

/// `landscape path --minima a.npy b.npy c.npy …`: every pair connected (pairs/<i>-<j>/, numbered
/// from 1 in the order given), then the minimum spanning tree of the saddle energies (the highest
/// loss along each pair's path) and its disconnectivity graph (GEOMETRY.md §4).
extension PathJob {
    package struct PairRow: Codable {
        package var a: Int
        package var b: Int
        /// The highest loss on the pair's own path.
        package var directSaddle: Double
        /// The lowest saddle over chains of computed paths (the tree's): ≤ directSaddle.
        package var treeSaddle: Double
        package var straightLineSaddle: Double
        /// The tree connects the pair lower than its own path, through other minima.
        package var lowerThroughOthers: Bool
        package var verdict: String
    }

    package struct TreeSummary: Codable {
        package var command = "path"
        package var method: String
        package var minima: [String]
        package var losses: [Double]
        package var pairs: [PairRow]
        /// The tree's edges (1-based minima), lowest saddle first.
        package var tree: [PairRow]
        package var seconds: Double
    }

    package func connectAll(_ context: Context) throws {
        let clock = Stopwatch()
        let n = context.points.count
        var results: [(Int, Int, Summary)] = []
        for i in 0..<n {
            for j in (i + 1)..<n {
                let directory = output.subdirectory("pairs/\(i + 1)-\(j + 1)")
                context.progress.say("path: pair \(i + 1)–\(j + 1) of \(n) minima")
                results.append((i, j, try connect(i, j, into: directory, context)))
            }
        }
        let tree = BarrierTree(nodeCount: n, paths: results.map { BarrierTree.Edge($0.0, $0.1, saddle: $0.2.pathMaximum.loss) })
        let rows = results.map { i, j, s in
            let lowest = tree.saddle(between: i, and: j) ?? s.pathMaximum.loss
            return PairRow(a: i + 1, b: j + 1, directSaddle: s.pathMaximum.loss, treeSaddle: lowest, straightLineSaddle: s.straightLineMaximum.loss,
                           lowerThroughOthers: lowest < s.pathMaximum.loss, verdict: s.verdict)
        }
        let treeRows = tree.edges.map { e in rows.first { $0.a == e.a + 1 && $0.b == e.b + 1 }! }
        let summary = TreeSummary(method: settings.method.rawValue, minima: endpoints, losses: context.losses, pairs: rows, tree: treeRows, seconds: clock.seconds)
        let header = try context.run.completedHeader()   // collective
        try context.world.agree {
            var csv = "a,b,direct_saddle,tree_saddle,straight_line_saddle,lower_through_others,in_tree\n"
            for r in rows {
                csv += "\(r.a),\(r.b),\(r.directSaddle),\(r.treeSaddle),\(r.straightLineSaddle),\(r.lowerThroughOthers),\(treeRows.contains { $0.a == r.a && $0.b == r.b })\n"
            }
            try writeAtomically(Data(csv.utf8), to: output.file("pairs.csv"))
            var text = "a,b,saddle,barrier_above_higher_minimum\n"
            for r in treeRows { text += "\(r.a),\(r.b),\(r.directSaddle),\(r.directSaddle - max(context.losses[r.a - 1], context.losses[r.b - 1]))\n" }
            try writeAtomically(Data(text.utf8), to: output.file("tree.csv"))
            var graph = DisconnectivityGraph(title: "Disconnectivity graph of \(n) minima (\(settings.method.rawValue) paths)",
                                             labels: (1...n).map { "\($0)" }, energies: context.losses,
                                             merges: tree.merges.map { .init(left: $0.left, right: $0.right, saddle: $0.saddle) }, order: tree.leafOrder)
            graph.subtitle = "minima at their training loss, joined at the lowest saddle connecting them (minimum spanning tree)"
            try writeAtomically(Data(graph.render().utf8), to: output.file("disconnectivity.svg"))
            try context.run.writeSummary(summary, header: header)
        }
        context.progress.say("path: \(n) minima, \(results.count) paths; tree: " + treeRows.map { "\($0.a)–\($0.b) at \(String(format: "%.6g", $0.directSaddle))" }.joined(separator: ", "))
    }
}
