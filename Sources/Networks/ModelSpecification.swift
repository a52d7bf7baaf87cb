/// What network to build: the `[model]` table of a run configuration. Input and output sizes
/// come from the data (d features, k classes or targets).
public struct ModelSpecification: Sendable, Codable, Equatable {
    /// Hidden widths n₁ … n_{L−1}; empty for a linear (affine) model.
    public var layers = [30, 30]
    public var activation: Activation = .relu
    public var loss: Loss = .crossEntropy
    public var initialization: Initialization = .heNormal
    /// Whether every affine layer has a bias: z_l = W_l a_{l−1} + b_l, or z_l = W_l a_{l−1}
    /// (Pennington & Bahri's networks: M = 512 for 16-16-16, not 544).
    public var bias = true

    public init() {}

    /// Every field, as the synthesised decoder would read it, but `bias` may be absent: a
    /// specification encoded before the setting existed described a network with biases.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layers = try c.decode([Int].self, forKey: .layers)
        activation = try c.decode(Activation.self, forKey: .activation)
        loss = try c.decode(Loss.self, forKey: .loss)
        initialization = try c.decode(Initialization.self, forKey: .initialization)
        bias = try c.decodeIfPresent(Bool.self, forKey: .bias) ?? true
    }

    /// nil when valid, else the key at fault and what is wrong with it.
    public func problem() -> (setting: String, detail: String)? {
        if let bad = layers.first(where: { $0 < 1 }) { return ("model.layers", "must all be ≥ 1 (got \(bad) in \(layers))") }
        return nil
    }

    /// M for d inputs and k outputs, or nil when it would overflow (absurd configurations).
    public func parameterCount(inputs d: Int, outputs k: Int) -> Int? {
        ParameterLayout.parameterCount(widths: [d] + layers + [k], biases: bias)
    }

    /// The model for d inputs and k outputs. The one place that names the MLP: everything above
    /// works on `any Model`.
    public func model(inputs d: Int, outputs k: Int) -> any Model {
        MultilayerPerceptron(widths: [d] + layers + [k], biases: bias, activation: activation, loss: loss)
    }
}
