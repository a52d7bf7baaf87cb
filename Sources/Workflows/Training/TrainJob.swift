import Cluster
import Datasets
import Foundation
import Support
import Networks
import Objectives
import NPY
import Optimization
import Training
import Configuration
import Jobs
import Planning

/// `landscape train`: loads the data (each rank its shard), initialises (or resumes) the
/// parameters, runs GD/SGD and writes the run directory: config.toml, train.csv, checkpoints,
/// params.npy, summary.json, timings.json.
///
/// Everything that can be wrong with the input is checked before the directory is created, so a
/// refused run leaves nothing behind. A diverging run stops with an error naming the step and
/// keeps the checkpoints written so far (all of them had a finite loss).
public struct TrainJob {
    public var configuration: RunConfiguration
    /// Run on this model instead of one built from `configuration.model` (library callers; `JobModel.swift`).
    public var model: (any Model)? = nil
    public var output: RunDirectory
    /// Continue the run in `output` from its last checkpoint.
    public var resume = false
    /// Start from these parameters (a params.npy) instead of the seed's initialisation: a new run
    /// — step 0, fresh momentum, its own train.csv — whose configuration (batch, learning rate) may
    /// differ from the run that produced them; not a resume of that run.
    public var start: String?
    /// How the user continues this run: `--resume DIR` for `landscape train`; a job that trains
    /// into a directory of its own (spectrum, top, a study's part) says how it is repeated.
    public var continuation: String?
    public var quiet = false
    /// Print the resolved configuration and the final line on standard output (rank 0); a sweep,
    /// whose groups run concurrently, turns this off and reports per point itself.
    public var announce = true

    public init(configuration: RunConfiguration, output: RunDirectory) {
        self.configuration = configuration
        self.output = output
    }

    /// Runs on `world` (the whole job, or a sweep's group). A run stopped by SIGTERM/SIGUSR1 writes
    /// its checkpoint (no params.npy) and throws `StoppedBySignal` on every rank.
    public func run(on world: Communicator) throws {
        try JobRun.perform("train", configuration: configuration, model: model, output: output, quiet: quiet, on: world) { run in
            try execute(&run)
        }
    }

    private func execute(_ run: inout JobRun) throws {
        let (world, progress) = (run.world, run.progress)
        let files = TrainRunFiles(directory: output)
        let continuation = self.continuation ?? "continue it with --resume \(output.path)"
        func requireNoFinishedRun() throws {
            // Another command's run first: its summary.json is no training run to continue.
            try RunDirectoryLock.refuseOtherKind("train", in: output)
            for name in ["train.csv", "params.npy", "summary.json"] where FileManager.default.fileExists(atPath: output.file(name)) {
                throw InputError("\(output.named) already holds a training run (\(name)); \(continuation) or choose another --out")
            }
        }
        let resumeStep: Int? = try world.agree { () throws -> Int? in
            if resume {
                guard FileManager.default.fileExists(atPath: output.path) else {
                    throw InputError("--resume '\(output.path)': no such run directory")
                }
                guard let last = files.checkpointSteps().last else {
                    throw InputError("--resume '\(output.path)' holds no params-<step>.npy checkpoint to resume from (set train.checkpoint-every)")
                }
                return last
            }
            try requireNoFinishedRun()
            return nil
        }

        let inputs = try run.inputs(configuration, given: model)
        let (split, dataset, model, m) = (inputs.split, inputs.dataset, inputs.model, inputs.m)
        try configuration.train.validate(samples: dataset.globalCount)
        if let top = configuration.train.trackTop {
            // The tracker's Lanczos keeps a replicated basis of ≈ 4K + 32 vectors of M, its block
            // buffers and the previous top K for the rotation: ≈ 6 vectors of M per tracked
            // eigenvector plus 40; refused before training, not at the first tracked step.
            let budget = try MemoryPlan.agreedBudget(on: world)
            try MemoryPlan.requireFits(top, setting: "train.track-top", holding: "the tracked eigenvectors, their Lanczos basis and buffers (≈ 6 vectors of M = \(m) each)",
                                       bytesEach: 48 * Double(m), baseBytes: MemoryPlan.processBaseline + 320 * Double(m), budget: budget)
        }

        var state: TrainingState
        if let step = resumeStep {
            let parameters = try inputs.readParameters(output.file(files.checkpointName(step)), on: world)
            var velocity: [Double]? = nil
            if configuration.train.momentum > 0 {
                velocity = try inputs.readParameters(output.file(files.velocityName(step)), on: world,
                                                     missing: "momentum is on but the run has no \(files.velocityName(step))")
            }
            state = TrainingState(step: step, parameters: parameters, velocity: velocity)
        } else if let start {
            state = TrainingState(step: 0, parameters: try inputs.readParameters(start, on: world, flag: "--start-from"))
        } else {
            let initial = configuration.initialParameters(for: model)
            state = TrainingState(step: 0, parameters: initial.θ)
            run.header.point = initial.name
        }
        run.header.point = resumeStep.map { "resumed at step \($0) (\(files.checkpointName($0)))" } ?? start ?? run.header.point

        // Inputs are good: from here on the run directory exists, and this job owns it. The
        // "no finished run here" check is repeated under the lock: another job may have written
        // one since the first check.
        try run.own { if resumeStep == nil { try requireNoFinishedRun() } }
        if world.isRoot { try files.startLog(resumingAt: resumeStep) }
        if world.isRoot && announce {
            print("landscape train: \(dataset.description)\(split.heldOut.map { " (+ \($0.globalCount) held out)" } ?? ""); \(model.summary), M = \(m); \(world.size) rank(s); seed \(configuration.seed)"
                  + (resumeStep.map { "; resuming at step \($0)" } ?? "") + (start.map { "; starting from \($0)" } ?? ""))
            print("# resolved configuration (\(output.file("config.toml")))")
            print(configuration.toml(runningOn: self.model), terminator: "")
            fflush(nil)
        }

        var trainer = Trainer(objective: DataParallelObjective(model: model, dataset: dataset, communicator: world),
                              specification: configuration.train, seed: configuration.seed)
        trainer.heldOut = split.heldOut.map { DataParallelObjective(model: model, dataset: $0, communicator: world) }
        trainer.stopOnSignal = true
        trainer.onRecord = { record in if world.isRoot { try files.append(record) } }
        if let top = configuration.train.trackTop {
            let tracker = SubspaceTracker(objective: trainer.objective, count: top, every: configuration.train.trackEvery ?? configuration.train.recordEvery,
                                          seed: configuration.seed, directory: output)
            if world.isRoot { try tracker.startLog(resumingAt: resumeStep) }
            trainer.onRecordPoint = { step, θ, evaluation in try tracker.record(step: step, parameters: θ, evaluation: evaluation) }
        }
        trainer.onCheckpoint = { state in if world.isRoot { try files.writeCheckpoint(state) } }
        let started = Stopwatch(), firstStep = state.step
        var lastReport = -1.0
        trainer.onProgress = { step, total, loss in
            let elapsed = started.seconds
            guard progress.enabled, elapsed - lastReport >= 2 || step == total else { return }
            lastReport = elapsed
            let rate = Double(step - firstStep) / max(elapsed, 1e-9)
            let eta = Double(total - step) / max(rate, 1e-9)
            progress.say(String(format: "step %d/%d  loss %.6g  %.1f steps/s  ETA %.0f s", step, total, loss, rate, eta))
        }

        let outcome: TrainingOutcome
        do {
            outcome = try run.timings.measure("train", on: world) { try trainer.run(from: state) }
        } catch let diverged as TrainingDiverged {
            // Every rank saw the same (allreduced) loss: fail together, with one message.
            _ = try world.agree { () throws -> Int in throw diverged }
            throw diverged
        }

        let heldOut = try trainer.heldOut?.evaluate(outcome.state.parameters)
        let header = try run.completedHeader()
        let (timings, seconds) = (run.timings, run.clock.seconds)
        if world.isRoot {
            // A signalled run is not finished: it leaves its checkpoint (not params.npy) for --resume.
            if outcome.reason != .signal { try output.writeVector(outcome.state.parameters, to: "params.npy") }
            // With checkpoints on, the final step is one too, so `--resume --steps more` can extend the run.
            if configuration.train.checkpointEvery > 0,
               !FileManager.default.fileExists(atPath: output.file(files.checkpointName(outcome.state.step))) {
                try files.writeCheckpoint(outcome.state)
            }
            let summary = TrainSummary(
                seed: configuration.seed, data: dataset.description, widths: model.layerWidths,
                parameters: m, samples: dataset.globalCount, ranks: world.size, step: outcome.state.step,
                finished: outcome.reason != .signal, stopReason: outcome.reason.rawValue, resumedFrom: resumeStep, startedFrom: start, loss: outcome.final.loss,
                accuracy: outcome.final.accuracy, gradientNorm: outcome.final.gradientNorm ?? .nan,
                heldOutSamples: split.heldOut?.globalCount ?? 0, heldOutLoss: heldOut?.loss, heldOutAccuracy: heldOut?.accuracy,
                seconds: seconds, trainingSeconds: timings.wallSeconds["train"] ?? 0,
                stepsPerSecond: Double(outcome.updates) / max(timings.wallSeconds["train"] ?? 0, 1e-9),
                peakResidentBytesPerRank: header.peakResidentBytesPerRank)
            try run.finish(summary, header: header)
            var accuracy = outcome.final.accuracy.map { String(format: ", accuracy %.4f", $0) } ?? ""
            if let heldOut { accuracy += String(format: "; held out: loss %.6g", heldOut.loss) + (heldOut.accuracy.map { String(format: ", accuracy %.4f", $0) } ?? "") }
            if announce { print(String(format: "step %d (%@): loss %.10g%@, gradient norm %.4g; %.1f s", outcome.state.step,
                         outcome.reason.rawValue, outcome.final.loss, accuracy, outcome.final.gradientNorm ?? .nan, seconds)) }
        }
        if outcome.reason == .signal {
            throw StoppedBySignal(message: "\(StopSignals.name(trainer.stopSignal)) at step \(outcome.state.step): wrote \(files.checkpointName(outcome.state.step)); \(continuation)")
        }
    }
}

/// summary.json of a training run.
package struct TrainSummary: Codable {
    package var command = "train"
    package var seed: UInt64
    package var data: String
    package var widths: [Int]
    package var parameters: Int
    package var samples: Int
    package var ranks: Int
    package var step: Int
    /// Whether the run ended by its own stop criteria (steps, a target, the wall time) rather than
    /// by a signal: a stopped run writes a summary too, and what reuses a run (a study) must tell
    /// the two apart. Always written; optional only so that older summaries still decode.
    package var finished: Bool?
    package var stopReason: String
    package var resumedFrom: Int?
    /// The params.npy the run started from, when not the seed's initialisation.
    package var startedFrom: String?
    package var loss: Double
    package var accuracy: Double?
    package var gradientNorm: Double
    package var heldOutSamples: Int
    package var heldOutLoss: Double?
    package var heldOutAccuracy: Double?
    package var seconds: Double
    package var trainingSeconds: Double
    package var stepsPerSecond: Double
    package var peakResidentBytesPerRank: [Int]

    package init(seed: UInt64, data: String, widths: [Int], parameters: Int, samples: Int, ranks: Int, step: Int, finished: Bool,
         stopReason: String, resumedFrom: Int?, startedFrom: String?, loss: Double, accuracy: Double?, gradientNorm: Double,
         heldOutSamples: Int, heldOutLoss: Double?, heldOutAccuracy: Double?, seconds: Double, trainingSeconds: Double, stepsPerSecond: Double, peakResidentBytesPerRank: [Int]) {
        self.seed = seed; self.data = data; self.widths = widths; self.parameters = parameters
        self.samples = samples; self.ranks = ranks; self.step = step; self.finished = finished; self.stopReason = stopReason
        self.resumedFrom = resumedFrom; self.startedFrom = startedFrom; self.loss = loss; self.accuracy = accuracy; self.gradientNorm = gradientNorm
        self.heldOutSamples = heldOutSamples; self.heldOutLoss = heldOutLoss; self.heldOutAccuracy = heldOutAccuracy
        self.seconds = seconds; self.trainingSeconds = trainingSeconds; self.stepsPerSecond = stepsPerSecond
        self.peakResidentBytesPerRank = peakResidentBytesPerRank
    }
}
