import Cluster
import Support
import DistributedLinearAlgebra
import Networks
import Samples

/// Assembly of the exact curvature matrix of the mean loss over data sharded across ranks into a
/// block-cyclic matrix that no rank holds whole.
///
/// Every rank runs the same sequence of row blocks (l, p) over its own shard; after each block the
/// ranks' partial sums are added (one allreduce of the (n_{l−1}+1) × (M − c₀) panel) and each
/// rank keeps the entries it owns, in both orientations (the panel covers the upper part of its
/// rows; symmetry supplies the mirror). Memory per rank: the local piece of the matrix, one panel
/// and the shard's per-sample factors — never M × M.
public struct DistributedHessianAssembly: Sendable {
    public let assembler: ExactHessian

    public init(network: MultilayerPerceptron) { assembler = ExactHessian(network: network) }

    public typealias Timing = AssemblyTiming

    /// H (or G) = (1/N) Σ over all ranks' samples, into `matrix` (M × M on the grid).
    /// `progress` is called after each row block with (done, total).
    public func assemble(_ θ: [Double], shard: SampleBatch, globalSampleCount: Int, part: CurvaturePart,
                         into matrix: inout BlockCyclicMatrix,
                         progress: (Int, Int) -> Void = { _, _ in }) throws -> Timing {
        let M = assembler.network.layout.count
        precondition(matrix.rows == M && matrix.columns == M)
        let communicator = matrix.grid.communicator
        let scale = 1 / Double(globalSampleCount)
        var timing = Timing()
        var done = 0, clock = Stopwatch()
        var panel: [Double] = []
        try assembler.forEachRowBlock(θ, batch: shard, part: part) { block in
            timing.compute += clock.seconds
            clock = Stopwatch()
            panel.removeAll(keepingCapacity: true)
            panel.append(contentsOf: block.panel)
            try communicator.allreduce(&panel, .sum)
            timing.reduce += clock.seconds
            timing.reducedBytes += Double(panel.count * MemoryLayout<Double>.stride)
            matrix.store(rows: block.rows, firstColumn: block.firstColumn, panel: panel, scale: scale)
            done += 1
            progress(done, assembler.rowBlockCount)
            clock = Stopwatch()
        }
        timing.compute += clock.seconds
        return timing
    }
}

extension BlockCyclicMatrix {
    /// Writes the entries of a row panel this rank owns, and their mirror images: panel row k is
    /// global row rows[k], panel column j is global column firstColumn + j, and the value goes to
    /// both (rows[k], c) and (c, rows[k]).
    ///
    /// Loop order follows the column-major local piece: for the panel's own orientation each local
    /// column takes its owned panel rows (nearly consecutive local rows: one short contiguous run);
    /// for the mirror each owned panel row is one local column, filled down its owned rows, which
    /// are contiguous runs of the panel row. Both write memory in order, never a stride of ld.
    mutating func store(rows: [Int], firstColumn: Int, panel: [Double], scale: Double) {
        let width = columns - firstColumn
        let rowAxis = layout.rowAxis, columnAxis = layout.columnAxis
        // Local columns / rows whose global index is ≥ firstColumn, found once per panel.
        let myColumns = (0..<localColumns).map { ($0, globalColumn($0)) }.filter { $0.1 >= firstColumn }
        let myRows = (0..<localRows).map { ($0, globalRow($0)) }.filter { $0.1 >= firstColumn }
        // The panel rows this rank owns as rows, and as columns (for the mirror).
        let ownedAsRows = rows.enumerated().filter { rowAxis.owner(of: $0.element) == grid.myRow }
            .map { (source: $0.offset * width - firstColumn, local: rowAxis.localIndex(of: $0.element)) }
        let ownedAsColumns = rows.enumerated().filter { columnAxis.owner(of: $0.element) == grid.myColumn }
            .map { (source: $0.offset * width - firstColumn, local: columnAxis.localIndex(of: $0.element)) }
        let ld = leadingDimension
        local.withUnsafeMutableBufferPointer { a in
            panel.withUnsafeBufferPointer { panel in
                let a = a.baseAddress!, panel = panel.baseAddress!
                for (c, j) in myColumns {
                    let column = a + c * ld
                    for (source, r) in ownedAsRows { column[r] = scale * panel[source + j] }
                }
                for (source, c) in ownedAsColumns {
                    let column = a + c * ld
                    for (r, i) in myRows { column[r] = scale * panel[source + i] }
                }
            }
        }
    }
}
