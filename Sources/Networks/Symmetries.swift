/// The continuous symmetries of a model and the configurations that make it reducible: what a
/// critical-point search must know to tell an isolated critical point from a member of a family
/// (GEOMETRY.md §6b).
///
/// A continuous symmetry is a group acting on θ that leaves f(θ, x) unchanged for every x, so L
/// is constant on each orbit. Differentiating L(g_t·θ) = L(θ) along a one-parameter subgroup with
/// tangent t(θ) gives ∇L(θ)·t(θ) = 0 at every θ, and differentiating once more at a critical point
/// gives H t = 0: each independent tangent is an exact null vector of H there, which says nothing
/// about the point's index and must be taken out of the step and of the zero count.
public enum SymmetryGroup: String, Sendable, Codable {
    /// No continuous symmetry (tanh, sigmoid, softplus: only permutations and sign flips).
    case none
    /// Per hidden unit: incoming weights and bias × c, outgoing weights ÷ c (c > 0): ReLU.
    case rescaling
    /// GL(h) on each hidden layer of width h: W_l → A W_l, b_l → A b_l, W_{l+1} → W_{l+1} A⁻¹
    /// (linear activations), and with biases on both sides the translations b_l → b_l + δ,
    /// b_{l+1} → b_{l+1} − W_{l+1}δ (the affine group GL(h) ⋉ Rʰ).
    case generalLinear = "general-linear"
}

extension MultilayerPerceptron {
    /// Which group acts on the hidden layers. With an L2 term λ‖θ‖²/2 only the norm-preserving
    /// subgroup survives: for GL(h) the orthogonal group O(h) (antisymmetric generators); for
    /// rescaling nothing (c ≠ 1 changes ‖θ‖).
    public func symmetryGroup(preservingNorm: Bool) -> SymmetryGroup {
        guard layout.layerCount >= 2 else { return .none }
        switch activation {
        case .linear: return .generalLinear
        case .relu: return preservingNorm ? .none : .rescaling
        case .tanh, .sigmoid, .softplus: return .none
        }
    }

    /// The tangents at θ of the group's generators (not orthonormalised; some may vanish or be
    /// dependent at a rank-deficient θ). For hidden layer l with incoming block (W_l, b_l) and
    /// outgoing W_{l+1}, the generator E_ab of gl(h) moves row b of (W_l | b_l) into row a and
    /// column a of W_{l+1} out of column b: δW_l = E_ab W_l, δb_l = E_ab b_l, δW_{l+1} = −W_{l+1} E_ab.
    /// Rescaling is the diagonal E_aa; O(h) the antisymmetric E_ab − E_ba.
    public func symmetryTangents(at θ: [Double], preservingNorm: Bool) -> [[Double]] {
        precondition(θ.count == parameterCount)
        let group = symmetryGroup(preservingNorm: preservingNorm)
        guard group != .none else { return [] }
        var tangents: [[Double]] = []
        for layer in hiddenLayers {
            let (h, fanIn, fanOut, incoming, outgoing) = (layer.width, layer.fanIn, layer.fanOut, layer.incoming, layer.outgoing)
            // δ for E_ab: row a of the incoming block gains row b; column b of the outgoing block
            // loses column a (−W_{l+1} E_ab has column b equal to −W_{l+1}[:, a]).
            func generator(_ a: Int, _ b: Int, into t: inout [Double], sign: Double) {
                for q in 0..<fanIn { t[incoming + a * fanIn + q] += sign * θ[incoming + b * fanIn + q] }
                if let bias = layer.bias { t[bias + a] += sign * θ[bias + b] }
                for p in 0..<fanOut { t[outgoing + p * h + b] -= sign * θ[outgoing + p * h + a] }
            }
            for a in 0..<h {
                let others: [Int]
                switch group {
                case .none: others = []
                case .rescaling: others = [a]
                case .generalLinear: others = preservingNorm ? Array((a + 1)..<h) : Array(0..<h)
                }
                for b in others {
                    var t = [Double](repeating: 0, count: parameterCount)
                    generator(a, b, into: &t, sign: 1)
                    if preservingNorm { generator(b, a, into: &t, sign: -1) }
                    tangents.append(t)
                }
            }
            // A linear layer's bias is redundant with the next one's: b_l → b_l + δ,
            // b_{l+1} → b_{l+1} − W_{l+1}δ leaves f unchanged (the translations of the affine group
            // GL(h) ⋉ Rʰ). Not norm-preserving: gone with an L2 term.
            if group == .generalLinear, !preservingNorm, let bias = layer.bias, let nextBias = layer.nextBias {
                for a in 0..<h {
                    var t = [Double](repeating: 0, count: parameterCount)
                    t[bias + a] = 1
                    for p in 0..<fanOut { t[nextBias + p] = -θ[outgoing + p * h + a] }
                    tangents.append(t)
                }
            }
        }
        return tangents
    }

    /// Why θ is a reducible configuration, or nil: a hidden unit whose outgoing weights all vanish
    /// (its output reaches nothing: its incoming weights are free), or one whose incoming weights
    /// and bias vanish (it outputs the constant σ(0)), or two units with the same incoming weights
    /// and bias (up to sign for odd activations: tanh(−z) = −tanh z), which the next layer sees as
    /// one unit with the sum of their outgoing weights. `tolerance` is relative to the largest
    /// entry of the block compared.
    public func reducibility(at θ: [Double], tolerance: Double = 1e-6) -> String? {
        let odd = activation == .tanh || activation == .linear
        for layer in hiddenLayers {
            let (l, h, fanIn, fanOut, incoming, outgoing) = (layer.index, layer.width, layer.fanIn, layer.fanOut, layer.incoming, layer.outgoing)
            func row(_ a: Int) -> [Double] {
                Array(θ[(incoming + a * fanIn)..<(incoming + (a + 1) * fanIn)]) + (layer.bias.map { [θ[$0 + a]] } ?? [])
            }
            let rows = (0..<h).map(row)
            let inScale = rows.flatMap { $0 }.map(abs).max() ?? 0
            let outScale = θ[outgoing..<(outgoing + fanOut * h)].map(abs).max() ?? 0
            for a in 0..<h {
                let out = (0..<fanOut).map { abs(θ[outgoing + $0 * h + a]) }.max() ?? 0
                if out <= tolerance * outScale { return "layer \(l) unit \(a + 1) has zero outgoing weights" }
                if (rows[a].map(abs).max() ?? 0) <= tolerance * inScale { return "layer \(l) unit \(a + 1) has zero incoming weights" }
                for b in 0..<a {
                    let same = zip(rows[a], rows[b]).allSatisfy { abs($0 - $1) <= tolerance * inScale }
                    let opposite = odd && zip(rows[a], rows[b]).allSatisfy { abs($0 + $1) <= tolerance * inScale }
                    if same || opposite { return "layer \(l) units \(b + 1) and \(a + 1) are duplicates\(opposite ? " (up to sign)" : "")" }
                }
            }
        }
        return nil
    }

    /// Hidden layer l (1 ≤ l < L) as the symmetries see it: its h units, the block (W_l, b_l)
    /// that feeds them (W_l is h × fanIn, row-major) and W_{l+1} (fanOut × h) they feed, with
    /// b_{l+1} — offsets into θ from `layout`.
    struct HiddenLayer {
        let index: Int, width: Int, fanIn: Int, fanOut: Int
        let incoming: Int, bias: Int?, outgoing: Int, nextBias: Int?
    }

    var hiddenLayers: [HiddenLayer] {
        let w = layout.widths
        return (1..<layout.layerCount).map { l in
            HiddenLayer(index: l, width: w[l], fanIn: w[l - 1], fanOut: w[l + 1], incoming: layout.weightOffset(l),
                        bias: layout.biasOffset(l), outgoing: layout.weightOffset(l + 1), nextBias: layout.biasOffset(l + 1))
        }
    }
}
