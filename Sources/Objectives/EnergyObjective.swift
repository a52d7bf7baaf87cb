/// The energy E(θ) = L(θ) + λ‖θ‖²/2 of the energy-landscape codes (GEOMETRY.md §6b, docs/critical.md
/// "L2 term"): gradient ∇L + λθ, Hessian H + λI. The L2 term bounds the valleys that run to infinity
/// (saturating units, ‖θ‖ growing without end) and makes minima finite and isolated. One definition
/// for every caller that searches or measures the energy — `landscape critical`'s searches and
/// `landscape path`'s band, profile and polish — so a polished end is a minimum of exactly what the
/// path measures. With λ = 0 every evaluation is the objective's own, bit for bit.
public struct EnergyObjective: Sendable {
    public let objective: DataParallelObjective
    /// λ of the term λ‖θ‖²/2 (0: the loss alone).
    public let l2: Double

    public init(_ objective: DataParallelObjective, l2: Double) {
        self.objective = objective
        self.l2 = l2
    }

    /// E(θ) and (if asked) ∇E = ∇L + λθ with its norm (collective). `accuracy` stays the data's.
    public func evaluate(_ θ: [Double], gradient: Bool = true) throws -> Evaluation {
        try objective.evaluate(θ, gradient: gradient).addingL2(l2, at: θ)
    }

    /// E at every point θ₀ + Σⱼ cⱼ·dⱼ of an affine family (no gradients), as the objective's family
    /// evaluation plus each point's λ‖θ‖²/2.
    public func evaluate(origin: [Double], directions: [[Double]], coefficients: [[Double]]) throws -> [Evaluation] {
        var values = try objective.evaluate(origin: origin, directions: directions, coefficients: coefficients)
        guard l2 != 0 else { return values }
        for (p, c) in coefficients.enumerated() {
            var θ = origin
            for (j, d) in directions.enumerated() {
                for i in θ.indices { θ[i] += c[j] * d[i] }
            }
            values[p].loss += 0.5 * l2 * Self.squaredNorm(θ)
        }
        return values
    }

    /// The Hessian H + λI at θ, matrix-free (collective).
    public func hessian(at θ: [Double]) -> any SymmetricOperator {
        let h = objective.curvature(.hessian, at: θ)
        return l2 == 0 ? h : ShiftedOperator(h, shift: l2)
    }

    static func squaredNorm(_ v: [Double]) -> Double {
        var s = 0.0
        for x in v { s += x * x }
        return s
    }
}
