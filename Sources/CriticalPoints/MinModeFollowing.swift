/// Min-mode following for a critical point of index k, matrix-free (Henkelman & Jónsson 1999;
/// Yin, Zhang & Zhang's saddle dynamics 2019; GEOMETRY.md §6b): with V = [v₁ … v_k] the k lowest
/// eigenvectors of H (Lanczos on Hessian–vector products, so H is never assembled), the search
/// follows the modified force F = −(I − 2VVᵀ)∇E — uphill along the k lowest modes, downhill in
/// their complement. An index-k saddle is a minimum of E in the complement and a maximum along V,
/// so the two parts are separate problems, each with its own step and trust radius:
///
/// * **uphill**, in span V: the P-RFO step of `EigenvectorFollowing` on the k Ritz pairs,
///   sᵢ = −g̃ᵢ/(λᵢ − σ₊) with g̃ = Vᵀ∇E and σ₊ ≥ max λᵢ the bordered matrix's largest eigenvalue:
///   along F's uphill part whatever the sign of λᵢ, and Newton's step −g̃ᵢ/λᵢ once λᵢ < 0 and
///   g̃ → 0;
/// * **downhill**, in the complement P = I − VVᵀ: Steihaug's truncated conjugate gradients on the
///   model P∇E·s + ½ sᵀPHPs inside the downhill radius. Its first iterate is the Cauchy step along
///   F's downhill part −P∇E (the steepest-descent translation of the dimer method); later ones
///   are Newton–Krylov steps, stopped at the forcing term ‖r‖ ≤ η‖P∇E‖, at the radius, or along a
///   direction of non-positive curvature (more negative modes than k: E falls along it to the
///   radius).
///
/// The radii are `EigenvectorFollowing`'s, judged the same way — on E along each part alone, not
/// on ‖∇E‖² — so a search can switch to the exact P-RFO steps (the polish) with its radii as they are.
public enum MinModeFollowing {
    /// One step: its uphill and downhill parts in parameter space, and the judge's view of them
    /// (the parts' lengths and model changes; the coefficient arrays hold the uphill part only).
    public struct Step {
        public var up: [Double]
        public var down: [Double]
        public var judged: EigenvectorFollowing.Step
        /// Conjugate-gradient iterations (one Hessian–vector product each) and why they stopped.
        public var innerIterations: Int
        public var innerStop: Stop
    }

    public enum Stop: String, Sendable {
        /// ‖r‖ ≤ η‖P∇E‖: the Newton–Krylov step, or no downhill gradient at all.
        case forcing
        /// The step reached the downhill radius.
        case boundary
        /// dᵀPHPd ≤ 0 along a conjugate direction: E decreases along it without bound in the model.
        case negativeCurvature = "negative-curvature"
        /// The iteration budget.
        case limit
    }

    /// The step from ∇E = `gradient`, the Ritz pairs (λ ascending, V n × k column-major, orthonormal
    /// columns) and the radii of `follower`; `apply` is the energy's Hessian–vector product.
    public static func step(gradient g: [Double], ritzValues λ: [Double], ritzVectors v: [Double], follower: EigenvectorFollowing,
                            forcing η: Double, maxIterations: Int, apply: ([Double]) throws -> [Double]) throws -> Step {
        let n = g.count, k = λ.count
        precondition(v.count == n * k && follower.index == k)
        let coordinates = (0..<k).map { j in dot(v, g, column: j) }
        var judged = follower.step(eigenvalues: λ, coordinates: coordinates, modes: k)
        let up = combine(v, judged.uphill, length: n)
        // P∇E: F's downhill part, reversed.
        var projected = g
        for j in 0..<k { for i in 0..<n { projected[i] -= coordinates[j] * v[j * n + i] } }
        let complement = { (d: [Double]) throws -> [Double] in project(try apply(project(d, v)), v) }
        let cg = try steihaug(gradient: projected, radius: follower.downhillRadius, forcing: η, maxIterations: maxIterations, apply: complement)
        judged.predictedDownhill = cg.model
        judged.downhillLength = norm(cg.step)
        return Step(up: up, down: cg.step, judged: judged, innerIterations: cg.iterations, innerStop: cg.stop)
    }

    /// Steihaug (1983): conjugate gradients on m(s) = gᵀs + ½sᵀBs from s = 0, stopped at the forcing
    /// term, at ‖s‖ = radius, or on a direction of non-positive curvature (followed to the radius).
    /// Each iterate lowers m, so the step always descends the model; m(s) is returned with it (Bs
    /// accumulated from the products, not re-applied).
    static func steihaug(gradient g: [Double], radius Δ: Double, forcing η: Double, maxIterations: Int,
                         apply: ([Double]) throws -> [Double]) throws -> (step: [Double], model: Double, iterations: Int, stop: Stop) {
        let n = g.count
        var s = [Double](repeating: 0, count: n), bs = s
        var r = g, d = g.map { -$0 }
        var rr = dot(r, r)
        let stopAt = η * rr.squareRoot()
        func model() -> Double { dot(g, s) + 0.5 * dot(s, bs) }
        guard rr > 0 else { return (s, 0, 0, .forcing) }
        for iteration in 1...max(1, maxIterations) {
            let bd = try apply(d)
            let κ = dot(d, bd)
            // Where ‖s + τd‖ = Δ, τ > 0.
            func boundary() -> Double {
                let a = dot(d, d), b = 2 * dot(s, d), c = dot(s, s) - Δ * Δ
                return (-b + (b * b - 4 * a * c).squareRoot()) / (2 * a)
            }
            if κ <= 0 {
                let τ = boundary()
                for i in 0..<n { s[i] += τ * d[i]; bs[i] += τ * bd[i] }
                return (s, model(), iteration, .negativeCurvature)
            }
            let α = rr / κ
            var next = s
            for i in 0..<n { next[i] += α * d[i] }
            if dot(next, next) >= Δ * Δ {
                let τ = boundary()
                for i in 0..<n { s[i] += τ * d[i]; bs[i] += τ * bd[i] }
                return (s, model(), iteration, .boundary)
            }
            s = next
            for i in 0..<n { bs[i] += α * bd[i]; r[i] += α * bd[i] }
            let rrNext = dot(r, r)
            if rrNext.squareRoot() <= stopAt { return (s, model(), iteration, .forcing) }
            let β = rrNext / rr
            rr = rrNext
            for i in 0..<n { d[i] = -r[i] + β * d[i] }
        }
        return (s, model(), max(1, maxIterations), .limit)
    }

    /// (I − VVᵀ)x.
    static func project(_ x: [Double], _ v: [Double]) -> [Double] {
        let n = x.count
        var y = x
        for j in 0..<(v.count / max(n, 1)) {
            let c = dot(v, x, column: j)
            for i in 0..<n { y[i] -= c * v[j * n + i] }
        }
        return y
    }

    /// V c.
    static func combine(_ v: [Double], _ c: [Double], length n: Int) -> [Double] {
        var x = [Double](repeating: 0, count: n)
        for j in c.indices where c[j] != 0 { for i in 0..<n { x[i] += c[j] * v[j * n + i] } }
        return x
    }

    static func dot(_ v: [Double], _ x: [Double], column j: Int) -> Double {
        let n = x.count
        var s = 0.0
        for i in 0..<n { s += v[j * n + i] * x[i] }
        return s
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { CriticalPoints.dot(a, b) }
    static func norm(_ v: [Double]) -> Double { dot(v, v).squareRoot() }
}
