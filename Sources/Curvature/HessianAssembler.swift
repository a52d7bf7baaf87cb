import Cluster
import DistributedLinearAlgebra
import Networks
import Objectives

/// The exact Hessian of an objective, assembled at any θ into one block-cyclic matrix on the
/// squarest BLACS grid of the objective's communicator (hessian.block and hessian.assembly from
/// the configuration); the grid and the matrix's storage are made once and reused point after
/// point. Collective over the objective's ranks; `release()` frees the grid.
public final class HessianAssembler {
    public let objective: DataParallelObjective
    public let grid: ProcessGrid
    public let blockSize: Int
    private let assembly: CurvatureAssembly
    private var matrix: BlockCyclicMatrix

    /// `blockSize`: the requested hessian.block (at most M over the grid's longer side is used);
    /// `assembly`: hessian.assembly.
    public init(model: any Model, objective: DataParallelObjective, blockSize requested: Int, assembly: AssemblyMethod) throws {
        let shape = ProcessGrid.squarestShape(for: objective.communicator.size)
        let grid = ProcessGrid(communicator: objective.communicator, rows: shape.rows, columns: shape.columns)
        let m = model.parameterCount
        blockSize = max(1, min(requested, (m + max(shape.rows, shape.columns) - 1) / max(shape.rows, shape.columns)))
        do {
            matrix = try BlockCyclicMatrix(grid: grid, rows: m, columns: m, blockSize: blockSize)
            self.assembly = try CurvatureAssembly(model: model, requested: assembly)
        } catch {
            grid.release()
            throw error
        }
        self.grid = grid
        self.objective = objective
    }

    public func release() { grid.release() }

    /// H at θ, symmetrised. The returned value shares the assembler's storage: drop it before
    /// the next call, or that call copies M² values.
    public func assemble(at θ: [Double]) throws -> BlockCyclicMatrix {
        try fill(at: θ)
        return matrix
    }

    /// Every eigenvalue of H at θ, ascending, by the solver `auto` picks (in place: the storage is
    /// overwritten by the next assembly anyway).
    public func eigenvalues(at θ: [Double]) throws -> [Double] {
        try fill(at: θ)
        let solver = try Eigensolver.resolve(.auto, selection: .none, n: matrix.rows, blockSize: blockSize, grid: (grid.rows, grid.columns)).solver
        return try solver.decompose(&matrix, selection: .none).eigenvalues
    }

    /// H at θ as its eigendecomposition Z Λ Zᵀ (every eigenpair), the operator of exact Newton steps.
    public func decomposition(at θ: [Double]) throws -> SpectralHessian {
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
public struct SpectralHessian: EigendecomposedOperator {
    public let eigenvalues: [Double]
    public let vectors: BlockCyclicMatrix

    public var dimension: Int { vectors.rows }
    public var communicator: Communicator { vectors.grid.communicator }

    public func apply(_ directions: [Double], count: Int) throws -> [Double] {
        var c = try vectors.multiplyTransposed(replicated: directions, count: count)
        let n = eigenvalues.count
        for j in 0..<count { for i in 0..<n { c[j * n + i] *= eigenvalues[i] } }
        return try vectors.multiply(replicated: c, count: count)
    }

    public func coordinates(of v: [Double]) throws -> [Double] { try vectors.multiplyTransposed(replicated: v, count: 1) }
    public func vector(from c: [Double]) throws -> [Double] { try vectors.multiply(replicated: c, count: 1) }
}

/// Every eigenvalue of the exact Hessian at θ, ascending (`HessianAssembler` for one point).
/// The curvature at a point of a line (interpolate) and at the pivots of a path (path).
public func exactHessianEigenvalues(at θ: [Double], model: any Model, objective: DataParallelObjective,
                                    blockSize: Int, assembly: AssemblyMethod) throws -> [Double] {
    let assembler = try HessianAssembler(model: model, objective: objective, blockSize: blockSize, assembly: assembly)
    defer { assembler.release() }
    return try assembler.eigenvalues(at: θ)
}

/// How the curvature at a point (a line's sites, a path's pivots, a critical point) is taken.
public enum CurvatureMethod: String, Sendable, CaseIterable, Codable {
    /// Exact when the Hessian is small enough to decompose quickly (M ≤ `exactLimit`), else Lanczos.
    case auto, exact, lanczos

    /// M up to which `auto` assembles and decomposes H exactly at each curvature point (an M = 5510
    /// decomposition takes ≈ 8 s on 2 ranks here, docs/eigensolvers.md).
    public static let exactLimit = 6000
}

extension CurvatureMethod {
    /// Whether H is assembled and decomposed exactly at M parameters (`auto`: up to `InterpolateJob.exactLimit`).
    public func isExact(dimension m: Int) -> Bool {
        switch self {
        case .exact: true
        case .lanczos: false
        case .auto: m <= Self.exactLimit
        }
    }
}

