import Cluster
import Configuration
import CriticalJobs
import Curvature
import Jobs
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
/// The band is sharded by rows of θ over the world (`RowPartition`): each rank holds its M/P rows
/// of every pivot, its gradient, force and velocity, and the geometry's sums (lengths, tangents,
/// projections, FIRE's power) are allreduced scalars. The pivots' losses and gradients are what
/// costs: rank groups take pivots side by side, each pivot whole on its group's ranks for the
/// time of its evaluation, data-parallel inside the group (`RankGroups.shareOverRows`). Output
/// files of pivots are streamed to world rank 0, which writes.
public struct PathJob {
    public typealias Method = PathSpecification.Method
    public typealias Optimizer = PathSpecification.Optimizer
    public typealias SplitPoint = PathSpecification.SplitPoint
    /// The method's numbers: the configuration's `[path]` table.
    public typealias Settings = PathSpecification

    public var configuration: RunConfiguration
    /// Run on this model instead of one built from `configuration.model` (library callers; `JobModel.swift`).
    public var model: (any Model)? = nil
    /// Two end points, or (`--minima`) three or more minima to connect pairwise.
    public var endpoints: [String]
    /// The `[path]` settings of the configuration.
    public var settings: Settings {
        get { configuration.path }
        set { configuration.path = newValue }
    }
    package var indexEvery: Int? { settings.indexEvery }
    package var curvatureMethod: CurvatureMethod { settings.curvature }
    package var groupSize: Int { settings.groupSize }
    public var output: RunDirectory
    public var memoryPerRank: Int?
    public var resume = false
    public var quiet = false

    public init(configuration: RunConfiguration, endpoints: [String], output: RunDirectory) {
        self.configuration = configuration
        self.endpoints = endpoints
        self.output = output
    }

    /// Everything a path needs once the inputs are checked.
    package struct Context: GroupedRunContext {
        /// The job's run: world, progress, the run header.
        package var run: JobRun
        package let groups: RankGroups
        /// The data loss L, and the energy L + λ‖θ‖²/2 (`path.l2`) the band, the profile and the
        /// curvature measure — the energy's one definition, so a polished end is a minimum of it.
        package let training: DataParallelObjective
        package let energy: EnergyObjective
        package let heldOut: DataParallelObjective?
        package let model: any Model
        /// The end points as given (what the identity digests), the points the paths join (the
        /// polished ones with `--polish`) and their energies.
        package let given: [[Double]]
        package let points: [[Double]]
        package let losses: [Double]
        /// `--polish`: what each end's polish reached (parallel to `points`).
        package let polished: [CertifiedPoint]?
        package let curvatureExact: Bool
        /// `--polish`: the group's exact Hessian for eigenvector-following.
        package let assembler: HessianAssembler?
        /// This rank's rows of θ in every band, string and velocity (over the world).
        package let rows: RowPartition
        /// Sums over the band's rows, made whole over the world.
        package var sums: ShardSums { rows.sums(on: run.world) }
    }

    public func run(on world: Communicator) throws {
        try JobRun.perform("path", configuration: configuration, model: model, output: output, resuming: resume,
                           quiet: quiet, on: world) { run in
            let context = try prepare(run)
            defer {
                context.assembler?.release()
                context.groups.free()
            }
            try run.own { try output.refuseFinishedRun(resuming: resume) }
            if context.points.count == 2 {
                let result = try connect(0, 1, into: output, context)
                context.progress.say("path: \(result.verdict)")
            } else {
                try connectAll(context)
            }
        }
    }

    /// Data, groups, the end points; every refusal before anything is written.
    package func prepare(_ run: JobRun) throws -> Context {
        var run = run
        let world = run.world
        guard endpoints.count >= 2 else { throw InputError("--minima needs at least two minima (three or more to build a tree)") }
        if settings.polish, configuration.model.loss == .crossEntropy, settings.l2 == 0 {
            throw InputError(setting: "path.polish", "with model.loss = \"cross-entropy\" and no L2 term: cross-entropy on separable data has no finite minimum (its infimum is at ‖θ‖ → ∞), so there is no minimum to polish to; give --l2 λ > 0 (the energy L + λ‖θ‖²/2 has finite minima), or model.loss = \"mse\"")
        }
        let groups = try RankGroups.split(world, size: groupSize, setting: "path.group-size", placement: settings.groupPlacement)
        groups.announce(on: run.progress)
        var assembler: HessianAssembler? = nil
        do {
            let inputs = try run.inputs(configuration, given: model, on: groups.group)
            let (split, model, m) = (inputs.split, inputs.model, inputs.m)
            let training = DataParallelObjective(model: model, dataset: split.training, communicator: groups.group)
            let energy = EnergyObjective(training, l2: settings.l2)
            let heldOut = split.heldOut.map { DataParallelObjective(model: model, dataset: $0, communicator: groups.group) }
            let flags = endpoints.count == 2 ? ["--from", "--to"] : endpoints.indices.map { "--minima #\($0 + 1)" }
            let given = try zip(endpoints, flags).map { try inputs.readParameters($0, on: world, flag: $1) }
            run.header.point = endpoints.count == 2 ? "\(endpoints[0]) → \(endpoints[1])" : "\(endpoints.count) minima"
            for i in given.indices {
                for j in given.indices where j > i && given[i] == given[j] {
                    throw InputError("\(flags[i]) and \(flags[j]) are the same point ('\(endpoints[i])', '\(endpoints[j])'); a path needs two distinct end points")
                }
            }
            // The band is sharded by rows: this rank's rows of the pivots, their gradients, the
            // forces and the optimiser's velocity, (P + 2) × M/ranks values each. Whole vectors: the
            // end points as given and as joined (2 per minimum), and the evaluations' inputs and
            // gradients (`RankGroups.wholeBudget`, or one round's two inputs and gradient if more).
            // Plus the model's working set.
            let rows = RowPartition(length: m, over: world)
            let budget = try MemoryPlan.agreedBudget(memoryPerRank, on: world)
            // The polish assembles H at every step (M² doubles over the group): refused before the band.
            try requirePolishable(dimension: m, groupSize: groups.group.size, budget: budget)
            let pivots = settings.largestBand
            let whole = 8 * Double(2 * endpoints.count) * Double(m) + max(Double(RankGroups.wholeBudget), 24 * Double(m)) + 64 * 1024 * 1024
            // The busiest rank's rows (the same number on every rank, so every rank agrees).
            let busiest = Double(rows.count(of: 0))
            let bytes = 4 * 8 * Double(pivots + 2) * busiest + whole
            if bytes > Double(budget) {
                let fit = max(0, Int((Double(budget) - whole) / (32 * busiest)) - 2)
                throw InputError("\(pivots) pivots of M = \(m) parameters need ≈ \(formatBytes(Int(min(bytes, 1e18)))) per rank (4 × (P + 2) × \(rows.count(of: 0)) doubles of the band's rows on each of \(world.size) rank(s): pivots, gradients, forces, velocity; and whole vectors: \(2 * endpoints.count) end points, the evaluations' inputs and gradients), \(formatBytes(budget)) available; use at most \(fit) pivots, or more ranks (or set --memory-per-rank)")
            }
            let exact = curvatureMethod.isExact(dimension: m)
            if exact {
                try requireExactCurvatureFits(dimension: m, groupSize: groups.group.size, budget: budget, what: "the exact index at the highest pivot")
            }
            // The polish: every end to a certified minimum of the energy, before the band.
            var points = given, polished: [CertifiedPoint]? = nil
            if settings.polish {
                assembler = try HessianAssembler(model: model, objective: training, configuration: configuration)
                let search = certifiedSearch(index: 0, training: training, model: model, assembler: assembler)
                let names = endpoints.count == 2 ? ["A", "B"] : endpoints.indices.map { "minimum \($0 + 1)" }
                let results = try Self.certify(given, names: names, search: search, groups: groups, progress: run.progress)
                (points, polished) = (results.map(\.parameters), results.map(\.point))
                // Two ends polished into one minimum (to its rounding) leave no path to find.
                let same = { (a: [Double], b: [Double]) in
                    ElasticBand.distance(a[...], b[...]) <= 1e-8 * max(1, a.reduce(0) { $0 + $1 * $1 }.squareRoot())
                }
                for i in points.indices {
                    for j in points.indices where j > i && same(points[i], points[j]) {
                        throw InputError(setting: "path.polish", "took \(flags[i]) and \(flags[j]) to the same minimum (E = \(polished![i].energy)): both lie in one basin, and there is no path between a minimum and itself; give end points from two basins")
                    }
                }
            }
            let losses = try points.map { try energy.evaluate($0, gradient: false).loss }
            if settings.method == .string, let level = settings.level, let high = losses.max(), level <= high {
                let which = losses.count == 2 ? (losses[0] >= losses[1] ? "--from" : "--to") : "the highest minimum"
                throw InputError(setting: "path.level", "= \(level) is not above the end points' losses (\(which): \(high)); dynamic string sampling connects points below λ — give a level above \(high)")
            }
            return Context(run: run, groups: groups, training: training, energy: energy, heldOut: heldOut, model: model,
                           given: given, points: points, losses: losses, polished: polished, curvatureExact: exact, assembler: assembler,
                           rows: rows)
        } catch {
            assembler?.release()
            groups.free()
            throw error
        }
    }

    /// What a path's results depend on besides the rest of its configuration and its end points:
    /// the `[path]` settings as rendered, without the checkpoint interval and the group size (which
    /// change no result beyond the rounding of the data-parallel sums, docs/reproducibility.md).
    package var settingsIdentity: SettingsIdentity {
        SettingsIdentity(run: configuration, model: nil, ignoring: Self.keysWithoutEffect).only(table: "path")
    }

    /// `[path]` keys that change no result beyond rounding.
    static let keysWithoutEffect = ["path.checkpoint-every", "path.group-size", "path.group-placement"]

    /// The identity of a pair's run, in its checkpoint and its summary: the configuration, the
    /// settings, the end points' bits — a resumed run continues or keeps only the very same path.
    package func identity(_ a: [Double], _ b: [Double]) -> SettingsIdentity {
        var identity = SettingsIdentity(run: configuration, model: model, ignoring: Self.keysWithoutEffect)
        identity.depend(on: "the end points", digest: bitDigest(a, b))
        return identity
    }
}
