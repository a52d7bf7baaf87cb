import Cluster
import Datasets
import Networks
import Objectives
import Optimization

/// Where training is: after `step` updates, the parameters and (with momentum) the velocity.
public struct TrainingState: Sendable, Equatable {
    public var step: Int
    public var parameters: [Double]
    /// The heavy-ball velocity v; nil without momentum.
    public var velocity: [Double]?

    public init(step: Int, parameters: [Double], velocity: [Double]? = nil) {
        self.step = step
        self.parameters = parameters
        self.velocity = velocity
    }
}

/// One row of train.csv: the full-data loss, accuracy and gradient norm after `step` updates.
public struct TrainingRecord: Sendable {
    public var step: Int
    public var loss: Double
    public var accuracy: Double?
    public var gradientNorm: Double
    /// The same on the held-out data, when there is any.
    public var heldOut: Evaluation?
    public var learningRate: Double
    /// Seconds since this process started training.
    public var seconds: Double
}

public struct TrainingOutcome: Sendable {
    public var state: TrainingState
    /// L, accuracy, ∇L and ‖∇L‖ at the final parameters.
    public var final: Evaluation
    public var reason: StopReason
    /// Updates done by this run (not counting those before a resumed checkpoint).
    public var updates: Int
}

/// The loss became NaN or ±∞: training stops and says at which step.
public struct TrainingDiverged: Error, CustomStringConvertible {
    public let step: Int
    public let loss: Double
    public let learningRate: Double
    /// The step of the last checkpoint written (whose loss was finite), if any.
    public let lastCheckpoint: Int?

    public var description: String {
        "training diverged: the loss is \(loss) at step \(step) (learning rate \(learningRate); try a smaller one); "
            + (lastCheckpoint.map { "the last finite checkpoint is params-\($0).npy" } ?? "no checkpoint was written")
    }
}

/// Gradient descent (optionally with heavy-ball momentum) or minibatch SGD on a
/// `DataParallelObjective`, run by the shared `IterativeDriver`.
///
/// Every rank runs the same loop on the same parameters: the only communication is the allreduce
/// inside each gradient (and the driver's signal check), so all ranks take identical steps and the
/// trajectory does not depend on the number of ranks (up to the rounding of the summation's
/// grouping). The update is w ← w − η_t g (`GradientDescent`) or v ← μ v + g, w ← w − η_t v
/// (`Momentum`), g the full gradient (GD) or the minibatch's (SGD), plus λw with weight decay
/// (`TrainingSpecification.weightDecay`: the energy L + λ‖w‖²/2).
public struct Trainer {
    public let objective: DataParallelObjective
    public let specification: TrainingSpecification
    public let seed: UInt64
    /// Held-out data evaluated at every record (loss, accuracy, gradient norm); never trained on.
    public var heldOut: DataParallelObjective?

    public var onRecord: (TrainingRecord) throws -> Void = { _ in }
    /// At the same record steps, before `onRecord` (collective): the step, θ and the full-data
    /// evaluation with its gradient — what a tracker of the curvature along the run needs.
    public var onRecordPoint: ((Int, [Double], Evaluation) throws -> Void)?
    public var onCheckpoint: (TrainingState) throws -> Void = { _ in }
    /// Check every step (one allreduce) whether any rank received SIGTERM/SIGUSR1 (`StopSignals`);
    /// if so, checkpoint and stop with reason `.signal`.
    public var stopOnSignal = false
    /// Stop (with a checkpoint) after this many seconds of training.
    public var wallSeconds: Double?
    /// The signal that stopped the run, if any.
    public private(set) var stopSignal = 0
    /// (step, total steps, latest loss) after every update.
    public var onProgress: (Int, Int, Double) -> Void = { _, _, _ in }

    public init(objective: DataParallelObjective, specification: TrainingSpecification, seed: UInt64) {
        self.objective = objective
        self.specification = specification
        self.seed = seed
    }

    /// The update rule the specification asks for.
    public var rule: any UpdateRule {
        specification.momentum > 0 ? Momentum(momentum: specification.momentum) : GradientDescent()
    }

    public mutating func run(from start: TrainingState) throws -> TrainingOutcome {
        let spec = specification
        let n = objective.dataset.globalCount
        let total = spec.totalSteps(samples: n)
        var problem = TrainingProblem(objective: objective, specification: spec, rule: rule,
                                      schedule: spec.algorithm == .gd ? nil
                                          : MinibatchSchedule(samples: n, batch: spec.batchSize(samples: n), seed: seed))
        var state = start
        if state.velocity == nil { state.velocity = problem.rule.initialAuxiliary(count: state.parameters.count) }

        var driver = IterativeDriver<TrainingProblem>(
            criteria: StopCriteria(steps: total, targetValue: spec.targetLoss, targetGradientNorm: spec.targetGradientNorm,
                                   wallSeconds: wallSeconds),
            recordEvery: spec.recordEvery, checkpointEvery: spec.checkpointEvery, communicator: objective.communicator)
        driver.stopOnSignal = stopOnSignal
        let record = onRecord, heldOut = heldOut, point = onRecordPoint
        driver.onRecord = { step, state, full, seconds in
            try point?(step, state.parameters, full)
            try record(TrainingRecord(step: step, loss: full.loss, accuracy: full.accuracy, gradientNorm: full.gradientNorm!,
                                      heldOut: try heldOut?.evaluate(state.parameters),
                                      learningRate: spec.learningRate(at: step), seconds: seconds))
        }
        driver.onCheckpoint = onCheckpoint
        driver.onProgress = onProgress
        let outcome = try driver.run(&problem, from: state)
        stopSignal = outcome.signal
        return TrainingOutcome(state: outcome.state, final: outcome.final, reason: outcome.reason, updates: outcome.updates)
    }
}

/// Training as an `IterativeProblem`: measure = the full-data loss (and gradient), advance = one
/// update along the full or minibatch gradient.
struct TrainingProblem: IterativeProblem {
    let objective: DataParallelObjective
    let specification: TrainingSpecification
    let rule: any UpdateRule
    var schedule: MinibatchSchedule?

    var measuresEveryStep: Bool { schedule == nil }

    /// The energy trained on: L, plus λ‖θ‖²/2 with weight decay (so train.csv's loss, the target
    /// loss and gradient norm, and the final evaluation are the energy's).
    func measure(_ state: TrainingState, gradient: Bool) throws -> Evaluation {
        try objective.evaluate(state.parameters, gradient: gradient).addingL2(specification.weightDecay, at: state.parameters)
    }

    mutating func advance(_ state: inout TrainingState, measured: Evaluation?) throws -> Double {
        let t = state.step
        let step: Evaluation
        if schedule != nil {
            step = try objective.minibatch(state.parameters, indices: schedule!.indices(step: t)).addingL2(specification.weightDecay, at: state.parameters)
            guard step.loss.isFinite else { return step.loss }   // the driver stops: diverged
        } else {
            step = measured!
        }
        try rule.apply(to: &state.parameters, auxiliary: &state.velocity, direction: step.gradient!,
                   learningRate: specification.learningRate(at: t))
        state.step = t + 1
        return step.loss
    }

    func diverged(at step: Int, value: Double, lastCheckpoint: Int?) -> Error {
        TrainingDiverged(step: step, loss: value, learningRate: specification.learningRate(at: step), lastCheckpoint: lastCheckpoint)
    }
}

extension TrainingState: Iterate {}

extension Evaluation: Observation {
    public var value: Double { loss }
}
