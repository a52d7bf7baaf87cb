import Cluster
import Configuration
import Jobs
import Datasets
import Foundation
import Krylov
import Networks
import NPY
import Objectives
import Optimization
import Planning
import Reporting
import Support

/// `landscape top`, `density` and `trace`: matrix-free estimates of H, G or R at a point, every
/// product a data-parallel operator application. They share everything but the estimator: the
/// run inputs (config, point or train first), the run directory and its lock, the memory check,
/// `--compare` against an exact spectrum, summary.json / timings.json / config.toml, progress.
public struct EstimatorJob {
    public enum Estimator: String, Sendable { case top, density, trace }

    public var estimator: Estimator
    public var configuration: RunConfiguration
    /// Run on this model instead of one built from `configuration.model` (library callers; `JobModel.swift`).
    public var model: (any Model)? = nil
    /// nil: train first (as `landscape train` would, into DIR/train) and estimate at the result.
    public var point: SpectrumJob.Point?
    public var output: RunDirectory
    /// An exact spectrum (eigenvalues.npy of `landscape spectrum`) to measure the estimate against.
    public var compare: String?
    public var memoryPerRank: Int?
    public var quiet = false
    public var resume = false
    /// How the command running this job shows a setting: its flag, or nil when it has none (then
    /// the key is named, as it is written in --config — the case inside `landscape study`).
    public var settingName: (String) -> String? = { _ in nil }

    public init(_ estimator: Estimator, configuration: RunConfiguration, point: SpectrumJob.Point?, output: RunDirectory) {
        self.estimator = estimator
        self.configuration = configuration
        self.point = point
        self.output = output
    }

    /// What every estimator shares once the inputs are checked.
    package struct Context: GroupedRunContext {
        /// The job's run: world, progress, timings, the run header.
        package var run: JobRun
        /// The ranks that apply the operator together: the world, or one group (density).
        package let groups: RankGroups
        package let dataset: Dataset
        package let model: any Model
        package let θ: [Double]
        package let pointName: String
        package let evaluation: Evaluation
        /// Rank 0 only: the exact eigenvalues to compare with.
        package let exact: SpectralComparison?
        package let budget: Int
    }

    package var checkpoint: RunDirectory { output.subdirectory("checkpoint") }

    public func run(on world: Communicator) throws {
        try JobRun.perform(estimator.rawValue, configuration: configuration, model: model, output: output, resuming: resume,
                           quiet: quiet, on: world) { run in
            try execute(run)
        }
    }

    /// Every refusal of this job at `point` (inputs, groups, the estimator's plan) without running
    /// it: a study checks its later parts before the first one starts.
    package func check(at point: SpectrumJob.Point, on world: Communicator) throws {
        try JobRun.perform(estimator.rawValue, configuration: configuration, model: model, output: output, quiet: true, on: world) { run in
            let probe = try prepare(point, run)
            defer { probe.groups.free() }
            try plan(probe)
        }
    }

    private func execute(_ run: JobRun) throws {
        let world = run.world
        var point = self.point
        if point == nil {
            // Every refusal of the estimate comes before the training: check it at the initial
            // point (the same M, data and budget as after training).
            let probe = try prepare(.initialization, run)
            defer { probe.groups.free() }
            try plan(probe)
            // Train first, as `landscape spectrum` does without a point.
            let trainDirectory = output.subdirectory("train")
            let trained = try world.agree { resume && FileManager.default.fileExists(atPath: trainDirectory.file("params.npy")) }
            if !trained {
                var train = TrainJob(configuration: configuration, output: trainDirectory)
                train.continuation = "repeat the command with --resume"
                train.quiet = quiet
                train.resume = try world.agree { resume && !TrainRunFiles(directory: trainDirectory).checkpointSteps().isEmpty }
                try train.run(on: world)
            }
            point = .checkpoint(trainDirectory.file("params.npy"))
        }
        var context = try prepare(point!, run)
        defer { context.groups.free() }
        try plan(context)
        try context.run.own { try output.refuseFinishedRun(resuming: resume) }
        switch estimator {
        case .top: try runTop(&context)
        case .density: try runDensity(&context)
        case .trace: try runTrace(&context)
        }
    }

    /// A setting in the user's words: a flag of the command, or the key in --config (inside a study).
    package func named(_ key: String, _ value: String? = nil) -> String {
        if let flag = settingName(key) { return value.map { "\(flag) \($0)" } ?? flag }
        return value.map { "\(key) = \($0) in --config" } ?? "\(key) in --config"
    }

    /// The estimator's memory plan and settings checks (collective verdicts: every rank computes
    /// the same from replicated sizes and the agreed budget).
    package func plan(_ context: Context) throws {
        switch estimator {
        case .top: _ = try lanczosSettings(context)
        case .density: _ = try densityPlan(context)
        case .trace: _ = try tracePlan(context)
        }
    }

    /// Inputs, the point, the groups and the comparison spectrum, every refusal before any work.
    package func prepare(_ point: SpectrumJob.Point, _ run: JobRun) throws -> Context {
        var run = run
        let world = run.world
        // Groups of ranks (density only): probes in parallel, data-parallel inside a group.
        let requested = estimator == .density ? configuration.density.groupSize : 0
        let groups = try RankGroups.split(world, size: requested, setting: "density.group-size",
                                          placement: estimator == .density ? configuration.density.groupPlacement : .node)
        groups.announce(on: run.progress)
        let group = groups.group
        do {
            let inputs = try run.inputs(configuration, given: model, on: group)
            let (dataset, model, m) = (inputs.dataset, inputs.model, inputs.m)
            let (θ, pointName) = try run.point(point, configuration, inputs)
            // k < M first: an absurd k must not overflow the doubling for --which both.
            let k = configuration.top.count, both = configuration.top.which == .both
            if estimator == .top, k >= m || (both && 2 * k >= m) {
                throw InputError(setting: "top.k", "= \(k) asks for \(both ? "2 × \(k)" : "\(k)") eigenpairs of a \(m) × \(m) operator; k must be < M\(configuration.top.which == .both ? "/2 with --which both" : "") (use `landscape spectrum` for the whole spectrum)")
            }
            let exact: SpectralComparison? = try compare.map { path in
                // Read on rank 0 inside the verdict, so that every refusal — the values included —
                // reaches every rank.
                var values = [0.0]
                try world.agree {
                    guard FileManager.default.fileExists(atPath: path) else { throw InputError("--compare '\(path)': no such file (an eigenvalues.npy from `landscape spectrum`)") }
                    let header: NPYHeader
                    do { header = try NPYHeader.read(contentsOf: path) } catch let error as NPYError { throw InputError("--compare '\(path)': \(error.message)") }
                    guard header.dataType.isFloatingPoint else {
                        throw InputError("--compare '\(path)' has dtype \(header.dataType); eigenvalues are float64 (eigenvalues.npy of `landscape spectrum`)")
                    }
                    guard header.elementCount == m else {
                        throw InputError("--compare '\(path)' holds \(header.elementCount ?? 0) values but the operator is \(m) × \(m); give the full spectrum of this model (`landscape spectrum` without --eigenvectors top:K)")
                    }
                    values = try NPYArray(contentsOf: path).values
                    if let i = values.firstIndex(where: { !$0.isFinite }) {
                        throw InputError("--compare '\(path)': eigenvalue \(i) is \(values[i]); an exact spectrum must be finite")
                    }
                }
                return SpectralComparison(exactEigenvalues: values)
            } ?? nil
            // The smallest over the ranks, so that every rank reaches the same memory verdict.
            let budget = try MemoryPlan.agreedBudget(memoryPerRank, on: world)
            let evaluation = try DataParallelObjective(model: model, dataset: dataset, communicator: group).evaluate(θ, gradient: false)
            return Context(run: run, groups: groups, dataset: dataset, model: model, θ: θ, pointName: pointName, evaluation: evaluation,
                           exact: world.isRoot ? exact : nil, budget: budget)
        } catch {
            groups.free()
            throw error
        }
    }

    /// Bytes a rank needs besides the estimator's vectors: the process, the data shard, θ, the
    /// operator's M × B input, result and reduction buffer for `directions` directions, and the
    /// model's working memory (`Model.workingBytes`: an MLP's tile buffers) and the linearisation
    /// the operator keeps.
    package static func baseBytes(_ context: Context, directions: Int) -> Double {
        // The largest shard of the group (not this rank's own), so every rank plans the same.
        let samples = (Double(context.dataset.globalCount) / Double(context.group.size)).rounded(.up)
        return 40 * 1024 * 1024 + 8 * (samples * Double(context.dataset.inputDimension + context.dataset.outputDimension)
                                       + Double(context.m) * (2 + 3 * Double(directions))) + Double(context.model.workingBytes)
            + Double(CurvatureOperator.keptBytes(context.model, samples: Int(samples)))   // its kept forward pass
    }

    /// The operator the estimators apply.
    package func curvature(_ kind: CurvatureKind, _ context: Context) -> CurvatureOperator {
        DataParallelObjective(model: context.model, dataset: context.dataset, communicator: context.group).curvature(kind, at: context.θ)
    }

    /// summary.json with the run header and timings.json (collective unless given the completed
    /// header; rank 0 writes), the checkpoint removed, the report printed.
    package func finish<S: Encodable>(_ summary: S, _ context: Context, header: RunHeader? = nil, report: String) throws {
        try context.run.finish(summary, header: header)
        if context.world.isRoot {
            if FileManager.default.fileExists(atPath: checkpoint.path) { try FileManager.default.removeItem(atPath: checkpoint.path) }
            print(report + "\n  results in \(output.path)/")
        }
    }

    /// What every estimator's summary says of its operator besides the run header: which
    /// curvature, the loss at the point, and the memory it planned with.
    package struct OperatorSummary: Codable {
        package var operatorName: String
        package var loss: Double
        package var memoryBudgetBytesPerRank: Int
        package var memoryEstimateBytesPerRank: Int
    }

    package func operatorSummary(_ context: Context, kind: CurvatureKind, estimate: Double) -> OperatorSummary {
        OperatorSummary(operatorName: kind.rawValue, loss: context.evaluation.loss, memoryBudgetBytesPerRank: context.budget,
                        memoryEstimateBytesPerRank: Int(min(estimate, 1e18)))
    }
}
