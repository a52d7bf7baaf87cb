import Cluster
import CriticalPoints
import Curvature

/// `[critical]`: `landscape critical`'s search (GEOMETRY.md §6, docs/critical.md has the defaults'
/// reasons). Declared once in `ConfigurationKey.all` like `[path]`: one setting whether typed as a
/// flag or written in --config, refused in the user's words, rendered into config.toml, and the
/// checkpoint's identity is the rendered keys.
public struct CriticalSpecification: Sendable, Equatable, Codable {
    /// Where the starting points come from.
    public enum Start: String, CaseIterable, Sendable, Codable {
        /// The seed's initialisation at seed + k, scaled by `scales[k mod count]`.
        case initialization = "init"
        /// The states of the [train] run every `trajectoryEvery` steps (step 0 first).
        case trajectory
        /// Parameter files (`landscape critical --points`).
        case files
        /// The [train] run's whole trajectory (train.steps), its states every `trajectoryEvery`
        /// steps the candidates: the K whose energies are nearest K levels evenly spaced from the
        /// first state's energy to the lowest — starts spread uniformly in loss, not in steps.
        case trajectoryLoss = "trajectory-loss"
    }

    public var method = CriticalPointSearch.Method.newton
    /// Converged when ‖∇L‖ ≤ tolerance · ‖∇L‖ at the start.
    public var tolerance = 1e-10
    /// Newton iterations per start.
    public var iterations = 100
    /// MINRES iterations per Newton step (nil: M, enough in exact arithmetic).
    public var innerIterations: Int?
    /// The longest step ‖θₖ₊₁ − θₖ‖.
    public var maximumStep = 1.0
    /// The number of starting points (`files`: set from the files given).
    public var starts = 8
    public var start = Start.initialization
    /// `init`: the initialisation's scale factors, used in turn.
    public var scales = [1.0]
    /// `trajectory`: steps of training between starts.
    public var trajectoryEvery = 100
    /// Two converged points are the same critical point (up to the network's symmetries) when
    /// their energies and every eigenvalue agree within this fraction of the larger |ε|, max|λ|.
    public var duplicateTolerance = 1e-6
    /// Searches that stopped (budget, stall) within this fraction of their start's ‖∇L‖ are
    /// near-critical points: reported and fitted separately, never counted as critical.
    public var nearCriticalTolerance = 1e-3
    /// How the spectrum at each point is taken: exact (assembled, decomposed) or by Lanczos.
    public var curvature = CurvatureMethod.auto
    /// Ranks per group (groups take starts side by side); 0 = one group of all ranks.
    public var groupSize = 0
    /// Where the groups lie: each on one node (default) or anywhere (`GroupPlacement`).
    public var groupPlacement = GroupPlacement.node
    /// eigenvector-following, min-mode-following: the index k aimed at (nil: 0, minima).
    public var index: Int?
    /// eigenvector-following, min-mode-following: the first trust radius of each subspace (`maximumStep` caps it).
    public var trustRadius = 0.1
    /// λ of the L2 term λ‖θ‖²/2 the energy gains (0: the loss alone).
    public var l2 = 0.0
    /// Deflate the model's continuous symmetries from the steps and the index count.
    public var projectSymmetries = false
    /// min-mode-following: switch to exact eigenvector-following steps once ‖∇E‖ ≤ polish × ‖∇E‖ at
    /// the start (or when the matrix-free steps find no acceptable step); nil: matrix-free throughout.
    public var polish: Double?

    public init() {}

    /// Every refusal of the numbers alone, naming the `critical.*` key (shown as the user wrote it).
    public func validate() throws {
        guard tolerance > 0, tolerance.isFinite else {
            throw InputError(setting: "critical.tolerance", "= \(tolerance): give a finite relative gradient-norm tolerance > 0 (e.g. 1e-10)")
        }
        guard maximumStep > 0, maximumStep.isFinite else { throw InputError(setting: "critical.max-step", "= \(maximumStep): give a finite step length > 0") }
        guard starts >= 1 else { throw InputError(setting: "critical.starts", "= \(starts): give at least 1 starting point") }
        guard iterations >= 1 else { throw InputError(setting: "critical.iterations", "= \(iterations): give a whole number ≥ 1") }
        if let inner = innerIterations, inner < 1 {
            throw InputError(setting: "critical.inner-iterations", "= \(inner): give a whole number ≥ 1 (MINRES iterations per Newton step)")
        }
        guard !scales.isEmpty else { throw InputError(setting: "critical.scales", "is empty: give at least one scale factor, e.g. 0.5,1,2") }
        for s in scales where !(s > 0 && s.isFinite) { throw InputError(setting: "critical.scales", "holds \(s), not a finite scale factor > 0") }
        guard trajectoryEvery >= 1 else { throw InputError(setting: "critical.trajectory-every", "= \(trajectoryEvery): give a number of training steps ≥ 1") }
        if start == .trajectory, (starts - 1).multipliedReportingOverflow(by: trajectoryEvery).overflow {
            throw InputError(setting: "critical.trajectory-every", "= \(trajectoryEvery) with critical.starts = \(starts): the trajectory would need more than 2⁶³ training steps; give fewer starts or fewer steps between them")
        }
        guard duplicateTolerance >= 0, duplicateTolerance.isFinite else {
            throw InputError(setting: "critical.duplicate-tolerance", "= \(duplicateTolerance): give a finite fraction ≥ 0")
        }
        guard nearCriticalTolerance >= tolerance, nearCriticalTolerance.isFinite else {
            throw InputError(setting: "critical.near-critical", "= \(nearCriticalTolerance): give a finite fraction ≥ critical.tolerance = \(tolerance)")
        }
        if let index, index < 0 { throw InputError(setting: "critical.index", "= \(index): give an index k ≥ 0 (the number of negative eigenvalues aimed at)") }
        if index != nil, !method.targetsIndex {
            throw InputError(setting: "critical.index", "needs a method that aims at an index: critical.method = \(method.rawValue) finds whatever critical point is nearest; give --method eigenvector-following or min-mode-following")
        }
        guard trustRadius > 0, trustRadius.isFinite else { throw InputError(setting: "critical.trust-radius", "= \(trustRadius): give a finite radius > 0") }
        if let polish {
            guard polish > 0, polish.isFinite else {
                throw InputError(setting: "critical.polish", "= \(polish): give a finite fraction > 0 of the start's ‖∇E‖ below which the exact steps take over (e.g. 1e-4)")
            }
            guard method == .minModeFollowing else {
                throw InputError(setting: "critical.polish", "applies to --method min-mode-following (critical.method = \(method.rawValue) takes the same steps throughout); drop it, or give --method min-mode-following")
            }
        }
        guard l2 >= 0, l2.isFinite else { throw InputError(setting: "critical.l2", "= \(l2): give a finite L2 weight ≥ 0 (the energy gains λ‖θ‖²/2)") }
        guard groupSize >= 0 else { throw InputError(setting: "critical.group-size", "= \(groupSize): give 0 (one group) or a divisor of the number of ranks") }
    }
}
