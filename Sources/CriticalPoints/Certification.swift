import Foundation

/// What a search's end point is (GEOMETRY.md §6b, docs/critical.md "Every end classified"): a
/// certified critical point, or which of the ways a search fails to find one it shows.
public enum EndClass: String, Sendable, Codable, CaseIterable {
    /// Every criterion of `Certificate` holds.
    case certified
    /// A unit can be removed or merged (zero outgoing or incoming weights, duplicated units): the
    /// point lies on a family of equal-loss points the symmetries do not account for.
    case reducible
    /// ∇L ≠ 0 lies (mostly) in H's near-null space: ½‖∇L‖² is flat there, L is not (Frye et al.).
    case gradientFlat = "gradient-flat"
    /// ‖θ‖ grew along the search and was still growing: a valley running to infinity.
    case asymptotic
    /// The gradient reached the target but another criterion failed (a degenerate point, an
    /// unstable inertia, no quadratic decrease).
    case uncertified
    /// None of the above: the search stopped (iterations, no acceptable step) short of a point.
    case stalled
}

/// The certified-convergence criteria, all measured where a search stopped (GEOMETRY.md §6b):
/// ‖∇L‖ ≤ `gradientBound` (absolute); the Newton step ‖H⁺∇L‖ ≤ `newtonBound`·‖θ‖ (H⁺ over the
/// eigenvalues above the zero threshold); a superlinear decrease of ‖∇L‖ over the last steps
/// (the largest order over the last three triples of decreasing norms whose first step halved the
/// norm ≥ 1.5, or the gradient already at the bound when
/// the search began within two steps of it); the inertia unchanged with the zero threshold ×10 and
/// ÷10; and no eigenvalue within the threshold beyond the deflated symmetry modes — the point is
/// isolated modulo its symmetries.
public struct Certificate: Sendable, Codable, Equatable {
    public var gradientNorm: Double
    public var newtonStep: Double
    public var parameterNorm: Double
    public var convergenceOrder: Double?
    /// (negative, near-zero, positive) at the threshold, ×10 and ÷10.
    public var inertia: [[Int]]
    /// Near-zero eigenvalues of the transverse spectrum (symmetry modes excluded).
    public var excessZeros: Int
    public var failures: [String]
    public var certified: Bool { failures.isEmpty }

    public static let gradientBound = 1e-10
    public static let newtonBound = 1e-8
    public static let minimumOrder = 1.5
    /// A triple counts towards the order only when its first step took ‖∇L‖ down by this factor.
    public static let minimumFirstDecrease = 0.5
    /// Gradient norms below this are rounding noise to the order: ‖∇L‖ computed in float64 at an
    /// exact critical point of the presets measures 3e-17 … 4e-16 (sums of M terms at ε_mach).
    public static let orderFloor = 1e-15

    /// `transverse`: the eigenvalues of the energy's Hessian without the deflated symmetry modes,
    /// `coordinates`: ∇L in their eigenbasis; `threshold`: the zero tolerance (|λ| ≤ threshold is zero);
    /// `gradientNorms`: ‖∇L‖ at every iterate, the last one where the search stopped.
    public init(gradientNorms: [Double], parameterNorm: Double, transverse λ: [Double], coordinates c: [Double], threshold: Double,
                gradientBound: Double = Self.gradientBound) {
        precondition(λ.count == c.count && !gradientNorms.isEmpty)
        gradientNorm = gradientNorms.last!
        self.parameterNorm = parameterNorm
        var step = 0.0
        for i in λ.indices where abs(λ[i]) > threshold { step += (c[i] / λ[i]) * (c[i] / λ[i]) }
        newtonStep = step.squareRoot()
        convergenceOrder = Self.order(gradientNorms)
        inertia = [threshold, 10 * threshold, threshold / 10].map { t in
            let negative = λ.filter { $0 < -t }.count, positive = λ.filter { $0 > t }.count
            return [negative, λ.count - negative - positive, positive]
        }
        excessZeros = inertia[0][1]
        var failures: [String] = []
        if !(gradientNorm <= gradientBound) { failures.append("‖∇L‖ = \(gradientNorm) > \(gradientBound)") }
        if !(newtonStep <= Self.newtonBound * parameterNorm) { failures.append("‖H⁺∇L‖ = \(newtonStep) > \(Self.newtonBound)·‖θ‖") }
        let recent = gradientNorms.suffix(3)
        if let order = convergenceOrder {
            if order < Self.minimumOrder { failures.append("convergence order \(order) < \(Self.minimumOrder)") }
        } else if !(recent.first! <= gradientBound) {
            failures.append("no superlinear decrease measured (no three decreasing ‖∇L‖ whose first step halved it)")
        }
        if Set(inertia).count > 1 { failures.append("inertia \(inertia[0]) changes with the zero threshold ×10, ÷10: \(inertia[1]), \(inertia[2])") }
        if excessZeros > 0 { failures.append("\(excessZeros) near-zero eigenvalue(s) beyond the symmetries: not isolated") }
        self.failures = failures
    }

    /// The order q of the last steps: the largest log(gₖ/gₖ₋₁) / log(gₖ₋₁/gₖ₋₂) over the last three
    /// triples of decreasing gradient norms whose first step at least halved the norm
    /// (gₖ₋₁ ≤ ½gₖ₋₂); 2 for quadratic convergence, 1 for linear; nil when none of the three
    /// qualifies. The largest, because far from the solution a quadratic sequence's ratios are
    /// still settling (eₖ₊₁ = C eₖ² measures below 2 until C eₖ ≪ 1) while a linear one never shows
    /// more than 1. A triple whose first step barely moved (gₖ₋₁ ≈ gₖ₋₂: log(gₖ₋₁/gₖ₋₂) ≈ 0) would
    /// read a huge order whatever followed — a stalled search that then takes one good step — so
    /// it does not count. Norms at the rounding floor are dropped first: the tail that stopped
    /// falling, and every norm below 10⁻¹⁴ of the first or below `orderFloor` (a search that
    /// started near the point reaches ‖∇L‖'s rounding noise, ~10⁻¹⁶, in a step or two, and ratios of
    /// noise are no order).
    public static func order(_ norms: [Double]) -> Double? {
        let floor = max(1e-14 * (norms.first ?? 0), orderFloor)
        var g = Array(norms.prefix { $0 > floor })
        while g.count >= 2, g[g.count - 1] >= g[g.count - 2] { g.removeLast() }
        var orders: [Double] = []
        for end in stride(from: g.count, to: max(g.count - 3, 2), by: -1) {
            let a = g[end - 3], b = g[end - 2], c = g[end - 1]
            guard a > 0, b > 0, c > 0, c < b else { break }
            if b <= minimumFirstDecrease * a { orders.append(log(c / b) / log(b / a)) }
        }
        return orders.max()
    }
}

extension EndClass {
    /// The class of an end point: certified first; then what the point shows, most specific first.
    /// `flatness` is Frye's ratio ‖P₀∇L‖/‖∇L‖ (P₀ the projector on the near-null eigenvectors);
    /// `parameterNorms` is ‖θ‖ at every iterate.
    public init(certificate: Certificate?, reachedTarget: Bool, reducibility: String?, flatness: Double?, parameterNorms: [Double]) {
        if certificate?.certified == true { self = .certified; return }
        if reducibility != nil { self = .reducible; return }
        if let flatness, flatness >= Self.flatRatio { self = .gradientFlat; return }
        if Self.growing(parameterNorms) { self = .asymptotic; return }
        self = reachedTarget ? .uncertified : .stalled
    }

    /// Frye et al.'s ratio above which ∇L counts as lying in the near-null space.
    public static let flatRatio = 0.5
    /// The relative threshold of "near-null" in that ratio: |λ| ≤ 10⁻⁴·max|λ|.
    public static let flatThreshold = 1e-4

    /// ‖θ‖ at the end ≥ 1.5 × at the start, and still growing: up by ≥ 1 % over the last ten
    /// iterates, each not smaller than the one before by more than rounding.
    static func growing(_ norms: [Double]) -> Bool {
        guard norms.count >= 11, let first = norms.first, let last = norms.last, last >= 1.5 * first else { return false }
        let tail = Array(norms.suffix(11))
        return tail.last! >= 1.01 * tail.first! && zip(tail, tail.dropFirst()).allSatisfy { $1 >= $0 * (1 - 1e-12) }
    }
}
