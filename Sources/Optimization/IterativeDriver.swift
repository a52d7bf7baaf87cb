import Cluster
import Support

/// What an iterative method measures at a point: the objective's value and, when computed, the
/// norm of its gradient (or of the force — whatever the stop criteria compare).
public protocol Observation: Sendable {
    var value: Double { get }
    var gradientNorm: Double? { get }
}

/// A point of an iteration: anything with a step counter (parameters and velocity; a band of
/// pivots; a Newton iterate).
public protocol Iterate: Sendable {
    var step: Int { get set }
}

/// The part of an iterative method that is not the loop: measure the objective at an iterate,
/// and advance it by one update. Training (GD, momentum, SGD), nudged elastic bands and
/// ‖∇L‖² minimisation are problems; `IterativeDriver` is the loop they share.
public protocol IterativeProblem {
    associatedtype State: Iterate
    associatedtype Observed: Observation

    /// Whether every update needs the full measurement (GD's gradient is the full one; SGD
    /// measures only when a record or checkpoint is due).
    var measuresEveryStep: Bool { get }

    /// The full objective at `state`; the gradient (norm) only when `gradient` is true.
    mutating func measure(_ state: State, gradient: Bool) throws -> Observed

    /// One update: `state` at step t → step t + 1. `measured` is the full measurement at t when
    /// one was taken. Returns the value to show as progress (e.g. the minibatch loss); a
    /// non-finite one stops the run as diverged.
    mutating func advance(_ state: inout State, measured: Observed?) throws -> Double

    /// The error to throw when a measured value is not finite (NaN or ±∞) at `step`.
    func diverged(at step: Int, value: Double, lastCheckpoint: Int?) -> Error

    /// A reason of the problem's own to stop at the state just measured (a line search that found
    /// no lower point); nil to go on. Every rank must give the same answer.
    var requestedStop: StopReason? { get }
}

extension IterativeProblem {
    public var requestedStop: StopReason? { nil }
}

/// Why an iteration stopped.
public enum StopReason: String, Sendable, Codable {
    case steps
    case targetLoss = "target-loss"
    case targetGradientNorm = "target-gradient-norm"
    /// The wall-time budget ran out: a checkpoint of the current step was written.
    case wallTime = "wall-time"
    /// SIGTERM or SIGUSR1 on some rank: a checkpoint of the current step was written.
    case signal
    /// The problem could not make progress (`IterativeProblem.requestedStop`).
    case stalled
}

/// When to stop: a step budget, a target value, a target gradient norm, a wall-time budget.
public struct StopCriteria: Sendable {
    /// Stop when the step counter reaches this.
    public var steps: Int
    public var targetValue: Double?
    public var targetGradientNorm: Double?
    /// Seconds of this run (rank 0's clock decides, so every rank stops at the same step).
    public var wallSeconds: Double?

    public init(steps: Int, targetValue: Double? = nil, targetGradientNorm: Double? = nil, wallSeconds: Double? = nil) {
        self.steps = steps
        self.targetValue = targetValue
        self.targetGradientNorm = targetGradientNorm
        self.wallSeconds = wallSeconds
    }
}

public struct IterationOutcome<State: Iterate, Observed: Observation> {
    public var state: State
    /// The measurement (with its gradient) at the final state.
    public var final: Observed
    public var reason: StopReason
    /// Updates done by this run (not counting those before a resumed checkpoint).
    public var updates: Int
    /// The signal that stopped the run (0 unless `reason == .signal`).
    public var signal: Int
}

/// The one loop every iterative method runs on: records, checkpoints, stop criteria, signals and
/// progress, around a problem's measure/advance.
///
/// Every rank runs the same loop on the same iterate: the only communication is the problem's
/// own (allreduces inside its measurements) plus one allreduce per step when signals or a wall-time
/// budget are watched, so all ranks decide everything at the same step and the trajectory does not
/// depend on the number of ranks. Each iteration t: measure what is due at t (always, for a problem
/// that measures every step; else for a record or a checkpoint), refuse a non-finite value,
/// checkpoint, stop if a criterion holds, record, else advance to t + 1.
public struct IterativeDriver<Problem: IterativeProblem> {
    public typealias State = Problem.State
    public typealias Observed = Problem.Observed

    public var criteria: StopCriteria
    /// A record (row of the log) every this many steps, and at the end.
    public var recordEvery: Int
    /// A checkpoint every this many steps (0: none), and when a signal or the wall time stops the run.
    public var checkpointEvery: Int
    /// The ranks that iterate together (signals and the wall clock are agreed over them).
    public var communicator: Communicator
    /// Watch SIGTERM/SIGUSR1 (`StopSignals`): checkpoint and stop with reason `.signal`.
    public var stopOnSignal = false

    /// (step, state, measurement with its gradient, seconds since the run started).
    public var onRecord: (Int, State, Observed, Double) throws -> Void = { _, _, _, _ in }
    public var onCheckpoint: (State) throws -> Void = { _ in }
    /// (step, total steps, progress value) after every update.
    public var onProgress: (Int, Int, Double) -> Void = { _, _, _ in }

    public init(criteria: StopCriteria, recordEvery: Int, checkpointEvery: Int, communicator: Communicator) {
        precondition(recordEvery >= 1 && checkpointEvery >= 0)
        self.criteria = criteria
        self.recordEvery = recordEvery
        self.checkpointEvery = checkpointEvery
        self.communicator = communicator
    }

    public func run(_ problem: inout Problem, from start: State) throws -> IterationOutcome<State, Observed> {
        let total = criteria.steps
        var state = start
        var lastCheckpoint: Int? = start.step > 0 ? start.step : nil
        let clock = Stopwatch()
        let watchesClock = criteria.wallSeconds != nil

        while true {
            let t = state.step
            let recordDue = t % recordEvery == 0 || t >= total
            // Every rank learns of a signal any rank received, and of rank 0's clock, at the same step.
            var signalled = 0, outOfTime = false
            if stopOnSignal || watchesClock {
                var flags = [stopOnSignal ? Int(StopSignals.pending) : 0, 0]
                if communicator.isRoot, let limit = criteria.wallSeconds, clock.seconds >= limit { flags[1] = 1 }
                try communicator.allreduce(&flags, .max)
                signalled = flags[0]
                outOfTime = flags[1] != 0
            }
            let interrupted = signalled != 0 || outOfTime
            let resumedHere = t == start.step && t > 0   // its checkpoint exists already
            let checkpointDue = (checkpointEvery > 0 && t % checkpointEvery == 0 || interrupted) && !resumedHere
            var full: Observed? = nil
            if problem.measuresEveryStep || recordDue || checkpointDue || interrupted {
                full = try problem.measure(state, gradient: problem.measuresEveryStep || recordDue)
            }
            if let full {
                guard full.value.isFinite else { throw problem.diverged(at: t, value: full.value, lastCheckpoint: lastCheckpoint) }
                if checkpointDue {
                    try onCheckpoint(state)
                    lastCheckpoint = t
                }
                var reason: StopReason? = nil
                if t >= total { reason = .steps }
                if let stop = problem.requestedStop { reason = stop }
                if let target = criteria.targetValue, full.value <= target { reason = .targetLoss }
                if let target = criteria.targetGradientNorm, let norm = full.gradientNorm, norm <= target { reason = .targetGradientNorm }
                if outOfTime { reason = .wallTime }
                if signalled != 0 { reason = .signal }
                if recordDue || reason != nil, full.gradientNorm != nil {
                    try onRecord(t, state, full, clock.seconds)
                }
                if let reason {
                    let final = full.gradientNorm == nil ? try problem.measure(state, gradient: true) : full
                    if !recordDue, full.gradientNorm == nil, final.gradientNorm != nil {
                        try onRecord(t, state, final, clock.seconds)
                    }
                    return IterationOutcome(state: state, final: final, reason: reason, updates: t - start.step, signal: signalled)
                }
            }
            let shown = try problem.advance(&state, measured: full)
            // A stochastic estimate (a minibatch loss) can diverge between full measurements; the
            // problem then need not have finished its update.
            guard shown.isFinite else { throw problem.diverged(at: t, value: shown, lastCheckpoint: lastCheckpoint) }
            precondition(state.step == t + 1, "an update must advance the step counter by one")
            onProgress(t + 1, total, shown)
        }
    }
}
