import Cluster
import Krylov
import Objectives

/// `[top]`: `landscape top`, the extreme eigenpairs by Lanczos.
public struct TopSpecification: Sendable, Equatable {
    public var curvature: CurvatureKind = .hessian
    public var count = 10
    public var which: SpectrumEnd = .largest
    public var tolerance = 1e-8
    public var blockSize = 4
    /// 0: the largest basis the memory budget holds, at most min(M, max-matvecs).
    public var basis = 0
    public var maxMatvecs = 2000
    public var checkMultiplicity = false

    public func validate() throws {
        guard count >= 1 else { throw InputError(setting: "top.k", "= \(count) must be ≥ 1") }
        guard tolerance > 0, tolerance < 1 else { throw InputError(setting: "top.tolerance", "= \(tolerance) must be in (0, 1); 1e-8 is a good default") }
        guard blockSize >= 1 else { throw InputError(setting: "top.block-size", "= \(blockSize) must be ≥ 1") }
        guard basis >= 0 else { throw InputError(setting: "top.basis", "= \(basis) must be ≥ 0 (0: as large as the memory budget allows)") }
        guard maxMatvecs >= 1 else { throw InputError(setting: "top.max-matvecs", "= \(maxMatvecs) must be ≥ 1") }
    }
}

/// `[density]`: `landscape density`, stochastic Lanczos quadrature.
public struct DensitySpecification: Sendable, Equatable {
    public var curvature: CurvatureKind = .hessian
    public var probes = 10
    public var steps = 80
    public var distribution: ProbeDistribution = .rademacher
    /// The Gaussian broadening σ of the plotted density; 0: 1 % of the nodes' range.
    public var sigma = 0.0
    public var gridPoints = 1000
    /// Ranks per group; groups run probes in parallel (0: all ranks in one group).
    public var groupSize = 0
    /// Where the groups lie: each on one node (default) or anywhere (`GroupPlacement`).
    public var groupPlacement = GroupPlacement.node
    /// Probes of a group applied together.
    public var blockSize = 4

    public func validate() throws {
        guard probes >= 1 else { throw InputError(setting: "density.probes", "= \(probes) must be ≥ 1") }
        guard steps >= 2 else { throw InputError(setting: "density.steps", "= \(steps) must be ≥ 2 (m Lanczos steps give a quadrature exact to degree 2m − 1)") }
        guard sigma >= 0, sigma.isFinite else { throw InputError(setting: "density.sigma", "= \(sigma) must be ≥ 0 (0: 1 % of the spectrum's range)") }
        guard gridPoints >= 2 else { throw InputError(setting: "density.grid-points", "= \(gridPoints) must be ≥ 2") }
        guard groupSize >= 0 else { throw InputError(setting: "density.group-size", "= \(groupSize) must be ≥ 0 (0: one group of all ranks)") }
        guard blockSize >= 1 else { throw InputError(setting: "density.block-size", "= \(blockSize) must be ≥ 1") }
    }
}

/// `[trace]`: `landscape trace`, Hutchinson and Hutch++.
public struct TraceSpecification: Sendable, Equatable {
    public var curvature: CurvatureKind = .hessian
    public var method: TraceMethod = .hutchinson
    public var power = 1
    public var distribution: ProbeDistribution = .rademacher
    public var tolerance = 1e-2
    public var maxMatvecs = 1000
    public var minimumSamples = 10
    public var blockSize = 8

    public func validate() throws {
        guard power == 1 || power == 2 else { throw InputError(setting: "trace.power", "= \(power) must be 1 (tr A) or 2 (tr A²)") }
        guard tolerance >= 0, tolerance.isFinite else { throw InputError(setting: "trace.tolerance", "= \(tolerance) must be ≥ 0 (0: spend the whole budget)") }
        guard maxMatvecs >= (method == .hutchPlusPlus ? 3 : 1) else {
            throw InputError(setting: "trace.max-matvecs", "= \(maxMatvecs) must be ≥ \(method == .hutchPlusPlus ? "3 for hutch++ (a third each for the sketch, its trace and the residual)" : "1")")
        }
        guard minimumSamples >= 2 else { throw InputError(setting: "trace.min-samples", "= \(minimumSamples) must be ≥ 2 (a standard error needs two samples)") }
        guard blockSize >= 1 else { throw InputError(setting: "trace.block-size", "= \(blockSize) must be ≥ 1") }
    }
}
