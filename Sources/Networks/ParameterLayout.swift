/// Where each layer's weights and biases live in the flat parameter vector θ ∈ Rᴹ.
///
/// θ = (W₁, b₁, W₂, b₂, …, W_L, b_L): W_l has shape n_l × n_{l−1} (out × in) stored row-major,
/// so W_l[p, q] is θ[weightOffset(l) + p·n_{l−1} + q] and b_l[p] is θ[biasOffset(l)! + p].
/// Without biases (`biases == false`, `model.bias = false`) θ = (W₁, W₂, …, W_L): the same
/// weights back to back, M = Σ_l n_l n_{l−1}, and `biasOffset` is nil for every layer.
/// Layers are numbered 1…L; `widths` = [n₀ (input dimension), n₁, …, n_L (outputs)].
/// This is the interchange format of `params.npy` (docs/formats.md): NumPy users reshape
/// θ[off:off + n_l·n_{l−1}] to (n_l, n_{l−1}) and compute x @ W.T + b.
public struct ParameterLayout: Equatable, Sendable, Codable {
    public let widths: [Int]
    /// weightOffsets[l − 1] is the offset of W_l; biasOffsets[l − 1] that of b_l (empty without biases).
    public let weightOffsets: [Int]
    public let biasOffsets: [Int]
    /// M, the number of parameters.
    public let count: Int

    public init(widths: [Int], biases: Bool = true) {
        precondition(widths.count >= 2 && widths.allSatisfy { $0 >= 1 }, "widths must be ≥ 1 with at least input and output")
        self.widths = widths
        var weights: [Int] = [], offsets: [Int] = [], offset = 0
        for l in 1..<widths.count {
            weights.append(offset)
            offset += widths[l] * widths[l - 1]
            guard biases else { continue }
            offsets.append(offset)
            offset += widths[l]
        }
        weightOffsets = weights
        biasOffsets = offsets
        count = offset
    }

    /// Whether every affine layer has a bias vector b_l (derived, so the encoded layout is the
    /// same as before biases were optional: a layout without biases has no bias offsets).
    public var biases: Bool { !biasOffsets.isEmpty }

    /// L, the number of affine layers.
    public var layerCount: Int { widths.count - 1 }
    public var inputDimension: Int { widths[0] }
    public var outputDimension: Int { widths[widths.count - 1] }

    /// The offset of W_l (l = 1…L).
    public func weightOffset(_ l: Int) -> Int { weightOffsets[l - 1] }
    /// The offset of b_l (l = 1…L); nil for a network without biases.
    public func biasOffset(_ l: Int) -> Int? { biases ? biasOffsets[l - 1] : nil }

    /// The named blocks: layer l's weight [n_l, n_{l−1}] then its bias [n_l] (if any), in θ order.
    public var blocks: [ParameterBlock] {
        (1...layerCount).flatMap { l in
            let weight = ParameterBlock(name: "layer\(l).weight", layer: l, role: .weight, shape: [widths[l], widths[l - 1]],
                                        offset: weightOffset(l))
            guard let bias = biasOffset(l) else { return [weight] }
            return [weight, ParameterBlock(name: "layer\(l).bias", layer: l, role: .bias, shape: [widths[l]], offset: bias)]
        }
    }

    /// M for the given widths, or nil when it would overflow (absurd configurations).
    public static func parameterCount(widths: [Int], biases: Bool = true) -> Int? {
        let slots = biases ? 1 : 0   // a layer's inputs: n_{l−1} activations (and the bias's constant 1)
        var total = 0
        for l in 1..<widths.count {
            let (w, o1) = widths[l].multipliedReportingOverflow(by: widths[l - 1] + slots)
            let (t, o2) = total.addingReportingOverflow(w)
            if o1 || o2 { return nil }
            total = t
        }
        return total
    }
}
