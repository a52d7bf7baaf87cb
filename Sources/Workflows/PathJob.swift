import Cluster
import Configuration
import Datasets
import Foundation
import Geometry
import Networks
import Objectives
import Optimization
import Planning
import Support

/// `landscape path`: a path of low loss between two minima — nudged elastic band, AutoNEB or
/// dynamic string sampling (GEOMETRY.md §3–5, docs/path.md) — and the exact Hessian inertia at
/// its highest pivot, which says what the top of the path is: a saddle, a flat pass, or a slope.
/// With more than two minima, every pair is connected and the minimum spanning tree of the
/// saddle energies is written with its disconnectivity graph.
///
/// Every rank holds the whole band (P × M values) and moves it identically; the pivots' losses
/// and gradients are what costs, and rank groups take pivots side by side, data-parallel inside a
/// group (`RankGroups.share`). World rank 0 writes.
public struct PathJob {
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

    /// The method's numbers (docs/path.md has the defaults' reasons).
    public struct Settings: Sendable, Equatable, Codable {
        public var method = Method.autoneb
        /// Interior pivots of the band (NEB), or of AutoNEB's first cycle.
        public var pivots = 4
        /// AutoNEB's budget of interior pivots.
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
        /// A checkpoint every this many band iterations (0: only on a signal).
        public var checkpointEvery = 200

        public init() {}

        /// Every refusal of the numbers alone, in the flags' words.
        public func validate() throws {
            func positive(_ value: Double, _ flag: String) throws {
                guard value > 0, value.isFinite else { throw InputError("\(flag) \(value): give a finite number > 0") }
            }
            guard pivots >= 1 else { throw InputError("--pivots \(pivots): a band needs at least 1 interior pivot") }
            guard maxPivots >= pivots else { throw InputError("--max-pivots \(maxPivots) is below --pivots \(pivots); give a budget ≥ the first cycle's pivots") }
            guard spring >= 0, spring.isFinite else { throw InputError("--spring \(spring): give a finite spring constant ≥ 0") }
            try positive(tolerance, "--tolerance")
            try positive(stepSize, "--step-size")
            try positive(maximumStep, "--max-step")
            guard momentum >= 0, momentum < 1 else { throw InputError("--band-momentum \(momentum): give μ in [0, 1)") }
            guard insertThreshold >= 0, insertThreshold.isFinite else { throw InputError("--insert-threshold \(insertThreshold): give a fraction ≥ 0") }
            for (flag, value) in [("--iterations", iterations), ("--cycle-iterations", cycleIterations), ("--cycles", cycles),
                                  ("--segment-points", segmentPoints), ("--string-steps", stringSteps), ("--string-points", stringPoints)] where value < 1 {
                throw InputError("\(flag) \(value): give a whole number ≥ 1")
            }
            guard checkpointEvery >= 0 else { throw InputError("--band-checkpoint-every \(checkpointEvery): give 0 (on signals only) or a number of iterations") }
            if method == .string {
                guard let level else { throw InputError("--method string needs --level λ: the loss level at which to connect the end points") }
                guard level.isFinite else { throw InputError("--level \(level): give a finite loss level") }
            } else if level != nil {
                throw InputError("--level applies to --method string; NEB and AutoNEB find the lowest path, not one below a level")
            }
        }
    }

    public var configuration: RunConfiguration
    /// Run on this model instead of one built from `configuration.model` (library callers; `JobModel.swift`).
    public var model: (any Model)? = nil
    /// Two end points, or (`--minima`) three or more minima to connect pairwise.
    public var endpoints: [String]
    public var settings: Settings
    /// The exact inertia also at every K-th pivot (besides the highest).
    public var indexEvery: Int?
    public var curvatureMethod = InterpolateJob.CurvatureMethod.auto
    /// Ranks per group; 0 = one group of all ranks.
    public var groupSize = 0
    public var output: RunDirectory
    public var memoryPerRank: Int?
    public var resume = false
    public var quiet = false

    public init(configuration: RunConfiguration, endpoints: [String], settings: Settings, output: RunDirectory) {
        self.configuration = configuration
        self.endpoints = endpoints
        self.settings = settings
        self.output = output
    }

    /// Everything a path needs once the inputs are checked.
    struct Context: RunContext {
        /// The job's run: world, progress, the run header.
        var run: JobRun
        let groups: RankGroups
        let training: DataParallelObjective
        let heldOut: DataParallelObjective?
        let model: any Model
        /// The end points (minima) and their training losses.
        let points: [[Double]]
        let losses: [Double]
        let curvatureExact: Bool
        var m: Int { model.parameterCount }
        var group: Communicator { groups.group }
    }

    public func run(on world: Communicator) throws {
        try settings.validate()
        try JobRun.perform("path", configuration: configuration, model: model, output: output, resuming: resume,
                           quiet: quiet, on: world) { run in
            let context = try prepare(run)
            defer { context.groups.free() }
            try run.own {
                if !resume, FileManager.default.fileExists(atPath: output.file("summary.json")) {
                    throw InputError("\(output.named) already holds results (summary.json); choose another --out (or --resume a stopped run)")
                }
            }
            if context.points.count == 2 {
                let result = try connect(0, 1, into: output, context)
                context.progress.say("path: \(result.verdict)")
            } else {
                try connectAll(context)
            }
        }
    }

    /// Data, groups, the end points; every refusal before anything is written.
    func prepare(_ run: JobRun) throws -> Context {
        var run = run
        let world = run.world
        guard endpoints.count >= 2 else { throw InputError("--minima needs at least two minima (three or more to build a tree)") }
        let groups = try RankGroups.split(world, size: groupSize) { InputError("--group-size \(groupSize) \($0)") }
        do {
            let inputs = try run.inputs(configuration, given: model, on: groups.group)
            let (split, model, m) = (inputs.split, inputs.model, inputs.m)
            let training = DataParallelObjective(model: model, dataset: split.training, communicator: groups.group)
            let heldOut = split.heldOut.map { DataParallelObjective(model: model, dataset: $0, communicator: groups.group) }
            let flags = endpoints.count == 2 ? ["--from", "--to"] : endpoints.indices.map { "--minima #\($0 + 1)" }
            let points = try zip(endpoints, flags).map { try TrainJob.readVector($0, count: m, on: world, flag: $1) }
            run.header.point = endpoints.count == 2 ? "\(endpoints[0]) → \(endpoints[1])" : "\(endpoints.count) minima"
            for i in points.indices {
                for j in points.indices where j > i && points[i] == points[j] {
                    throw InputError("\(flags[i]) and \(flags[j]) are the same point ('\(endpoints[i])', '\(endpoints[j])'); a path needs two distinct end points")
                }
            }
            // The band is replicated: the pivots, their gradients, the forces and the optimiser's
            // velocity, (P + 2) × M values each, plus the model's working set.
            let pivots = settings.method == .autoneb ? settings.maxPivots : settings.method == .string ? settings.stringPoints : settings.pivots
            let bytes = 4 * 8 * Double(pivots + 2) * Double(m) + 64 * 1024 * 1024
            let budget = try world.allreduce(memoryPerRank ?? MemoryPlan.defaultBudget(on: world), .min)
            if bytes > Double(budget) {
                let fit = max(0, Int((Double(budget) - 64 * 1024 * 1024) / (32 * Double(m))) - 2)
                throw InputError("\(pivots) pivots of M = \(m) parameters need ≈ \(formatBytes(Int(min(bytes, 1e18)))) per rank (4 × (P + 2) × M doubles: pivots, gradients, forces, velocity), \(formatBytes(budget)) available; use at most \(fit) pivots (or set --memory-per-rank)")
            }
            let losses = try points.map { try training.evaluate($0, gradient: false).loss }
            if settings.method == .string, let level = settings.level, let high = losses.max(), level <= high {
                let which = losses.count == 2 ? (losses[0] >= losses[1] ? "--from" : "--to") : "the highest minimum"
                throw InputError("--level \(level) is not above the end points' losses (\(which): \(high)); dynamic string sampling connects points below λ — give a level above \(high)")
            }
            let exact = curvatureMethod.isExact(dimension: m)
            if exact {
                try requireExactCurvatureFits(dimension: m, groupSize: groups.group.size, budget: budget, what: "the exact index at the highest pivot")
            }
            if let k = indexEvery, k < 1 { throw InputError("--index-every \(k): give a step of at least 1 pivot") }
            return Context(run: run, groups: groups, training: training, heldOut: heldOut, model: model,
                           points: points, losses: losses, curvatureExact: exact)
        } catch {
            groups.free()
            throw error
        }
    }

    /// What a path's results depend on besides its configuration and end points: the method's
    /// settings and the analysis made at its pivots.
    var settingsIdentity: SettingsIdentity {
        var identity = SettingsIdentity()
        var band = settings
        band.checkpointEvery = 0   // how often the band is saved changes no result
        identity.add(fields: band, prefix: "path")
        identity["path.curvature"] = curvatureMethod.rawValue
        identity["path.index-every"] = indexEvery.map(String.init) ?? "none"
        return identity
    }

    /// The identity of a pair's run, in its checkpoint and its summary: the configuration, the
    /// settings, the end points' bits — a resumed run continues or keeps only the very same path.
    func identity(_ a: [Double], _ b: [Double]) -> SettingsIdentity {
        var identity = SettingsIdentity(configuration: configuration)
        identity.add(settingsIdentity)
        identity.depend(on: "the end points", digest: bitDigest(a, b))
        return identity
    }
}
