import Cluster
import DistributedLinearAlgebra
import Networks
import Objectives
import Support

/// The generic exact assembler: any model's H, G or R, column panel by column panel, from the
/// curvature operator applied to unit directions — H e_j is column j.
///
/// For each panel of B columns j₀ … j₀+B−1 every rank applies the model's product to its shard
/// against the unit block E = [e_{j₀} … e_{j₀+B−1}] (one batched pass over the samples), one
/// allreduce of the M × B sums gives every rank the panel, and each rank keeps the entries it owns.
/// Memory beyond the matrix: three M × B blocks (E, the sums, the panel); the same block-cyclic
/// matrix and the same bounds as the sample-GEMM path. It costs M/B batched products — about ten
/// times the sample-GEMM path on MLPs (measured in docs/architecture.md) — and needs nothing of a
/// model but the `Model` protocol, which is how convolutional and imported models get exact
/// Hessians. The columns are exact to rounding; the matrix is symmetric to rounding (the spectrum
/// job symmetrises every matrix before decomposing it).
public struct OperatorColumnAssembly: Sendable {
    /// B, the unit directions per batched product.
    public var panelWidth: Int

    public init(panelWidth: Int = 64) {
        precondition(panelWidth >= 1)
        self.panelWidth = panelWidth
    }

    /// Bytes of working memory per rank beyond the matrix for M parameters.
    public func workingBytes(parameters m: Int) -> Int { 3 * 8 * m * min(panelWidth, max(m, 1)) }

    /// A = the operator's matrix (mean over all ranks' samples) into `matrix` (M × M on the grid,
    /// whose communicator must be the operator's). `progress` gets (columns done, M).
    public func assemble(_ curvature: CurvatureOperator, into matrix: inout BlockCyclicMatrix,
                         progress: (Int, Int) -> Void = { _, _ in }) throws -> AssemblyTiming {
        let M = curvature.dimension
        precondition(matrix.rows == M && matrix.columns == M)
        let communicator = curvature.communicator
        let scale = 1 / Double(curvature.globalSampleCount)
        var timing = AssemblyTiming()
        // Local columns in ascending global order (a block-cyclic axis is monotone in the local index).
        let owned = (0..<matrix.localColumns).map { ($0, matrix.globalColumn($0)) }
        let rowsHere = (0..<matrix.localRows).map { matrix.globalRow($0) }
        let ld = matrix.leadingDimension
        var next = 0
        var start = 0
        while start < M {
            let width = min(panelWidth, M - start)
            var clock = Stopwatch()
            var units = [Double](repeating: 0, count: M * width)
            for j in 0..<width { units[j * M + start + j] = 1 }
            var panel = curvature.localSums(units, count: width)
            timing.compute += clock.seconds
            clock = Stopwatch()
            try communicator.allreduce(&panel, .sum)
            timing.reduce += clock.seconds
            timing.reducedBytes += Double(panel.count * MemoryLayout<Double>.stride)
            matrix.local.withUnsafeMutableBufferPointer { a in
                while next < owned.count && owned[next].1 < start + width {
                    let (c, j) = owned[next]
                    let column = (j - start) * M
                    for (r, i) in rowsHere.enumerated() { a[c * ld + r] = scale * panel[column + i] }
                    next += 1
                }
            }
            start += width
            progress(start, M)
        }
        return timing
    }
}

/// Seconds an assembly spent computing (shard products) and exchanging, and the bytes this rank
/// moved: for the sample-GEMM assembly's exchange to owners, exactly the values it sent to other
/// ranks and received from them (`sentBytes`, `receivedBytes`); for the allreduce of partial panels
/// (either assembly) the payload it handed to its allreduces (`reducedBytes`: what
/// leaves the rank is that times the algorithm's factor, 2(P − 1)/P for a ring).
public struct AssemblyTiming: Sendable {
    public var compute = 0.0
    public var reduce = 0.0
    public var reducedBytes = 0.0
    public var sentBytes: Double? = nil
    public var receivedBytes: Double? = nil
    /// Of `sentBytes`, those sent to ranks on other nodes (what crosses the interconnect).
    public var offNodeBytes: Double? = nil
    public init() {}
}
