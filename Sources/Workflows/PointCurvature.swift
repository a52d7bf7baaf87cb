import Cluster
import Configuration
import CriticalPoints
import Curvature
import DistributedLinearAlgebra
import Krylov
import Networks
import Objectives
import Support

/// The exact Hessian of an objective, assembled at any θ into one block-cyclic matrix on the
/// squarest BLACS grid of the objective's communicator (hessian.block and hessian.assembly from
/// the configuration); the grid and the matrix's storage are made once and reused point after
/// point. Collective over the objective's ranks; `release()` frees the grid.
final class HessianAssembler {
    let objective: DataParallelObjective
    let grid: ProcessGrid
    let blockSize: Int
    private let assembly: CurvatureAssembly
    private var matrix: BlockCyclicMatrix

    init(model: any Model, objective: DataParallelObjective, configuration: RunConfiguration) throws {
        let shape = ProcessGrid.squarestShape(for: objective.communicator.size)
        let grid = ProcessGrid(communicator: objective.communicator, rows: shape.rows, columns: shape.columns)
        let m = model.parameterCount
        blockSize = max(1, min(configuration.hessianBlock, (m + max(shape.rows, shape.columns) - 1) / max(shape.rows, shape.columns)))
        do {
            matrix = try BlockCyclicMatrix(grid: grid, rows: m, columns: m, blockSize: blockSize)
            assembly = try CurvatureAssembly(model: model, requested: configuration.hessianAssembly)
        } catch {
            grid.release()
            throw error
        }
        self.grid = grid
        self.objective = objective
    }

    func release() { grid.release() }

    /// H at θ, symmetrised. The returned value shares the assembler's storage: drop it before
    /// the next call, or that call copies M² values.
    func assemble(at θ: [Double]) throws -> BlockCyclicMatrix {
        try fill(at: θ)
        return matrix
    }

    /// Every eigenvalue of H at θ, ascending, by the solver `auto` picks (in place: the storage is
    /// overwritten by the next assembly anyway).
    func eigenvalues(at θ: [Double]) throws -> [Double] {
        try fill(at: θ)
        let solver = try Eigensolver.resolve(.auto, selection: .none, n: matrix.rows, blockSize: blockSize, grid: (grid.rows, grid.columns)).solver
        return try solver.decompose(&matrix, selection: .none).eigenvalues
    }

    /// H at θ as its eigendecomposition Z Λ Zᵀ (every eigenpair), the operator of exact Newton steps.
    func decomposition(at θ: [Double]) throws -> SpectralHessian {
        try fill(at: θ)
        let solver = try Eigensolver.resolve(.auto, selection: .all, n: matrix.rows, blockSize: blockSize, grid: (grid.rows, grid.columns)).solver
        let d = try solver.decompose(&matrix, selection: .all)
        precondition(d.eigenvalues.count == matrix.rows && d.eigenvectors?.columns == matrix.rows, "every eigenpair of H")
        return SpectralHessian(eigenvalues: d.eigenvalues, vectors: d.eigenvectors!)
    }

    private func fill(at θ: [Double]) throws {
        _ = try assembly.assemble(.hessian, at: θ, shard: objective.dataset.samples, globalSampleCount: objective.dataset.globalCount, into: &matrix)
        _ = try matrix.symmetrize()
    }
}

/// H = Z Λ Zᵀ with Z block-cyclic (every eigenpair): products Z(Λ(Zᵀv)), and the coordinates
/// the exact Newton steps of `CriticalPointSearch` are computed in.
struct SpectralHessian: EigendecomposedOperator {
    let eigenvalues: [Double]
    let vectors: BlockCyclicMatrix

    var dimension: Int { vectors.rows }
    var communicator: Communicator { vectors.grid.communicator }

    func apply(_ directions: [Double], count: Int) throws -> [Double] {
        var c = try vectors.multiplyTransposed(replicated: directions, count: count)
        let n = eigenvalues.count
        for j in 0..<count { for i in 0..<n { c[j * n + i] *= eigenvalues[i] } }
        return try vectors.multiply(replicated: c, count: count)
    }

    func coordinates(of v: [Double]) throws -> [Double] { try vectors.multiplyTransposed(replicated: v, count: 1) }
    func vector(from c: [Double]) throws -> [Double] { try vectors.multiply(replicated: c, count: 1) }
}

/// Every eigenvalue of the exact Hessian at θ, ascending (`HessianAssembler` for one point).
/// The curvature at a point of a line (interpolate) and at the pivots of a path (path).
func exactHessianEigenvalues(at θ: [Double], model: any Model, objective: DataParallelObjective,
                             configuration: RunConfiguration) throws -> [Double] {
    let assembler = try HessianAssembler(model: model, objective: objective, configuration: configuration)
    defer { assembler.release() }
    return try assembler.eigenvalues(at: θ)
}

/// Per-rank bytes of the exact curvature at a point: H block-cyclic over the group's ranks, plus the
/// eigensolver's copy and workspace — about three matrices' worth — and a margin.
func exactCurvatureBytes(dimension m: Int, groupSize: Int) -> Double {
    3 * 8 * Double(m) * Double(m) / Double(groupSize) + 64 * 1024 * 1024
}

/// Refuses the exact curvature at M parameters when `exactCurvatureBytes` exceed the per-rank
/// budget; `what` says where it is taken ("the exact index at the highest pivot").
func requireExactCurvatureFits(dimension m: Int, groupSize: Int, budget: Int, what: String) throws {
    let need = exactCurvatureBytes(dimension: m, groupSize: groupSize)
    guard need <= Double(budget) else {
        throw InputError("\(what) needs ≈ \(formatBytes(Int(min(need, 1e18)))) per rank, \(formatBytes(budget)) available; use --curvature lanczos (the smallest eigenvalues only), larger groups (--group-size) or more ranks")
    }
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
        let b = min(top.blockSize, m)   // at M ≤ k the Krylov space is the whole space (all M pairs, exact)
        let minimum = min(m, LanczosSettings.minimumBasis(count: count, which: which, blockSize: b))
        let basis = max(minimum, min(m, 4 * count + 8 * b))
        return LanczosSettings(count: count, which: which, tolerance: top.tolerance, blockSize: b, basis: basis,
                               maxMatvecs: top.maxMatvecs, seed: seed)
    }
}
