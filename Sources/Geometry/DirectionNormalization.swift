import Networks
import SeededRandom

/// How a direction d is scaled to the point θ it starts from (Li et al. 2018, "Visualizing the
/// loss landscape of neural nets", §4), so that plots of different networks are comparable:
/// a direction's effect on a layer is relative to that layer's own scale.
public enum DirectionNormalization: String, Codable, Sendable, CaseIterable {
    /// Each filter of d — one row of a dense weight, the incoming weights of one output unit
    /// (one output channel of a convolution) — rescaled to the norm of the same filter of θ:
    /// d_f ← d_f · ‖θ_f‖ / ‖d_f‖. Bias blocks (and every other 1-D block) are set to zero, as
    /// Li et al. do (their `ignore = 'biasbn'`): a direction then never moves a bias.
    case filter
    /// Each named block of d (a whole weight matrix, a bias vector) rescaled to the norm of the
    /// same block of θ; biases included.
    case layer
    /// d as given.
    case none

    /// d normalised to θ block by block. A filter or block of θ that is zero makes that part of d
    /// zero (its scale is zero); a zero part of d stays zero.
    public func apply(_ d: [Double], like θ: [Double], blocks: [ParameterBlock]) -> [Double] {
        precondition(d.count == θ.count)
        guard self != .none else { return d }
        var out = d
        for block in blocks {
            switch self {
            case .filter:
                guard block.role == .weight, block.shape.count >= 2 else {
                    for i in block.range { out[i] = 0 }
                    continue
                }
                let width = block.count / block.filters
                for f in 0..<block.filters {
                    let lo = block.offset + f * width
                    rescale(&out, lo..<(lo + width), to: θ)
                }
            case .layer:
                rescale(&out, block.range, to: θ)
            case .none:
                break
            }
        }
        return out
    }

    private func rescale(_ d: inout [Double], _ range: Range<Int>, to θ: [Double]) {
        var dd = 0.0, tt = 0.0
        for i in range { dd += d[i] * d[i]; tt += θ[i] * θ[i] }
        let factor = dd > 0 ? (tt / dd).squareRoot() : 0
        for i in range { d[i] *= factor }
    }
}

/// Random directions d ~ N(0, I) as functions of (seed, index) alone, so every rank, rank count
/// and group split draws the same vector without communicating.
public enum RandomDirection {
    public static func gaussian(count m: Int, seed: UInt64, index: Int) -> [Double] {
        // A stream of its own (0x6c696e65 = "line"), apart from initialisation's and minibatches'.
        var random = SplitMix64(seed: seed).fork(0x6c69_6e65 &+ UInt64(index))
        return (0..<m).map { _ in random.nextNormal() }
    }
}
