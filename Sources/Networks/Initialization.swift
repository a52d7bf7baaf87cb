import SeededRandom

/// How weights are drawn; biases always start at 0.
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

    /// θ₀ as a function of the seed alone: layer l's weights come from
    /// `SplitMix64(seed).fork(stream).fork(l)`, drawn in θ order, so any rank (or any
    /// other program that ports SplitMix64) gets the same vector.
    public func parameters(for layout: ParameterLayout, seed: UInt64) -> [Double] {
        var theta = [Double](repeating: 0, count: layout.count)
        let base = SplitMix64(seed: seed).fork(Self.stream)
        for l in 1...layout.layerCount {
            var random = base.fork(UInt64(l))
            let fanIn = Double(layout.widths[l - 1]), fanOut = Double(layout.widths[l])
            let offset = layout.weightOffset(l), count = layout.widths[l] * layout.widths[l - 1]
            switch self {
            case .heNormal:
                let sd = (2 / fanIn).squareRoot()
                for i in 0..<count { theta[offset + i] = sd * random.nextNormal() }
            case .glorotNormal:
                let sd = (2 / (fanIn + fanOut)).squareRoot()
                for i in 0..<count { theta[offset + i] = sd * random.nextNormal() }
            case .heUniform:
                let limit = (6 / fanIn).squareRoot()
                for i in 0..<count { theta[offset + i] = limit * (2 * random.nextUniform() - 1) }
            case .glorotUniform:
                let limit = (6 / (fanIn + fanOut)).squareRoot()
                for i in 0..<count { theta[offset + i] = limit * (2 * random.nextUniform() - 1) }
            }
        }
        return theta
    }
}
