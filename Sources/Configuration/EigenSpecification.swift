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
    /// The relative thresholds τ of the bulk counts: |λ| ≤ τ·max|λ| is the bulk "at zero" as
    /// Sagun et al. draw it, far above the round-off that `zeroTolerance` separates.
    public var bulkTolerances = RelativeInertia.defaultTolerances

    public init() {}

    public func validate() throws {
        if let zeroTolerance, !(zeroTolerance >= 0 && zeroTolerance.isFinite) {
            throw InputError(setting: "eig.zero-tolerance", "= \(zeroTolerance): give a finite tolerance ≥ 0 (or leave it unset: M·ε·max|λ|)")
        }
        guard !bulkTolerances.isEmpty else {
            throw InputError(setting: "eig.bulk-tolerances", "is empty: give at least one relative threshold, e.g. 1e-4,1e-3")
        }
        for τ in bulkTolerances where !(τ > 0 && τ < 1) {
            throw InputError(setting: "eig.bulk-tolerances", "holds \(τ): each relative threshold τ (bulk: |λ| ≤ τ·max|λ|) must lie in (0, 1), e.g. 1e-4,1e-3")
        }
    }
}
