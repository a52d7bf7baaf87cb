import Cluster
import Configuration
import Jobs
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
    public typealias Start = CriticalSpecification.Start
    /// The search's numbers: the configuration's `[critical]` table.
    public typealias Settings = CriticalSpecification

    public var configuration: RunConfiguration
    /// Run on this model instead of one built from `configuration.model` (library callers; `JobModel.swift`).
    public var model: (any Model)? = nil
    /// The `[critical]` settings of the configuration.
    public var settings: Settings {
        get { configuration.critical }
        set { configuration.critical = newValue }
    }
    /// `start = files`: the points (`settings.starts` is their count).
    public var points: [String] = []
    package var curvatureMethod: CurvatureMethod { settings.curvature }
    package var groupSize: Int { settings.groupSize }
    public var output: RunDirectory
    public var memoryPerRank: Int?
    public var resume = false
    public var quiet = false

    public init(configuration: RunConfiguration, output: RunDirectory) {
        self.configuration = configuration
        self.output = output
    }

    /// Everything the searches need once the inputs are checked.
    package struct Context: GroupedRunContext {
        /// The job's run: world, progress, the run header.
        package var run: JobRun
        package let groups: RankGroups
        package let training: DataParallelObjective
        package let model: any Model
        /// Where each start begins, and how it was made ("init seed 3 scale 2", "step 200", a file).
        package let starts: [[Double]]
        package let origins: [String]
        /// The spectrum exactly (else the smallest eigenvalues by Lanczos).
        package let curvatureExact: Bool
        /// The group's exact Hessian, when `newton` or the exact spectrum needs it.
        package let assembler: HessianAssembler?
    }

    public func run(on world: Communicator) throws {
        try JobRun.perform("critical", configuration: configuration, model: model, output: output, resuming: resume,
                           quiet: quiet, on: world) { run in
            let context = try prepare(run)
            defer {
                context.assembler?.release()
                context.groups.free()
            }
            try run.own { try output.refuseFinishedRun(resuming: resume) }
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
    package func prepare(_ run: JobRun) throws -> Context {
        var run = run
        let (world, progress) = (run.world, run.progress)
        if configuration.model.loss == .crossEntropy {
            throw InputError("model.loss = \"cross-entropy\": Pennington & Bahri's energy ε is the ½-normalised squared error, and cross-entropy has no critical points of finite energy on separable data (its infimum is at infinity); use model.loss = \"mse\" (class data then fits one-hot targets), or `landscape spectrum` for the Hessian at a trained point")
        }
        if settings.start == .files, points.isEmpty { throw InputError(setting: "critical.start", "= files needs --points a.npy b.npy …") }
        if settings.start != .files, !points.isEmpty {
            throw InputError(setting: "critical.start", "= \(settings.start.rawValue): --points applies with start files (the starts are the files); give --start files, or drop --points")
        }
        let groups = try RankGroups.split(world, size: groupSize, setting: "critical.group-size", placement: settings.groupPlacement)
        groups.announce(on: progress)
        do {
            let inputs = try run.inputs(configuration, given: model, on: groups.group)
            let (split, model, m) = (inputs.split, inputs.model, inputs.m)
            let training = DataParallelObjective(model: model, dataset: split.training, communicator: groups.group)
            if let k = settings.index, k >= m {
                throw InputError(setting: "critical.index", "= \(k): the Hessian has M = \(m) eigenvalues, so the index is at most \(m - 1); give a smaller k")
            }
            if settings.projectSymmetries, model.symmetryGroup(preservingNorm: settings.l2 > 0) == .none {
                let why = settings.l2 > 0 ? " with critical.l2 > 0 (the L2 term breaks rescaling; only a linear network keeps O(h))" : ""
                throw InputError(setting: "critical.project-symmetries", "asked for \(model.summary), which has no continuous symmetry\(why); drop it (tanh and softplus have only permutations and sign flips)")
            }
            let budget = try MemoryPlan.agreedBudget(memoryPerRank, on: world)
            let exactBytes = exactCurvatureBytes(dimension: m, groupSize: groups.group.size)
            if settings.method.assemblesHessian, exactBytes > Double(budget) {
                throw InputError("--method \(settings.method.rawValue) assembles H (M = \(m)) at every step: ≈ \(formatBytes(Int(min(exactBytes, 1e18)))) per rank needed, \(formatBytes(budget)) available; use --method gauss-newton-mr or min-mode-following (matrix-free: Hessian–vector products only), larger groups (--group-size) or more ranks (or set --memory-per-rank)")
            }
            if settings.polish != nil, exactBytes > Double(budget) {
                throw InputError(setting: "critical.polish", "assembles H (M = \(m)) for the exact steps: ≈ \(formatBytes(Int(min(exactBytes, 1e18)))) per rank needed, \(formatBytes(budget)) available; drop it (min-mode following alone is matrix-free), or use larger groups (--group-size) or more ranks (or set --memory-per-rank)")
            }
            let exact = curvatureMethod.isExact(dimension: m)
            if exact {
                try requireExactCurvatureFits(dimension: m, groupSize: groups.group.size, budget: budget, what: "the exact spectrum at each critical point")
            }
            // Every start is made (and kept) before the first search: M doubles each, and its record.
            try MemoryPlan.requireFits(settings.starts, setting: "critical.starts", holding: "the starting points (M = \(m) parameters each)",
                                       bytesEach: 8 * Double(m) + 1024, budget: budget)
            let (starts, origins) = try startingPoints(inputs, training: training, on: world, budget: budget, progress: progress)
            run.header.point = "\(starts.count) starts (\(settings.start.rawValue))"
            let assembler = settings.method.assemblesHessian || exact || settings.polish != nil
                ? try HessianAssembler(model: model, objective: training, configuration: configuration) : nil
            return Context(run: run, groups: groups, training: training, model: model,
                           starts: starts, origins: origins, curvatureExact: exact, assembler: assembler)
        } catch {
            groups.free()
            throw error
        }
    }

    /// The K starting points, identical on every rank.
    package func startingPoints(_ inputs: JobInputs, training: DataParallelObjective, on world: Communicator, budget: Int,
                        progress: JobProgress) throws -> ([[Double]], [String]) {
        let model = inputs.model
        switch settings.start {
        case .initialization:
            let seeded = (0..<settings.starts).map { k in (seed: configuration.seed &+ UInt64(k), scale: settings.scales[k % settings.scales.count]) }
            return (seeded.map { s in configuration.model.initialization.parameters(for: model, seed: s.seed).map { s.scale * $0 } },
                    seeded.map { "init seed \($0.seed) scale \($0.scale)" })
        case .files:
            let starts = try points.enumerated().map { try inputs.readParameters($0.element, on: world, flag: "--points #\($0.offset + 1)") }
            return (starts, points)
        case .trajectory:
            // The [train] run from the seed's initialisation, its state kept every R steps: the
            // energies fall along it, so the starts spread from the initial loss to near a minimum.
            let total = max(1, (settings.starts - 1) * settings.trajectoryEvery)
            var kept: [[Double]] = [], steps: [Int] = []
            progress.say("critical: \(total) training steps for the trajectory's \(settings.starts) starts")
            try trainTrajectory(steps: total, training: training, model: model, checkpoint: { state in
                if kept.count < settings.starts { kept.append(state.parameters); steps.append(state.step) }
            })
            if kept.count < settings.starts {
                progress.note("critical: the training stopped early (train.target-loss or train.target-gradient-norm); \(kept.count) of \(settings.starts) starts")
            }
            return (kept, steps.map { "trajectory step \($0)" })
        case .trajectoryLoss:
            let total = configuration.train.totalSteps(samples: training.dataset.globalCount)
            let candidates = total / settings.trajectoryEvery + 1
            try MemoryPlan.requireFits(candidates, setting: "critical.trajectory-every",
                                       holding: "the trajectory's candidate states (train.steps / critical.trajectory-every + 1 of M = \(model.parameterCount) parameters each)",
                                       bytesEach: 8 * Double(model.parameterCount) + 1024, budget: budget)
            var states: [Int: [Double]] = [:], energies: [Int: Double] = [:]
            progress.say("critical: \(total) training steps, \(settings.starts) starts at evenly spaced energies")
            try trainTrajectory(steps: total, training: training, model: model, checkpoint: { states[$0.step] = $0.parameters },
                                record: { energies[$0.step] = $0.loss })
            let steps = states.keys.filter { energies[$0] != nil }.sorted()
            let chosen = Self.evenlySpacedInEnergy(steps.map { energies[$0]! }, count: settings.starts).map { steps[$0] }
            if chosen.count < settings.starts {
                progress.note("critical: the trajectory has \(steps.count) states; \(chosen.count) of \(settings.starts) starts")
            }
            return (chosen.map { states[$0]! }, chosen.map { "trajectory step \($0) energy \(energies[$0]!)" })
        }
    }

    /// The [train] run from the seed's initialisation for `steps` steps, its state handed to
    /// `checkpoint` and its record (the training energy) to `record` every `trajectoryEvery` steps
    /// (step 0 first): the trajectory both trajectory start kinds take their starts from.
    func trainTrajectory(steps: Int, training: DataParallelObjective, model: any Model,
                         checkpoint: @escaping (TrainingState) throws -> Void, record: @escaping (TrainingRecord) throws -> Void = { _ in }) throws {
        var spec = configuration.train
        (spec.steps, spec.epochs, spec.checkpointEvery, spec.recordEvery) = (steps, nil, settings.trajectoryEvery, settings.trajectoryEvery)
        (spec.trackTop, spec.trackEvery) = (nil, nil)   // a trajectory for starts tracks nothing
        try spec.validate(samples: training.dataset.globalCount)
        var trainer = Trainer(objective: training, specification: spec, seed: configuration.seed)
        (trainer.onCheckpoint, trainer.onRecord) = (checkpoint, record)
        let θ0 = configuration.initialParameters(for: model).θ
        _ = try trainer.run(from: TrainingState(step: 0, parameters: θ0))
    }

    /// Indices of `count` distinct entries of `energies` (a trajectory's, in step order) nearest the
    /// levels e₀ − j(e₀ − e_min)/(count − 1), j = 0 … count − 1, taken in turn, each the nearest
    /// not yet taken (ties to the earlier state); returned in step order. Fewer when there are
    /// fewer entries.
    package static func evenlySpacedInEnergy(_ energies: [Double], count: Int) -> [Int] {
        guard let first = energies.first, count > 0 else { return [] }
        let lowest = energies.min()!
        var taken = Set<Int>()
        for j in 0..<min(count, energies.count) {
            let level = count == 1 ? first : first - Double(j) * (first - lowest) / Double(count - 1)
            let nearest = energies.indices.filter { !taken.contains($0) }.min { abs(energies[$0] - level) < abs(energies[$1] - level) }!
            taken.insert(nearest)
        }
        return taken.sorted()
    }

    /// The identity of the run in its checkpoint: the configuration's keys as rendered (the group
    /// size and placement aside: they change no result beyond rounding), a library caller's model, the starts' bits.
    package func identity(_ context: Context) -> String {
        var identity = SettingsIdentity(run: configuration, model: model, ignoring: ["critical.group-size", "critical.group-placement"])
        identity.depend(on: "the starting points", digest: bitDigest(context.starts.flatMap { $0 }))
        return identity.text
    }
}
