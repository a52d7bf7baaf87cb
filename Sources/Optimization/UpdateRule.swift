import Support

/// How an iterate moves along a descent direction g (a gradient, a force with its sign flipped):
/// θ ← θ − η · (the rule's step). A rule's own state (a velocity) lives beside θ in `auxiliary`,
/// so that it is checkpointed and resumed with the iterate.
public protocol UpdateRule: Sendable {
    /// The auxiliary vector a fresh run starts from (nil: the rule keeps none).
    func initialAuxiliary(count: Int) -> [Double]?
    func apply(to parameters: inout [Double], auxiliary: inout [Double]?, direction g: [Double], learningRate η: Double) throws
}

/// θ ← θ − η g.
public struct GradientDescent: UpdateRule {
    public init() {}
    public func initialAuxiliary(count: Int) -> [Double]? { nil }
    public func apply(to parameters: inout [Double], auxiliary: inout [Double]?, direction g: [Double], learningRate η: Double) throws {
        for i in g.indices { parameters[i] -= η * g[i] }
    }
}

/// Heavy-ball momentum: v ← μ v + g, θ ← θ − η v (v = 0 at the start).
public struct Momentum: UpdateRule {
    public let momentum: Double
    public init(momentum: Double) {
        precondition(momentum >= 0 && momentum < 1, "momentum must be in [0, 1)")
        self.momentum = momentum
    }
    public func initialAuxiliary(count: Int) -> [Double]? { [Double](repeating: 0, count: count) }
    public func apply(to parameters: inout [Double], auxiliary: inout [Double]?, direction g: [Double], learningRate η: Double) throws {
        guard var v = auxiliary else { preconditionFailure("momentum needs its velocity") }
        auxiliary = nil   // v uniquely referenced while it is updated in place
        for i in v.indices {
            v[i] = momentum * v[i] + g[i]
            parameters[i] -= η * v[i]
        }
        auxiliary = v
    }
}

/// FIRE, the fast inertial relaxation engine (Bitzek, Koskinen, Gähler, Moseler & Gumbsch 2006),
/// the usual minimiser of elastic bands: damped dynamics along the force F = −g whose velocity is
/// steered towards F and whose time step grows while the motion goes downhill, and that stops
/// dead (v = 0, smaller step) as soon as it goes uphill (F·v ≤ 0).
///
/// The time step is Δt = η·s, the scale s starting at 1 and bounded by `maximumScale`, so the
/// learning rate keeps its meaning (the first step from rest moves θ by η²‖F‖).
/// `auxiliary` holds the velocity and then [time scale, mixing α, downhill steps], so a band resumed
/// from a checkpoint continues exactly.
///
/// On a vector sharded by rows (an elastic band spread over ranks), `sums` makes the power F·v and
/// the norms whole, so every shard takes the same branch and keeps the same three scalars; the
/// velocity's rows stay with the shard.
public struct FIRE: UpdateRule {
    public var maximumScale = 10.0
    public var increase = 1.1, decrease = 0.5
    public var initialMixing = 0.1, mixingDecay = 0.99
    /// Downhill steps before the time step may grow.
    public var delay = 5
    /// How this shard's partial sums become whole (`.whole`: the vector is not sharded).
    public var sums: ShardSums

    public init(sums: ShardSums = .whole) { self.sums = sums }

    public func initialAuxiliary(count: Int) -> [Double]? {
        [Double](repeating: 0, count: count) + [1, initialMixing, 0]
    }

    public func apply(to parameters: inout [Double], auxiliary: inout [Double]?, direction g: [Double], learningRate η: Double) throws {
        guard var v = auxiliary, v.count == g.count + 3 else { preconditionFailure("FIRE needs its velocity and scalars") }
        auxiliary = nil
        let n = g.count
        var (scale, mixing, downhill) = (v[n], v[n + 1], v[n + 2])
        var power = 0.0, vv = 0.0, ff = 0.0
        for i in 0..<n { power -= g[i] * v[i]; vv += v[i] * v[i]; ff += g[i] * g[i] }
        let whole = try sums([power, vv, ff])
        (power, vv, ff) = (whole[0], whole[1], whole[2])
        // At rest (a fresh start) nothing has gone uphill yet: Bitzek et al. take the MD step before
        // they test the power, so the first step is not a restart with a halved time step.
        if power > 0 || vv == 0 {
            // Steer the velocity towards the force, keeping its length.
            let steer = ff > 0 ? mixing * vv.squareRoot() / ff.squareRoot() : 0
            for i in 0..<n { v[i] = (1 - mixing) * v[i] - steer * g[i] }
            downhill += 1
            if downhill > Double(delay) {
                scale = min(scale * increase, maximumScale)
                mixing *= mixingDecay
            }
        } else {
            for i in 0..<n { v[i] = 0 }
            scale *= decrease
            mixing = initialMixing
            downhill = 0
        }
        let dt = η * scale
        for i in 0..<n {
            v[i] -= dt * g[i]
            parameters[i] += dt * v[i]
        }
        v[n] = scale; v[n + 1] = mixing; v[n + 2] = downhill
        auxiliary = v
    }
}
