import Cluster
import DistributedLinearAlgebra

/// A symmetric linear operator A ∈ R^{n×n} applied collectively: every rank of `communicator`
/// calls `apply` with the same replicated block V (n × B, column-major: direction j is
/// `V[j·n ..< (j+1)·n]`) and receives the same W = A V. Solvers (Lanczos, SLQ, Hutchinson,
/// Newton–MINRES, NEB forces) take an operator, not a matrix: the Hessian of a data-parallel loss
/// and a block-cyclic matrix look the same to them.
public protocol SymmetricOperator {
    /// n.
    var dimension: Int { get }
    /// The ranks that apply the operator together.
    var communicator: Communicator { get }
    /// W = A V for `count` directions (collective).
    func apply(_ directions: [Double], count: Int) throws -> [Double]
}

extension SymmetricOperator {
    /// A v for one direction.
    public func apply(_ direction: [Double]) throws -> [Double] { try apply(direction, count: 1) }
}

/// A symmetric operator known by its eigendecomposition A = Z Λ Zᵀ (Z orthogonal): the assembled
/// Hessian after its eigensolve. Any function of A is then two products with Z.
public protocol EigendecomposedOperator: SymmetricOperator {
    /// λ, ascending; column i of Z belongs to eigenvalues[i].
    var eigenvalues: [Double] { get }
    /// Zᵀv: v's coordinates in the eigenbasis (collective).
    func coordinates(of v: [Double]) throws -> [Double]
    /// Z c (collective).
    func vector(from c: [Double]) throws -> [Double]
    /// The last `symmetryModes` eigenpairs span deflated symmetry directions, not curvature.
    var symmetryModes: Int { get }
}

extension EigendecomposedOperator {
    public var symmetryModes: Int { 0 }
}

/// A + σI: the Hessian of L + σ‖θ‖²/2 from the Hessian of L.
public struct ShiftedOperator: SymmetricOperator {
    public let base: any SymmetricOperator
    public let shift: Double
    public init(_ base: any SymmetricOperator, shift: Double) { (self.base, self.shift) = (base, shift) }
    public var dimension: Int { base.dimension }
    public var communicator: Communicator { base.communicator }
    public func apply(_ directions: [Double], count: Int) throws -> [Double] {
        var w = try base.apply(directions, count: count)
        for i in w.indices { w[i] += shift * directions[i] }
        return w
    }
}

/// A distributed dense matrix is an operator: each rank multiplies its local piece, one allreduce
/// adds the pieces (`BlockCyclicMatrix.multiply(replicated:count:)`).
extension BlockCyclicMatrix: SymmetricOperator {
    public var dimension: Int { rows }
    public var communicator: Communicator { grid.communicator }
    public func apply(_ directions: [Double], count: Int) throws -> [Double] {
        try multiply(replicated: directions, count: count)
    }
}
