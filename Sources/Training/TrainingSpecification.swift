import Cluster

/// How to train: the `[train]` table of a run configuration.
public struct TrainingSpecification: Sendable, Codable, Equatable {
    public enum Algorithm: String, CaseIterable, Sendable, Codable {
        /// Full-batch gradient descent.
        case gd
        /// Minibatch stochastic gradient descent over seeded per-epoch permutations.
        case sgd
    }

    public var algorithm: Algorithm = .gd
    /// SGD minibatch size (required for sgd; for gd it may only be N).
    public var batch: Int?
    public var learningRate = 0.1
    /// Number of updates; nil when `epochs` is given instead (defaults to 1000 when neither is).
    public var steps: Int?
    /// Passes over the data: steps = epochs · ⌊N / batch⌋ (1 step per epoch for gd).
    public var epochs: Int?
    /// Heavy-ball momentum μ: v ← μ v + ∇L, w ← w − η v. 0 (the default) is plain (S)GD.
    public var momentum = 0.0
    /// λ of the L2 term: training descends the energy L + λ‖θ‖²/2 (gradient ∇L + λθ), the
    /// convention of `critical.l2` — so a trajectory ends near a minimum of the energy a
    /// critical-point search with the same λ certifies. 0 (the default) trains on L alone.
    public var weightDecay = 0.0
    /// Step schedule: η_t = η · decayFactor^⌊t / decayEvery⌋; decayEvery = 0 keeps η constant.
    public var decayEvery = 0
    public var decayFactor = 1.0
    /// Stop early once the full-data loss (or gradient norm) is at or below this.
    public var targetLoss: Double?
    public var targetGradientNorm: Double?
    /// A train.csv row every this many steps (and at the end).
    public var recordEvery = 10
    /// A checkpoint params-<step>.npy every this many steps; 0 = only the final params.npy.
    public var checkpointEvery = 0
    /// Track the top-K eigenspace of H along the run (Gur-Ari et al.: does the gradient lie in
    /// it?): at every `trackEvery`-th step (a multiple of recordEvery; nil: every record) Lanczos
    /// finds H's K largest eigenpairs and track.csv gets the fraction of ‖∇L‖² inside their span
    /// and the overlap with the previous tracked span. nil: off.
    public var trackTop: Int?
    public var trackEvery: Int?

    public init() {}

    /// The checks of the numbers alone (no data needed).
    public func validate() throws {
        guard learningRate > 0, learningRate.isFinite else { throw InputError(setting: "train.learning-rate", "must be > 0 (got \(learningRate))") }
        if let steps, steps < 1 { throw InputError(setting: "train.steps", "must be ≥ 1 (got \(steps))") }
        if let epochs, epochs < 1 { throw InputError(setting: "train.epochs", "must be ≥ 1 (got \(epochs))") }
        if steps != nil && epochs != nil { throw InputError("give train.steps or train.epochs, not both") }
        if let batch, batch < 1 { throw InputError(setting: "train.batch", "must be ≥ 1 (got \(batch))") }
        if algorithm == .sgd && batch == nil { throw InputError("train.algorithm = \"sgd\" needs train.batch (the minibatch size)") }
        guard momentum >= 0, momentum < 1 else { throw InputError(setting: "train.momentum", "must be in [0, 1) (got \(momentum))") }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw InputError(setting: "train.weight-decay", "= \(weightDecay): give a finite L2 weight λ ≥ 0 (training descends L + λ‖θ‖²/2)")
        }
        guard decayEvery >= 0 else { throw InputError(setting: "train.decay-every", "must be ≥ 0 (got \(decayEvery))") }
        guard decayFactor > 0, decayFactor.isFinite else { throw InputError(setting: "train.decay-factor", "must be > 0 (got \(decayFactor))") }
        guard recordEvery >= 1 else { throw InputError(setting: "train.record-every", "must be ≥ 1 (got \(recordEvery))") }
        guard checkpointEvery >= 0 else { throw InputError(setting: "train.checkpoint-every", "must be ≥ 0 (got \(checkpointEvery))") }
        if let trackTop, trackTop < 1 { throw InputError(setting: "train.track-top", "must be ≥ 1 (got \(trackTop)): the number of top eigenvectors of H to track") }
        if let trackEvery {
            guard trackEvery >= 1, trackEvery % recordEvery == 0 else {
                throw InputError(setting: "train.track-every", "= \(trackEvery) must be a positive multiple of train.record-every = \(recordEvery) (tracking happens at record steps)")
            }
            if trackTop == nil { throw InputError(setting: "train.track-every", "is set but train.track-top is not; give the number K of top eigenvectors to track") }
        }
        if let targetLoss, !targetLoss.isFinite { throw InputError(setting: "train.target-loss", "must be finite") }
        if let targetGradientNorm, !(targetGradientNorm >= 0) { throw InputError(setting: "train.target-gradient-norm", "must be ≥ 0") }
    }

    /// The checks that need N.
    public func validate(samples n: Int) throws {
        try validate()
        if let batch, batch > n {
            throw InputError(setting: "train.batch", "= \(batch) is larger than the \(n) samples; use a batch of at most \(n)")
        }
        if algorithm == .gd, let batch, batch != n {
            throw InputError("train.batch = \(batch) with algorithm gd, which always uses all \(n) samples; set train.algorithm = \"sgd\" for minibatches")
        }
    }

    /// The minibatch size for N samples.
    public func batchSize(samples n: Int) -> Int { algorithm == .gd ? n : batch! }

    /// The number of updates to run for N samples.
    public func totalSteps(samples n: Int) -> Int {
        if let steps { return steps }
        if let epochs { return epochs * max(1, n / batchSize(samples: n)) }
        return 1000
    }

    /// η_t for the update that takes step t to step t + 1.
    public func learningRate(at t: Int) -> Double {
        guard decayEvery > 0 else { return learningRate }
        return learningRate * pow(decayFactor, Double(t / decayEvery))
    }
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
