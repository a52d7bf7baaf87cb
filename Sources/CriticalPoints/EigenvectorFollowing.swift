/// Eigenvector-following for a critical point of index k: partitioned rational-function
/// optimisation (P-RFO; Cerjan & Miller 1981, Banerjee, Adams, Simons & Shepard 1985, Baker 1986),
/// with a trust radius per subspace judged on the energy L itself (GEOMETRY.md §6b).
///
/// With H = ZΛZᵀ (λ ascending) and g̃ = Zᵀ∇L the step is, mode by mode,
///
///     sᵢ = −g̃ᵢ / (λᵢ − σ₊)  for the k lowest modes (uphill: maximise L along them),
///     sᵢ = −g̃ᵢ / (λᵢ − σ₋)  for the others        (downhill: minimise L along them),
///
/// σ₊ the largest eigenvalue of the bordered (k+1)×(k+1) matrix [[diag(λ₁…λ_k), g̃₁…ₖ], [g̃ᵀ, 0]]
/// and σ₋ the smallest of the same matrix built from the other modes. Both are roots of the secular
/// equation σ = Σᵢ g̃ᵢ²/(σ − λᵢ) over their modes — σ₊ the one above max λᵢ (so σ₊ ≥ 0 and
/// λᵢ − σ₊ < 0: every uphill mode is climbed, whatever the sign of its λᵢ), σ₋ the one below min λᵢ
/// (σ₋ ≤ 0: every other mode is descended). Near a non-degenerate index-k saddle σ± = O(‖g̃‖²)
/// and the step is Newton's, −H⁻¹∇L: quadratic convergence. Far from one the shifts keep the step
/// pointed the right way along every mode, which Newton's step (attracted by whatever critical
/// point is nearest) does not.
///
/// Each subspace's step is scaled into its own radius. After a step the caller measures the
/// actual changes of L along the uphill part alone and along the downhill part alone and `judge`s
/// them against the quadratic model's predictions: the uphill model should predict a rise, the
/// downhill one a fall, and the radius of a subspace whose model was poor shrinks. Judging on ‖∇L‖²
/// instead (the merit of the other methods) is what lets searches settle on gradient-flat points
/// (Frye et al. 2021); judging on L, a subspace's step is rejected when L moved the wrong way.
public struct EigenvectorFollowing: Sendable, Equatable, Codable {
    /// k, the number of modes climbed.
    public var index: Int
    /// The current trust radii (Euclidean, parameter units) of the uphill and downhill subspaces.
    public var uphillRadius: Double
    public var downhillRadius: Double
    /// The largest radius either subspace may grow to.
    public var maximumRadius: Double

    public init(index: Int, radius: Double, maximumRadius: Double) {
        precondition(index >= 0 && radius > 0 && maximumRadius >= radius)
        self.index = index
        (uphillRadius, downhillRadius, self.maximumRadius) = (radius, radius, maximumRadius)
    }

    /// One step in eigen-coordinates: `coefficients` = s (modes beyond `modes` get 0), split into
    /// its uphill and downhill parts, with each part's predicted change of L, Σ g̃ᵢsᵢ + ½λᵢsᵢ².
    public struct Step: Sendable, Equatable {
        public var uphill: [Double]
        public var downhill: [Double]
        public var predictedUphill: Double
        public var predictedDownhill: Double
        public var shifts: (uphill: Double, downhill: Double)
        public var uphillLength: Double
        public var downhillLength: Double
        public var coefficients: [Double] { zip(uphill, downhill).map { $0 + $1 } }
        public static func == (a: Step, b: Step) -> Bool { a.uphill == b.uphill && a.downhill == b.downhill }
    }

    /// The step from eigenvalues λ (ascending) and coordinates g̃ of ∇L, using the first `modes`
    /// eigenpairs (the rest are deflated symmetry modes and get no step).
    public func step(eigenvalues λ: [Double], coordinates g: [Double], modes n: Int) -> Step {
        precondition(λ.count == g.count && n <= λ.count && index <= n)
        let k = index
        let σUp = k > 0 ? Self.secularRoot(λ[0..<k], g[0..<k], above: true) : 0
        let σDown = n > k ? Self.secularRoot(λ[k..<n], g[k..<n], above: false) : 0
        var up = [Double](repeating: 0, count: λ.count), down = up
        for i in 0..<n {
            let σ = i < k ? σUp : σDown
            let d = λ[i] - σ
            // d = 0 only when g̃ᵢ = 0 as well (the secular root stays off every pole with weight).
            let s = d != 0 ? -g[i] / d : 0
            if i < k { up[i] = s } else { down[i] = s }
        }
        // A mode to climb with no gradient along it (at a minimum of that mode: g̃ᵢ = 0, λᵢ > 0)
        // gets no RFO step at all; step out along the lowest such mode to the radius.
        if k > 0, Self.norm(up) < 1e-12 * uphillRadius, let i = (0..<k).first(where: { λ[$0] >= 0 }) {
            up[i] = uphillRadius
        }
        let upLength = Self.norm(up), downLength = Self.norm(down)
        if upLength > uphillRadius { up = up.map { $0 * uphillRadius / upLength } }
        if downLength > downhillRadius { down = down.map { $0 * downhillRadius / downLength } }
        func model(_ s: [Double]) -> Double {
            var change = 0.0
            for i in 0..<n { change += g[i] * s[i] + 0.5 * λ[i] * s[i] * s[i] }
            return change
        }
        return Step(uphill: up, downhill: down, predictedUphill: model(up), predictedDownhill: model(down),
                    shifts: (σUp, σDown), uphillLength: min(upLength, uphillRadius), downhillLength: min(downLength, downhillRadius))
    }

    /// Whether the step is accepted, from the actual changes of L along its two parts; the radii
    /// are updated either way. A subspace's ratio ρ = actual/predicted is good in [¾, 4/3] (the
    /// radius doubles if the step reached it), poor outside [¼, 7/4] (the radius becomes a quarter of
    /// the step's length), and wrong below 0 (L moved against the model: the step is rejected).
    /// Changes below `noise` (the rounding of L itself) are not judged: the step is then in the
    /// quadratic regime where the model is exact to working precision.
    public mutating func judge(_ step: Step, actualUphill: Double, actualDownhill: Double, noise: Double) -> Bool {
        func update(_ radius: inout Double, length: Double, predicted: Double, actual: Double) -> Bool {
            guard length > 0, abs(predicted) > noise || abs(actual) > noise else { return true }
            let ρ = predicted != 0 ? actual / predicted : -1
            if ρ < 0.25 || ρ > 1.75 {
                radius = max(0.25 * length, 1e-300)
            } else if ρ >= 0.75, ρ <= 4.0 / 3, length >= 0.99 * radius {
                radius = min(2 * radius, maximumRadius)
            }
            return ρ > 0
        }
        let up = update(&uphillRadius, length: step.uphillLength, predicted: step.predictedUphill, actual: actualUphill)
        let down = update(&downhillRadius, length: step.downhillLength, predicted: step.predictedDownhill, actual: actualDownhill)
        return up && down
    }

    /// The root of σ = Σᵢ gᵢ²/(σ − λᵢ) above max λᵢ (`above`) or below min λᵢ. φ(σ) = σ − Σ gᵢ²/(σ − λᵢ)
    /// is increasing on each side (φ′ = 1 + Σ gᵢ²/(σ − λᵢ)² > 0), tends to ∓∞ at the pole with weight
    /// and ±∞ far away: one root, bracketed by the pole and the pole ± ‖g‖ (there φ ≥ 0, resp. ≤ 0,
    /// since every term is at most ‖g‖²/‖g‖), found by bisection to the last bit. Without weight
    /// on the extreme mode the root may sit on it (the "hard case"); it is then that eigenvalue.
    static func secularRoot(_ λ: ArraySlice<Double>, _ g: ArraySlice<Double>, above: Bool) -> Double {
        let weight = zip(g, g).reduce(0) { $0 + $1.0 * $1.1 }, size = weight.squareRoot()
        let pole = above ? λ.max()! : λ.min()!
        guard size > 0 else { return above ? max(pole, 0) : min(pole, 0) }
        func φ(_ σ: Double) -> Double { σ - zip(λ, g).reduce(0) { $0 + $1.1 * $1.1 / (σ - $1.0) } }
        var (low, high) = above ? (pole, max(pole, 0) + size) : (min(pole, 0) - size, pole)
        // The hard case: φ on the pole's side of the bracket already has the root's sign.
        if above, φ(low.nextUp) >= 0 { return low }
        if !above, φ(high.nextDown) <= 0 { return high }
        for _ in 0..<200 {
            let mid = 0.5 * (low + high)
            if mid <= low || mid >= high { break }
            if φ(mid) < 0 { low = mid } else { high = mid }
        }
        return above ? high : low
    }

    static func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
}
