import Cluster
import Datasets
import Networks
import Objectives

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

/// Why training stopped.
public enum StopReason: String, Sendable, Codable {
    case steps, targetLoss = "target-loss", targetGradientNorm = "target-gradient-norm"
    /// SIGTERM or SIGUSR1 on some rank: a checkpoint of the current step was written.
    case signal
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

/// Gradient descent or minibatch SGD on a `DataParallelObjective`.
///
/// Every rank runs the same loop on the same parameters: the only communication is the allreduce
/// inside each gradient, so all ranks take identical steps and the trajectory does not depend on
/// the number of ranks (up to the rounding of the summation's grouping). Each iteration t:
/// evaluate what is due at step t (the full gradient for GD; the full loss for a record or a
/// checkpoint), refuse a non-finite loss, record, checkpoint, stop if a target or the step count
/// is reached, else update w ← w − η_t g (or v ← μ v + g, w ← w − η_t v) to step t + 1.
public struct Trainer {
    public let objective: DataParallelObjective
    public let specification: TrainingSpecification
    public let seed: UInt64
    /// Held-out data evaluated at every record (loss, accuracy, gradient norm); never trained on.
    public var heldOut: DataParallelObjective?

    public var onRecord: (TrainingRecord) throws -> Void = { _ in }
    public var onCheckpoint: (TrainingState) throws -> Void = { _ in }
    /// Check every step (one allreduce of one integer) whether any rank received SIGTERM/SIGUSR1
    /// (`StopSignals`); if so, checkpoint and stop with reason `.signal`.
    public var stopOnSignal = false
    /// The signal that stopped the run, if any.
    public private(set) var stopSignal = 0
    /// (step, total steps, latest loss) after every update.
    public var onProgress: (Int, Int, Double) -> Void = { _, _, _ in }

    public init(objective: DataParallelObjective, specification: TrainingSpecification, seed: UInt64) {
        self.objective = objective
        self.specification = specification
        self.seed = seed
    }

    public mutating func run(from start: TrainingState) throws -> TrainingOutcome {
        let spec = specification
        let n = objective.dataset.globalCount
        let total = spec.totalSteps(samples: n)
        let isGD = spec.algorithm == .gd
        var schedule = isGD ? nil : MinibatchSchedule(samples: n, batch: spec.batchSize(samples: n), seed: seed)
        var state = start
        if spec.momentum > 0 && state.velocity == nil {
            state.velocity = [Double](repeating: 0, count: state.parameters.count)
        }
        var lastCheckpoint: Int? = start.step > 0 ? start.step : nil
        let clock = ContinuousClock.now
        func seconds() -> Double {
            let d = ContinuousClock.now - clock
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }

        while true {
            let t = state.step
            let recordDue = t % spec.recordEvery == 0 || t >= total
            // Every rank learns of a signal any rank received, at the same step.
            let signalled = stopOnSignal ? try objective.communicator.allreduce(Int(StopSignals.pending), .max) : 0
            let resumedHere = t == start.step && t > 0   // its checkpoint exists already
            let checkpointDue = (spec.checkpointEvery > 0 && t % spec.checkpointEvery == 0 || signalled != 0) && !resumedHere
            var full: Evaluation? = nil
            if isGD || recordDue || checkpointDue || signalled != 0 {
                full = try objective.evaluate(state.parameters, gradient: isGD || recordDue)
            }
            if let full {
                guard full.loss.isFinite else {
                    throw TrainingDiverged(step: t, loss: full.loss, learningRate: spec.learningRate(at: t), lastCheckpoint: lastCheckpoint)
                }
                if checkpointDue {
                    try onCheckpoint(state)
                    lastCheckpoint = t
                }
                var reason: StopReason? = nil
                if t >= total { reason = .steps }
                if let target = spec.targetLoss, full.loss <= target { reason = .targetLoss }
                if let target = spec.targetGradientNorm, let norm = full.gradientNorm, norm <= target { reason = .targetGradientNorm }
                if signalled != 0 {
                    reason = .signal
                    stopSignal = signalled
                }
                if recordDue || reason != nil, let norm = full.gradientNorm {
                    try onRecord(TrainingRecord(step: t, loss: full.loss, accuracy: full.accuracy, gradientNorm: norm,
                                                heldOut: try heldOut?.evaluate(state.parameters),
                                                learningRate: spec.learningRate(at: t), seconds: seconds()))
                }
                if let reason {
                    let final = full.gradientNorm == nil ? try objective.evaluate(state.parameters) : full
                    if !recordDue, full.gradientNorm == nil, let norm = final.gradientNorm {
                        try onRecord(TrainingRecord(step: t, loss: final.loss, accuracy: final.accuracy, gradientNorm: norm,
                                                    heldOut: try heldOut?.evaluate(state.parameters),
                                                    learningRate: spec.learningRate(at: t), seconds: seconds()))
                    }
                    return TrainingOutcome(state: state, final: final, reason: reason, updates: t - start.step)
                }
            }

            let step: Evaluation
            if isGD {
                step = full!
            } else {
                step = try objective.minibatch(state.parameters, indices: schedule!.indices(step: t))
                guard step.loss.isFinite else {
                    throw TrainingDiverged(step: t, loss: step.loss, learningRate: spec.learningRate(at: t), lastCheckpoint: lastCheckpoint)
                }
            }
            let eta = spec.learningRate(at: t)
            let g = step.gradient!
            if var v = state.velocity {
                let mu = spec.momentum
                for i in v.indices {
                    v[i] = mu * v[i] + g[i]
                    state.parameters[i] -= eta * v[i]
                }
                state.velocity = v
            } else {
                for i in g.indices { state.parameters[i] -= eta * g[i] }
            }
            state.step = t + 1
            onProgress(t + 1, total, step.loss)
        }
    }
}
