/// How an iterate moves along a descent direction g (a gradient, a force with its sign flipped):
/// θ ← θ − η · (the rule's step). A rule's own state (a velocity) lives beside θ in `auxiliary`,
/// so that it is checkpointed and resumed with the iterate.
public protocol UpdateRule: Sendable {
    /// The auxiliary vector a fresh run starts from (nil: the rule keeps none).
    func initialAuxiliary(count: Int) -> [Double]?
    func apply(to parameters: inout [Double], auxiliary: inout [Double]?, direction g: [Double], learningRate η: Double)
}

/// θ ← θ − η g.
public struct GradientDescent: UpdateRule {
    public init() {}
    public func initialAuxiliary(count: Int) -> [Double]? { nil }
    public func apply(to parameters: inout [Double], auxiliary: inout [Double]?, direction g: [Double], learningRate η: Double) {
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
    public func apply(to parameters: inout [Double], auxiliary: inout [Double]?, direction g: [Double], learningRate η: Double) {
        guard var v = auxiliary else { preconditionFailure("momentum needs its velocity") }
        auxiliary = nil   // v uniquely referenced while it is updated in place
        for i in v.indices {
            v[i] = momentum * v[i] + g[i]
            parameters[i] -= η * v[i]
        }
        auxiliary = v
    }
}
