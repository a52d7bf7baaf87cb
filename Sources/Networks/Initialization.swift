import SeededRandom

/// How weights are drawn; biases (if the network has them) always start at 0.
///
/// fan_in = n_{l−1}, fan_out = n_l:
/// * He (Kaiming): variance 2/fan_in — normal N(0, 2/fan_in) or uniform U(±√(6/fan_in)).
/// * Glorot (Xavier): variance 2/(fan_in + fan_out) — normal, or uniform U(±√(6/(fan_in + fan_out))).
public enum Initialization: String, CaseIterable, Sendable, Codable {
    case heNormal = "he-normal"
    case heUniform = "he-uniform"
    case glorotNormal = "glorot-normal"
    case glorotUniform = "glorot-uniform"

    /// The stream of SplitMix64 reserved for parameter initialisation (data uses others).
    public static let stream: UInt64 = 0x1A17

    /// θ₀ as a function of the seed alone: the weights of layer l come from
    /// `SplitMix64(seed).fork(stream).fork(l)`, drawn in θ order, so any rank (or any other
    /// program that ports SplitMix64) gets the same vector; biases are 0. A network without biases
    /// gets the same weights: the draws do not depend on the bias blocks.
    ///
    /// Fans come from each weight block's shape, as JAX's stax `init_fun` takes them: the shape is
    /// [out, in, receptive field…] (a dense weight [n_l, n_{l−1}], a filter bank [c_out, c_in, k, k]),
    /// so fan_in = in·receptive and fan_out = out·receptive. For an MLP that is n_{l−1} and n_l.
    public func parameters(for blocks: [ParameterBlock], count: Int, seed: UInt64) -> [Double] {
        var theta = [Double](repeating: 0, count: count)
        let base = SplitMix64(seed: seed).fork(Self.stream)
        // One stream per layer: a layer with several weight blocks draws them in θ order from it.
        var streams: [Int: SplitMix64] = [:]
        for block in blocks where block.role == .weight {
            var random = streams[block.layer] ?? base.fork(UInt64(block.layer))
            let receptive = Double(block.shape.dropFirst(2).reduce(1, *))
            let fanOut = Double(block.shape[0]) * receptive
            let fanIn = Double(block.shape.count > 1 ? block.shape[1] : 1) * receptive
            let range = block.range
            switch self {
            case .heNormal:
                let sd = (2 / fanIn).squareRoot()
                for i in range { theta[i] = sd * random.nextNormal() }
            case .glorotNormal:
                let sd = (2 / (fanIn + fanOut)).squareRoot()
                for i in range { theta[i] = sd * random.nextNormal() }
            case .heUniform:
                let limit = (6 / fanIn).squareRoot()
                for i in range { theta[i] = limit * (2 * random.nextUniform() - 1) }
            case .glorotUniform:
                let limit = (6 / (fanIn + fanOut)).squareRoot()
                for i in range { theta[i] = limit * (2 * random.nextUniform() - 1) }
            }
            streams[block.layer] = random
        }
        return theta
    }

    /// θ₀ of `model` (its parameter blocks) for `seed`.
    public func parameters(for model: any Model, seed: UInt64) -> [Double] {
        parameters(for: model.parameterBlocks, count: model.parameterCount, seed: seed)
    }
}
