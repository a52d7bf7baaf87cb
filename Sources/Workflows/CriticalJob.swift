import Cluster
import Configuration
import Curvature
import CriticalPoints
import Datasets
import Foundation
import Networks
import Objectives
import Optimization
import Planning
import Support
import Training

/// `landscape critical`: critical points ∇L = 0 of every index from K starting points, their
/// energy ε (the loss), the exact spectrum of H there and the index α = (negative eigenvalues)/M,
/// and Pennington & Bahri's law α ≈ α₀|(ε − ε_c)/ε_c|^{3/2} fitted with the exponent free
/// (GEOMETRY.md §6, docs/critical.md).
///
/// Starts are independent: rank groups take them side by side, a round at a time (one start per
/// group), data-parallel inside a group. World rank 0 collects each round — the result, the trace,
/// the point and its spectrum — writes the point's files and checkpoints the finished starts, so a
/// stopped run resumes after its last round and its numbers do not depend on the grouping.
public struct CriticalJob {
    /// Where the starting points come from.
    public enum Start: String, CaseIterable, Sendable, Codable {
        /// The seed's initialisation at seed + k, scaled by `scales[k mod count]`.
        case initialization = "init"
        /// The states of the [train] run every `trajectoryEvery` steps (step 0 first).
        case trajectory
        /// Parameter files (`points`).
        case files
    }

    /// The search's numbers (docs/critical.md has the defaults' reasons).
    public struct Settings: Sendable, Equatable, Codable {
        public var method = CriticalPointSearch.Method.newton
        /// Converged when ‖∇L‖ ≤ tolerance · ‖∇L‖ at the start.
        public var tolerance = 1e-10
        /// Newton iterations per start.
        public var iterations = 100
        /// MINRES iterations per Newton step (nil: M, enough in exact arithmetic).
        public var innerIterations: Int?
        /// The longest step ‖θₖ₊₁ − θₖ‖.
        public var maximumStep = 1.0
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

        public init() {}

        /// Every refusal of the numbers alone, in the flags' words.
        public func validate() throws {
            guard tolerance > 0, tolerance.isFinite else { throw InputError("--tolerance \(tolerance): give a finite relative gradient-norm tolerance > 0 (e.g. 1e-10)") }
            guard maximumStep > 0, maximumStep.isFinite else { throw InputError("--max-step \(maximumStep): give a finite step length > 0") }
            guard starts >= 1 else { throw InputError("--starts \(starts): give at least 1 starting point") }
            guard iterations >= 1 else { throw InputError("--iterations \(iterations): give a whole number ≥ 1") }
            if let inner = innerIterations, inner < 1 { throw InputError("--inner-iterations \(inner): give a whole number ≥ 1 (MINRES iterations per Newton step)") }
            guard !scales.isEmpty else { throw InputError("--scales: give at least one scale factor, e.g. 0.5,1,2") }
            for s in scales where !(s > 0 && s.isFinite) { throw InputError("--scales: \(s) is not a finite scale factor > 0") }
            guard trajectoryEvery >= 1 else { throw InputError("--trajectory-every \(trajectoryEvery): give a number of training steps ≥ 1") }
            if start == .trajectory, (starts - 1).multipliedReportingOverflow(by: trajectoryEvery).overflow {
                throw InputError("--starts \(starts) with --trajectory-every \(trajectoryEvery): the trajectory would need more than 2⁶³ training steps; give fewer starts or fewer steps between them")
            }
            guard duplicateTolerance >= 0, duplicateTolerance.isFinite else { throw InputError("--duplicate-tolerance \(duplicateTolerance): give a finite fraction ≥ 0") }
            guard nearCriticalTolerance >= tolerance, nearCriticalTolerance.isFinite else {
                throw InputError("--near-critical \(nearCriticalTolerance): give a finite fraction ≥ --tolerance \(tolerance)")
            }
        }
    }

    public var configuration: RunConfiguration
    /// Run on this model instead of one built from `configuration.model` (library callers; `JobModel.swift`).
    public var model: (any Model)? = nil
    public var settings: Settings
    /// `--start files`: the points.
    public var points: [String] = []
    public var curvatureMethod = InterpolateJob.CurvatureMethod.auto
    /// Ranks per group; 0 = one group of all ranks.
    public var groupSize = 0
    public var output: RunDirectory
    public var memoryPerRank: Int?
    public var resume = false
    public var quiet = false

    public init(configuration: RunConfiguration, settings: Settings, output: RunDirectory) {
        self.configuration = configuration
        self.settings = settings
        self.output = output
    }

    /// Everything the searches need once the inputs are checked.
    struct Context: RunContext {
        /// The job's run: world, progress, the run header.
        var run: JobRun
        let groups: RankGroups
        let training: DataParallelObjective
        let model: any Model
        /// Where each start begins, and how it was made ("init seed 3 scale 2", "step 200", a file).
        let starts: [[Double]]
        let origins: [String]
        /// The spectrum exactly (else the smallest eigenvalues by Lanczos).
        let curvatureExact: Bool
        /// The group's exact Hessian, when `newton` or the exact spectrum needs it.
        let assembler: HessianAssembler?
        var m: Int { model.parameterCount }
        var group: Communicator { groups.group }
    }

    public func run(on world: Communicator) throws {
        try settings.validate()
        try JobRun.perform("critical", configuration: configuration, model: model, output: output, resuming: resume,
                           quiet: quiet, on: world) { run in
            let context = try prepare(run)
            defer {
                context.assembler?.release()
                context.groups.free()
            }
            try run.own {
                if !resume, FileManager.default.fileExists(atPath: output.file("summary.json")) {
                    throw InputError("\(output.named) already holds results (summary.json); choose another --out (or --resume a stopped run)")
                }
            }
            let results = try compute(context)
            let header = try context.run.completedHeader()
            // Rank 0 writes; its failure reaches every rank through the verdict.
            let line = try world.agree { () throws -> String in
                let summary = try report(results, context)
                try context.run.finish(summary, header: header)
                return summary.line
            }
            context.progress.say("critical: \(line)")
        }
    }

    /// Data, groups, starting points, the memory plan; every refusal before anything is written.
    func prepare(_ run: JobRun) throws -> Context {
        var run = run
        let (world, progress) = (run.world, run.progress)
        if configuration.model.loss == .crossEntropy {
            throw InputError("model.loss = \"cross-entropy\": Pennington & Bahri's energy ε is the ½-normalised squared error, and cross-entropy has no critical points of finite energy on separable data (its infimum is at infinity); use model.loss = \"mse\" (class data then fits one-hot targets), or `landscape spectrum` for the Hessian at a trained point")
        }
        if settings.start == .files, points.isEmpty { throw InputError("--start files needs --points a.npy b.npy …") }
        if settings.start != .files, !points.isEmpty { throw InputError("--points applies with --start files (the starts are the files); drop --start \(settings.start.rawValue) or --points") }
        let groups = try RankGroups.split(world, size: groupSize) { InputError("--group-size \(groupSize) \($0)") }
        do {
            let inputs = try run.inputs(configuration, given: model, on: groups.group)
            let (split, model, m) = (inputs.split, inputs.model, inputs.m)
            let training = DataParallelObjective(model: model, dataset: split.training, communicator: groups.group)
            let budget = try world.allreduce(memoryPerRank ?? MemoryPlan.defaultBudget(on: world), .min)
            let exactBytes = exactCurvatureBytes(dimension: m, groupSize: groups.group.size)
            if settings.method.assemblesHessian, exactBytes > Double(budget) {
                throw InputError("--method newton assembles H (M = \(m)) at every step: ≈ \(formatBytes(Int(min(exactBytes, 1e18)))) per rank needed, \(formatBytes(budget)) available; use --method gauss-newton-mr (matrix-free: Hessian–vector products only), larger groups (--group-size) or more ranks (or set --memory-per-rank)")
            }
            let exact = curvatureMethod.isExact(dimension: m)
            if exact {
                try requireExactCurvatureFits(dimension: m, groupSize: groups.group.size, budget: budget, what: "the exact spectrum at each critical point")
            }
            // Every start is made (and kept) before the first search: M doubles each, and its record.
            try MemoryPlan.requireFits(settings.starts, setting: "--starts", holding: "the starting points (M = \(m) parameters each)",
                                       bytesEach: 8 * Double(m) + 1024, budget: budget)
            let (starts, origins) = try startingPoints(model: model, training: training, on: world, progress: progress)
            run.header.point = "\(starts.count) starts (\(settings.start.rawValue))"
            let assembler = settings.method.assemblesHessian || exact
                ? try HessianAssembler(model: model, objective: training, configuration: configuration) : nil
            return Context(run: run, groups: groups, training: training, model: model,
                           starts: starts, origins: origins, curvatureExact: exact, assembler: assembler)
        } catch {
            groups.free()
            throw error
        }
    }

    /// The K starting points, identical on every rank.
    func startingPoints(model: any Model, training: DataParallelObjective, on world: Communicator,
                        progress: Progress) throws -> ([[Double]], [String]) {
        let m = model.parameterCount
        switch settings.start {
        case .initialization:
            let seeded = (0..<settings.starts).map { k in (seed: configuration.seed &+ UInt64(k), scale: settings.scales[k % settings.scales.count]) }
            return (seeded.map { s in configuration.model.initialization.parameters(for: model, seed: s.seed).map { s.scale * $0 } },
                    seeded.map { "init seed \($0.seed) scale \($0.scale)" })
        case .files:
            let starts = try points.enumerated().map { try TrainJob.readVector($0.element, count: m, on: world, flag: "--points #\($0.offset + 1)") }
            return (starts, points)
        case .trajectory:
            // The [train] run from the seed's initialisation, its state kept every R steps: the
            // energies fall along it, so the starts spread from the initial loss to near a minimum.
            var spec = configuration.train
            spec.steps = max(1, (settings.starts - 1) * settings.trajectoryEvery)
            spec.epochs = nil
            spec.checkpointEvery = settings.trajectoryEvery
            spec.recordEvery = settings.trajectoryEvery
            try spec.validate(samples: training.dataset.globalCount)
            var kept: [[Double]] = [], steps: [Int] = []
            var trainer = Trainer(objective: training, specification: spec, seed: configuration.seed)
            trainer.onCheckpoint = { state in
                if kept.count < settings.starts { kept.append(state.parameters); steps.append(state.step) }
            }
            let θ0 = configuration.model.initialization.parameters(for: model, seed: configuration.seed)
            progress.say("critical: \(spec.steps!) training steps for the trajectory's \(settings.starts) starts")
            _ = try trainer.run(from: TrainingState(step: 0, parameters: θ0))
            if kept.count < settings.starts {
                progress.note("critical: the training stopped early (train.target-loss or train.target-gradient-norm); \(kept.count) of \(settings.starts) starts")
            }
            return (kept, steps.map { "trajectory step \($0)" })
        }
    }

    /// The identity of the run in its checkpoint: the configuration, the settings, the starts' bits.
    func identity(_ context: Context) -> String {
        "\(configuration.toml(runningOn: self.model))|\(settings)|\(curvatureMethod)|\(bitDigest(context.starts.flatMap { $0 }))"
    }
}
