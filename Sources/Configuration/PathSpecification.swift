import Cluster
import Curvature

/// `[path]`: `landscape path` and the connectivity study's paths — nudged elastic band, AutoNEB or
/// dynamic string sampling (GEOMETRY.md §3–5, docs/path.md has the defaults' reasons). Declared
/// once in `ConfigurationKey.all`, so `--pivots 6` on the command line, `pivots = 6` under
/// `[path]` in a --config file and in a study's file are one setting, refused in the words the
/// user wrote, rendered into config.toml, and the path checkpoint's identity is these keys as
/// rendered (`SettingsIdentity(configuration:)`), never a struct's description.
public struct PathSpecification: Sendable, Equatable, Codable {
    public enum Method: String, CaseIterable, Sendable, Codable {
        case neb, autoneb, string
    }

    public enum Optimizer: String, CaseIterable, Sendable, Codable {
        case fire, momentum
    }

    /// Where dynamic string sampling splits a segment whose line rises above the level.
    public enum SplitPoint: String, CaseIterable, Sendable, Codable {
        case maximum, midpoint
    }

    public var method = Method.autoneb
    /// Interior pivots of the band (NEB), or of AutoNEB's first cycle.
    public var pivots = 4
    /// AutoNEB's budget of interior pivots (NEB and the string do not read it).
    public var maxPivots = 16
    /// Spring constant k of F∥ = k(|p_{i+1} − pᵢ| − |pᵢ − p_{i−1}|)τ.
    public var spring = 1.0
    /// The highest pivot climbs to the saddle (Henkelman et al. 2000), in NEB and AutoNEB's final run.
    public var climb = false
    /// Convergence: every pivot's |F⊥| (the climbing pivot's |F|) at or below this.
    public var tolerance = 1e-4
    /// NEB's iteration budget (AutoNEB: of its final run).
    public var iterations = 2000
    /// AutoNEB: NEB iterations per cycle, and the most cycles.
    public var cycleIterations = 200
    public var cycles = 6
    /// AutoNEB: a segment gets a new pivot where its sampled maximum exceeds its higher pivot by
    /// more than this fraction of the band's energy range.
    public var insertThreshold = 0.1
    /// Loss samples on each segment between neighbouring pivots (AutoNEB's test, the dense profile).
    public var segmentPoints = 9
    /// Heavy-ball momentum by default: FIRE's growing time step pumps energy into the band's
    /// non-conservative force field on the networks we measured (docs/path.md).
    public var optimizer = Optimizer.momentum
    /// Momentum's learning rate, or FIRE's base time step.
    public var stepSize = 0.02
    public var momentum = 0.9
    /// The longest move of a pivot in one iteration, as a fraction of the first band's pivot
    /// spacing |B − A| / (P + 1).
    public var maximumStep = 0.1
    /// Dynamic string sampling: the loss level λ, where a new point splits a segment, the training
    /// budget of each new point, and the most points the string may gain.
    public var level: Double?
    public var split = SplitPoint.maximum
    public var stringSteps = 2000
    public var stringPoints = 16
    /// A checkpoint every this many band iterations (0: only on a signal). Changes no result.
    public var checkpointEvery = 200
    /// The exact inertia also at every K-th pivot (besides the highest).
    public var indexEvery: Int?
    /// How the curvature at the pivots is taken: exact (assembled, decomposed) or by Lanczos.
    public var curvature = CurvatureMethod.auto
    /// Ranks per group (groups take pivots side by side); 0 = one group of all ranks.
    public var groupSize = 0
    /// Where the groups lie: each on one node (default) or anywhere (`GroupPlacement`).
    public var groupPlacement = GroupPlacement.node
    /// Before the band, each end point is polished to a certified minimum by eigenvector-following
    /// at index 0 (exact Hessian); after a band (NEB, AutoNEB), its highest pivot is refined to a
    /// certified index-1 saddle the same way (docs/path.md "Certified ends and saddle").
    public var polish = false
    /// λ of the L2 term λ‖θ‖²/2: the band, the profile, the curvature and the polish all run on
    /// the energy L + λ‖θ‖²/2 (0: the loss alone).
    public var l2 = 0.0

    public init() {}

    /// Pivots whose band the memory plan must hold: AutoNEB's budget, the string's, or NEB's band.
    public var largestBand: Int {
        switch method {
        case .autoneb: maxPivots
        case .string: stringPoints
        case .neb: pivots
        }
    }

    /// Every refusal of the numbers alone, naming the `path.*` key (shown as the flag or key the
    /// user wrote: `InputError.naming`).
    public func validate() throws {
        func positive(_ value: Double, _ key: String) throws {
            guard value > 0, value.isFinite else { throw InputError(setting: key, "= \(value): give a finite number > 0") }
        }
        guard pivots >= 1 else { throw InputError(setting: "path.pivots", "= \(pivots): a band needs at least 1 interior pivot") }
        if method == .autoneb, maxPivots < pivots {
            throw InputError(setting: "path.max-pivots", "= \(maxPivots) is below path.pivots = \(pivots); give AutoNEB a budget ≥ its first cycle's pivots")
        }
        guard spring >= 0, spring.isFinite else { throw InputError(setting: "path.spring", "= \(spring): give a finite spring constant ≥ 0") }
        try positive(tolerance, "path.tolerance")
        try positive(stepSize, "path.step-size")
        try positive(maximumStep, "path.max-step")
        guard momentum >= 0, momentum < 1 else { throw InputError(setting: "path.momentum", "= \(momentum): give μ in [0, 1)") }
        guard insertThreshold >= 0, insertThreshold.isFinite else {
            throw InputError(setting: "path.insert-threshold", "= \(insertThreshold): give a fraction ≥ 0")
        }
        for (key, value) in [("path.iterations", iterations), ("path.cycle-iterations", cycleIterations), ("path.cycles", cycles),
                             ("path.segment-points", segmentPoints), ("path.string-steps", stringSteps), ("path.string-points", stringPoints)] where value < 1 {
            throw InputError(setting: key, "= \(value): give a whole number ≥ 1")
        }
        guard checkpointEvery >= 0 else {
            throw InputError(setting: "path.checkpoint-every", "= \(checkpointEvery): give 0 (on signals only) or a number of iterations")
        }
        if let indexEvery, indexEvery < 1 { throw InputError(setting: "path.index-every", "= \(indexEvery): give a step of at least 1 pivot") }
        guard groupSize >= 0 else { throw InputError(setting: "path.group-size", "= \(groupSize): give 0 (one group) or a divisor of the number of ranks") }
        guard l2 >= 0, l2.isFinite else { throw InputError(setting: "path.l2", "= \(l2): give a finite L2 weight ≥ 0 (the energy gains λ‖θ‖²/2)") }
        if l2 > 0, method == .string {
            throw InputError(setting: "path.l2", "applies to methods neb and autoneb: dynamic string sampling trains its new points with the [train] settings, which have no L2 term; drop it, or give --method autoneb")
        }
        if method == .string {
            guard let level else {
                throw InputError(setting: "path.level", "is missing: method string (dynamic string sampling) connects the end points at a loss level λ; give one above both end points' losses")
            }
            guard level.isFinite else { throw InputError(setting: "path.level", "= \(level): give a finite loss level") }
        } else if level != nil {
            throw InputError(setting: "path.level", "applies to method string only; NEB and AutoNEB find the lowest path, not one below a level")
        }
    }
}

extension PathSpecification {
    /// Every key decoded when present, else its default: summaries written before a setting existed
    /// (path.polish, path.l2) still decode, so --resume and studies read their finished pairs.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = PathSpecification()
        method = try c.decodeIfPresent(Method.self, forKey: .method) ?? defaults.method
        pivots = try c.decodeIfPresent(Int.self, forKey: .pivots) ?? defaults.pivots
        maxPivots = try c.decodeIfPresent(Int.self, forKey: .maxPivots) ?? defaults.maxPivots
        spring = try c.decodeIfPresent(Double.self, forKey: .spring) ?? defaults.spring
        climb = try c.decodeIfPresent(Bool.self, forKey: .climb) ?? defaults.climb
        tolerance = try c.decodeIfPresent(Double.self, forKey: .tolerance) ?? defaults.tolerance
        iterations = try c.decodeIfPresent(Int.self, forKey: .iterations) ?? defaults.iterations
        cycleIterations = try c.decodeIfPresent(Int.self, forKey: .cycleIterations) ?? defaults.cycleIterations
        cycles = try c.decodeIfPresent(Int.self, forKey: .cycles) ?? defaults.cycles
        insertThreshold = try c.decodeIfPresent(Double.self, forKey: .insertThreshold) ?? defaults.insertThreshold
        segmentPoints = try c.decodeIfPresent(Int.self, forKey: .segmentPoints) ?? defaults.segmentPoints
        optimizer = try c.decodeIfPresent(Optimizer.self, forKey: .optimizer) ?? defaults.optimizer
        stepSize = try c.decodeIfPresent(Double.self, forKey: .stepSize) ?? defaults.stepSize
        momentum = try c.decodeIfPresent(Double.self, forKey: .momentum) ?? defaults.momentum
        maximumStep = try c.decodeIfPresent(Double.self, forKey: .maximumStep) ?? defaults.maximumStep
        level = try c.decodeIfPresent(Double.self, forKey: .level)
        split = try c.decodeIfPresent(SplitPoint.self, forKey: .split) ?? defaults.split
        stringSteps = try c.decodeIfPresent(Int.self, forKey: .stringSteps) ?? defaults.stringSteps
        stringPoints = try c.decodeIfPresent(Int.self, forKey: .stringPoints) ?? defaults.stringPoints
        checkpointEvery = try c.decodeIfPresent(Int.self, forKey: .checkpointEvery) ?? defaults.checkpointEvery
        indexEvery = try c.decodeIfPresent(Int.self, forKey: .indexEvery)
        curvature = try c.decodeIfPresent(CurvatureMethod.self, forKey: .curvature) ?? defaults.curvature
        groupSize = try c.decodeIfPresent(Int.self, forKey: .groupSize) ?? defaults.groupSize
        groupPlacement = try c.decodeIfPresent(GroupPlacement.self, forKey: .groupPlacement) ?? defaults.groupPlacement
        polish = try c.decodeIfPresent(Bool.self, forKey: .polish) ?? defaults.polish
        l2 = try c.decodeIfPresent(Double.self, forKey: .l2) ?? defaults.l2
    }
}
