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

    /// H at θ as its eigendecomposition Z Λ Zᵀ (every eigenpair), the operator of exact Newton
    /// steps — with the span of `tangents` deflated when any are given: then the last
    /// `symmetryModes` eigenpairs are that span (GEOMETRY.md §6b).
    ///
    /// With Q an orthonormal basis of the tangents (s columns) and P = I − QQᵀ, the matrix
    /// decomposed is H′ = PHP + cQQᵀ: on span(Q)⊥ it is H's compression, on span(Q) it is c·I. At a
    /// critical point HQ = 0 and H′'s other eigenpairs are H's; away from one, PHP is the curvature
    /// transverse to the symmetry orbit, which is what a step or an inertia count should see. c is
    /// put above the whole spectrum (c > ‖H‖_F ≥ ‖PHP‖₂), so the symmetry modes are the top s
    /// eigenpairs and nothing about the low end (the index) depends on them. With Y = HQ,
    /// H′ = H + UVᵀ for U = [Q(QᵀY + cI) − Y, −Q] and V = [Q, Y]: one rank-2s update of the
    /// assembled matrix, no communication beyond the s products HQ.
    public func decomposition(at θ: [Double], deflating tangents: [[Double]] = []) throws -> SpectralHessian {
        try fill(at: θ)
        let m = matrix.rows
        let q = orthonormalBasis(tangents), s = q.count / max(m, 1)
        if s > 0 { try deflate(q, count: s) }
        let solver = try Eigensolver.resolve(.auto, selection: .all, n: m, blockSize: blockSize, grid: (grid.rows, grid.columns)).solver
        let d = try solver.decompose(&matrix, selection: .all)
        precondition(d.eigenvalues.count == m && d.eigenvectors?.columns == m, "every eigenpair of H")
        return SpectralHessian(eigenvalues: d.eigenvalues, vectors: d.eigenvectors!, symmetryModes: s)
    }

    /// The assembled H becomes H′ = H + UVᵀ (above) for the orthonormal Q (m × s, column-major).
    private func deflate(_ q: [Double], count s: Int) throws {
        let m = matrix.rows
        let y = try matrix.multiply(replicated: q, count: s)
        let c = 1.001 * (try matrix.frobeniusNorm()) + 1e-300
        // A = QᵀY + cI (s × s, symmetric up to rounding: symmetrised).
        var a = [Double](repeating: 0, count: s * s)
        for i in 0..<s {
            for j in 0..<s {
                var x = 0.0
                for r in 0..<m { x += q[i * m + r] * y[j * m + r] }
                a[j * s + i] = x
            }
        }
        for i in 0..<s { for j in 0..<i { let x = 0.5 * (a[j * s + i] + a[i * s + j]); (a[j * s + i], a[i * s + j]) = (x, x) } }
        for i in 0..<s { a[i * s + i] += c }
        var u = [Double](repeating: 0, count: m * 2 * s), v = [Double](repeating: 0, count: m * 2 * s)
        for t in 0..<s {
            for r in 0..<m {
                var qa = 0.0
                for p in 0..<s { qa += q[p * m + r] * a[t * s + p] }
                u[t * m + r] = qa - y[t * m + r]
                u[(s + t) * m + r] = -q[t * m + r]
                v[t * m + r] = q[t * m + r]
                v[(s + t) * m + r] = y[t * m + r]
            }
        }
        matrix.addProduct(u, v, count: 2 * s)
        _ = try matrix.symmetrize()
    }

    private func fill(at θ: [Double]) throws {
        _ = try assembly.assemble(.hessian, at: θ, shard: objective.dataset.samples, globalSampleCount: objective.dataset.globalCount, into: &matrix)
        _ = try matrix.symmetrize()
    }
}

/// H = Z Λ Zᵀ with Z block-cyclic (every eigenpair): products Z(Λ(Zᵀv)), and the coordinates
/// the exact Newton steps of `CriticalPointSearch` are computed in.
public struct SpectralHessian: EigendecomposedOperator {
    public var eigenvalues: [Double]
    public let vectors: BlockCyclicMatrix
    /// The last `symmetryModes` eigenpairs span deflated symmetry tangents (their eigenvalue is
    /// a shift above the spectrum, not curvature): `decomposition(at:deflating:)`.
    public var symmetryModes = 0

    public init(eigenvalues: [Double], vectors: BlockCyclicMatrix, symmetryModes: Int = 0) {
        (self.eigenvalues, self.vectors, self.symmetryModes) = (eigenvalues, vectors, symmetryModes)
    }

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


/// An orthonormal basis (column-major, n × s) of the span of `vectors` (each of length n), by
/// Gram–Schmidt with one reorthogonalisation ("twice is enough", Giraud et al. 2005); a vector
/// whose remainder is below 10⁻¹⁰ of its own norm is dependent and dropped, so s is the rank.
/// Deterministic, and the input is replicated: every rank gets the same basis.
func orthonormalBasis(_ vectors: [[Double]]) -> [Double] {
    guard let n = vectors.first?.count else { return [] }
    var basis: [[Double]] = []
    for vector in vectors {
        let norm0 = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm0 > 0 else { continue }
        var w = vector
        for _ in 0..<2 {
            for b in basis {
                var d = 0.0
                for i in 0..<n { d += b[i] * w[i] }
                for i in 0..<n { w[i] -= d * b[i] }
            }
        }
        let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > 1e-10 * norm0 { basis.append(w.map { $0 / norm }) }
    }
    return basis.flatMap { $0 }
}
