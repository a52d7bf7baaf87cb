import Configuration
import Curvature
import DistributedLinearAlgebra
import Krylov
import Networks
import Objectives

/// Every eigenvalue of the exact Hessian at θ, ascending: H assembled from the objective's shard
/// on the squarest BLACS grid of its communicator (hessian.block and hessian.assembly from the
/// configuration), then decomposed by the solver `auto` picks. Collective over the objective's
/// ranks. The curvature at a point of a line (interpolate) and at the pivots of a path (path).
func exactHessianEigenvalues(at θ: [Double], network: MultilayerPerceptron, objective: DataParallelObjective,
                             configuration: RunConfiguration) throws -> [Double] {
    let shape = ProcessGrid.squarestShape(for: objective.communicator.size)
    let grid = ProcessGrid(communicator: objective.communicator, rows: shape.rows, columns: shape.columns)
    defer { grid.release() }
    let m = network.parameterCount
    let blockSize = max(1, min(configuration.hessianBlock, (m + max(shape.rows, shape.columns) - 1) / max(shape.rows, shape.columns)))
    var matrix = try BlockCyclicMatrix(grid: grid, rows: m, columns: m, blockSize: blockSize)
    _ = try CurvatureAssembly(model: network, requested: configuration.hessianAssembly)
        .assemble(.hessian, at: θ, shard: objective.dataset.samples, globalSampleCount: objective.dataset.globalCount, into: &matrix)
    _ = try matrix.symmetrize()
    let solver = try Eigensolver.resolve(.auto, selection: .none, n: m, blockSize: blockSize, grid: (shape.rows, shape.columns)).solver
    return try solver.decompose(&matrix, selection: .none).eigenvalues
}

/// Per-rank bytes of the exact curvature at a point: H block-cyclic over the group's ranks, plus the
/// eigensolver's copy and workspace — about three matrices' worth — and a margin.
func exactCurvatureBytes(dimension m: Int, groupSize: Int) -> Double {
    3 * 8 * Double(m) * Double(m) / Double(groupSize) + 64 * 1024 * 1024
}

extension InterpolateJob.CurvatureMethod {
    /// Whether H is assembled and decomposed exactly at M parameters (`auto`: up to `InterpolateJob.exactLimit`).
    func isExact(dimension m: Int) -> Bool {
        switch self {
        case .exact: true
        case .lanczos: false
        case .auto: m <= InterpolateJob.exactLimit
        }
    }
}

extension RunConfiguration {
    /// Lanczos for the `count` eigenvalues of H at one end, with the `[top]` settings' tolerance,
    /// block size and matvec budget: the basis a few times `count` (at least the minimum for it).
    func curvatureLanczos(count: Int, which: SpectrumEnd, dimension m: Int) -> LanczosSettings {
        let b = top.blockSize
        let minimum = min(m, LanczosSettings.minimumBasis(count: count, which: which, blockSize: b))
        let basis = max(minimum, min(m, 4 * count + 8 * b))
        return LanczosSettings(count: count, which: which, tolerance: top.tolerance, blockSize: b, basis: basis,
                               maxMatvecs: top.maxMatvecs, seed: seed)
    }
}
