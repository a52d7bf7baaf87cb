import Cluster
import DistributedLinearAlgebra

/// `[eig]`: how an exact spectrum is computed and read — the eigensolver and the zero tolerance
/// of the inertia. `landscape spectrum` (and every spectrum a sweep or a study takes) reads it;
/// `landscape eig`, which runs on a matrix file without a run configuration, has the same two
/// settings as flags of its own.
public struct EigenSpecification: Sendable, Equatable {
    /// auto (the fastest measured for the job), elpa, scalapack, or one method.
    public var solver = EigensolverChoice.auto
    /// Eigenvalues with |λ| ≤ this count as zero (nil: M·ε·max|λ|, the round-off of the solve).
    public var zeroTolerance: Double?

    public init() {}

    public func validate() throws {
        if let zeroTolerance, !(zeroTolerance >= 0 && zeroTolerance.isFinite) {
            throw InputError(setting: "eig.zero-tolerance", "= \(zeroTolerance): give a finite tolerance ≥ 0 (or leave it unset: M·ε·max|λ|)")
        }
    }
}
