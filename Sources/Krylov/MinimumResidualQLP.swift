import Objectives

/// MINRES-QLP (Choi, Paige & Saunders, SIAM J. Sci. Comput. 33(4), 2011): x_k minimising
/// ‖b − A x‖ over the Krylov space K_k(A, b) = span{b, Ab, …, A^{k−1}b} for a symmetric A that
/// may be indefinite or singular — the Hessian at a saddle is both — and, among the minimisers,
/// the one of least norm. On a singular, inconsistent system (b outside A's range: a singular H
/// away from a critical point) it converges to the pseudo-inverse solution A⁺b, which plain
/// MINRES does not: MINRES's iterates carry a null-space component that settles at a rounding-
/// dependent size, and its update x_k = x_{k−1} + φ_k w_k divides by the last diagonal of R, which
/// tends to zero there (the failure that made the result depend on the rank count).
///
/// The three factorisations, one step each per iteration:
/// 1. Lanczos: A V_k = V_{k+1} T̄_k, T̄_k tridiagonal (k+1) × k, V orthonormal.
/// 2. QR by left reflections: Q_k T̄_k = [R_k; 0], R_k upper triangular with bandwidth 3 (diagonal
///    λ_i, super-diagonals γ_i and ε_i); Q_k β₁e₁ = (ζ₁ … ζ_k, ζ̄_{k+1}), so ‖r_k‖ = |ζ̄_{k+1}|.
/// 3. LQ by right reflections: R_k = L_k P_k, L_k lower triangular with bandwidth 3 (diagonal μ_i,
///    sub-diagonals ψ_i and ρ_i). Its diagonal reveals rank: when the Krylov space has reached a
///    null vector of A, the last diagonal μ̄_k collapses to rounding size.
///
/// With W_k = V_k P_kᵀ (orthonormal) and L_k t_k = (ζ₁ … ζ_k), x_k = W_k t_k and ‖x_k‖ = ‖t_k‖. The
/// newest two columns of W and entries of t still change at the next step; the older ones are
/// final, so x is the sum of finished columns plus the two pending ones. Only the last entry τ_k
/// divides by μ̄_k, and no later step reads it: it enters the returned x alone, so the choice of
/// the minimum-length solution is made once, at the end (see `solve`).
///
/// Stopping: ‖r_k‖ ≤ tolerance·‖b‖ (consistent); ‖A r_{k−1}‖ ≤ tolerance·‖A b‖, the normal
/// equations' relative residual and Newton-MR's inexactness condition (Roosta et al. 2018) —
/// Paige & Saunders' ‖A r‖ ≤ tol·‖A‖‖r‖ holds after a few iterations for a loose tol such as a
/// Newton forcing term and would stop a solvable system long before its residual falls;
/// β_{k+1} = 0 (the Krylov space is invariant); or μ̄_k ≤ √ε·max|μ| (the Krylov space holds a null
/// vector of A: the minimum-length solution there is final, and further steps without
/// re-orthogonalisation only bring the null direction back). The ‖A r‖ estimate is one step
/// behind: on an inconsistent system it falls when the Krylov space has taken in A's null
/// direction, which is the step at which L's last diagonal reveals it. Every claim is then
/// checked with the computed residual, and refined where it fails (see `solve`).
///
/// Every rank runs the same recurrence on its rows of the vectors (`shardedVectors`, the default:
/// M/P rows each, through `RowShardedOperator`; all of them when replicated). The scalars of the
/// recurrence — α, β, norms — are allreduced sums, so every rank takes the same decisions; the
/// result depends on the number of ranks only through rounding.
public struct MinimumResidualQLP {
    public enum Stop: String, Sendable, Codable {
        /// ‖r‖ ≤ tolerance · ‖b‖.
        case residual
        /// ‖A r‖ ≤ tolerance · ‖A b‖: x solves the normal equations A²x = Ab to the tolerance (b need
        /// not be in A's range).
        case leastSquares = "least-squares"
        /// The iteration budget or the refinement cycles ran out, or a refinement did not lower the
        /// computed ‖A r‖ (rounding is the limit at this tolerance); x is the best iterate.
        case iterations
        /// b = 0, or the Krylov space stopped growing (β = 0): x is exact in exact arithmetic.
        case exact
    }

    public struct Result: Sendable {
        public var solution: [Double]
        /// Lanczos iterations over all cycles.
        public var iterations: Int
        /// Operator applications (one block of one direction each): iterations + 2 per check.
        public var products: Int
        /// Refinement cycles run (1 unless the first one's claim failed the check).
        public var cycles: Int
        /// ‖b − A x‖, computed from x (not the recurrence's estimate).
        public var residualNorm: Double
        /// ‖A (b − A x)‖, computed from x.
        public var operatorResidualNorm: Double
        /// ‖x‖.
        public var solutionNorm: Double
        /// max |μ_i| / min |μ_i| over L's kept diagonal in the first cycle: a lower bound of A's
        /// condition number on the Krylov space (a dropped null direction excluded).
        public var conditionEstimate: Double
        /// Whether a kept cycle left out its last direction as A's near-null space.
        public var droppedNullDirection: Bool
        public var stop: Stop
    }

    /// |μ̄_k| ≤ √ε · max|μ|: L is rank-deficient to working accuracy.
    static let rankTolerance = Double.ulpOfOne.squareRoot()
    public var tolerance: Double
    public var maxIterations: Int
    /// Refinement cycles at most (each starts a fresh Krylov space on the computed residual).
    public var maxCycles: Int
    /// The vectors distributed by rows over the operator's ranks (false: every rank holds them whole).
    public var shardedVectors: Bool

    public init(tolerance: Double, maxIterations: Int, maxCycles: Int = 4, shardedVectors: Bool = true) {
        precondition(tolerance > 0 && maxIterations >= 1 && maxCycles >= 1)
        self.shardedVectors = shardedVectors
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.maxCycles = maxCycles
    }

    /// The minimum-length x with ‖b − Ax‖ ≤ tolerance·‖b‖, or a least-squares x with
    /// ‖A(b − Ax)‖ ≤ tolerance·‖Ab‖ (collective over the operator's ranks).
    ///
    /// The recurrence's residual estimates assume Lanczos's basis is orthonormal; once it has lost
    /// orthogonality (many iterations on an ill-conditioned A) they can claim a tolerance the
    /// iterate does not meet. So the claim is checked with r = b − A x and A r (two products), and
    /// a failed check is refined, x ← x + A⁺r, until the check passes, the budget or `maxCycles`
    /// ends, or the computed ‖A r‖ stops falling (rounding: `.iterations` with the best x).
    public func solve(_ a: some SymmetricOperator, _ b: [Double]) throws -> Result {
        precondition(b.count == a.dimension, "the right-hand side has the operator's dimension")
        let sharded = RowShardedOperator(a, sharded: shardedVectors)
        var result = try solve(sharded, sharded.partition.slice(b, columns: 1))
        result.solution = try sharded.gather(result.solution, columns: 1)
        return result
    }

    /// `solve` on this rank's rows of b; the solution is this rank's rows of x.
    private func solve(_ a: RowShardedOperator, _ b: [Double]) throws -> Result {
        let rows = VectorRows(a), n = rows.count
        func norm(_ x: [Double]) throws -> Double { try rows.norm(x, column: 0) }
        let zero = [Double](repeating: 0, count: n)
        let bNorm = try norm(b)
        guard bNorm > 0 else {
            return Result(solution: zero, iterations: 0, products: 0, cycles: 0, residualNorm: 0, operatorResidualNorm: 0,
                          solutionNorm: 0, conditionEstimate: 1, droppedNullDirection: false, stop: .exact)
        }
        var first: Cycle?              // its ‖A b‖ (exact at the first step) and scales
        var iterations = 0, products = 0, cycles = 0, dropped = false
        var best: (x: [Double], rNorm: Double, arNorm: Double)?
        var direction = b              // what the next correction solves for
        var residualTarget = tolerance * bNorm
        while true {
            // Cycle 1 solves A x = b; a refinement solves A z = A r (consistent: z = P_R r, r's part
            // in A's range) and then A d = z (consistent: d = A⁺ r), so that the null-space part of
            // r, which dominates it on an inconsistent system, never enters a Krylov space again.
            var correction: [Double]
            var stop: Stop
            if first == nil {
                let cycle = try self.cycle(a, b, residualTarget: residualTarget, operatorResidualTolerance: tolerance,
                                           maxIterations: maxIterations, scale: nil)
                first = cycle
                (correction, stop) = (cycle.solution, cycle.stop)
                iterations += cycle.iterations
                dropped = cycle.droppedNullDirection
            } else {
                let scale = (first!.operatorNorm, first!.muMax)
                let projection = try self.cycle(a, direction, residualTarget: residualTarget, operatorResidualTolerance: tolerance,
                                                maxIterations: maxIterations - iterations, scale: scale)
                iterations += projection.iterations
                let cycle = try self.cycle(a, projection.solution, residualTarget: residualTarget / max(first!.muMax, .leastNormalMagnitude),
                                           operatorResidualTolerance: tolerance, maxIterations: max(1, maxIterations - iterations), scale: scale)
                iterations += cycle.iterations
                (correction, stop) = (cycle.solution, cycle.stop)
            }
            cycles += 1
            products = iterations + 2 * cycles
            let abNorm = first!.initialOperatorResidual
            var candidate = best?.x ?? zero
            for i in 0..<n { candidate[i] += correction[i] }
            let ax = try a.apply(candidate, count: 1)
            let r = (0..<n).map { b[$0] - ax[$0] }
            let ar = try a.apply(r, count: 1)
            let (rNorm, arNorm) = (try norm(r), try norm(ar))
            func result(_ stop: Stop) throws -> Result {
                let (x, rNorm, arNorm) = best!
                return Result(solution: x, iterations: iterations, products: products, cycles: cycles, residualNorm: rNorm,
                              operatorResidualNorm: arNorm, solutionNorm: try norm(x), conditionEstimate: first!.conditionEstimate,
                              droppedNullDirection: dropped, stop: stop)
            }
            // A refinement that did not lower ‖A r‖ is rounding: keep the previous x.
            if let best, arNorm >= best.arNorm { return try result(.iterations) }
            best = (candidate, rNorm, arNorm)
            if rNorm <= tolerance * bNorm { return try result(.residual) }
            if arNorm <= tolerance * abNorm { return try result(stop == .exact ? .exact : .leastSquares) }
            if iterations >= maxIterations || cycles >= maxCycles { return try result(.iterations) }
            direction = ar
            residualTarget = 0.5 * tolerance * abNorm
        }
    }

    /// One cycle's outcome: the recurrence's claims, not yet checked.
    private struct Cycle {
        var solution: [Double]
        var iterations: Int
        var initialOperatorResidual: Double
        /// ‖T̄‖_F and the largest |μ| kept.
        var operatorNorm: Double
        var muMax: Double
        var conditionEstimate: Double
        var droppedNullDirection: Bool
        var stop: Stop
    }

    /// One MINRES-QLP run from x₀ = 0 on A x = b: stops when the recurrence's ‖r_k‖ ≤
    /// residualTarget or ‖A r_{k−1}‖ ≤ operatorResidualTolerance·‖A b‖, at β = 0, or after
    /// maxIterations.
    ///
    /// `scale` carries the first cycle's ‖T‖_F and largest |μ| into later ones: a refinement
    /// cycle starts on a residual that is mostly A's null space plus rounding, and must judge
    /// β = 0 and a negligible μ̄ against A, not against its own tiny Krylov space.
    private func cycle(_ a: RowShardedOperator, _ b: [Double], residualTarget: Double,
                       operatorResidualTolerance: Double, maxIterations: Int,
                       scale: (operatorNorm: Double, muMax: Double)?) throws -> Cycle {
        let rows = VectorRows(a), n = rows.count
        var x = [Double](repeating: 0, count: n)
        let beta1 = try rows.norm(b, column: 0)
        // Lanczos vectors v_{k−1}, v_k and the next one.
        var vPrevious = [Double](repeating: 0, count: n)
        var v = b.map { $0 / beta1 }
        var beta = beta1                 // β_k
        // Left reflections Q_{k−2,k−1} and Q_{k−1,k}; c = −1, s = 0 before the first makes the
        // general formulas give γ̄₁ = β₂ and λ̄₁ = α₁.
        var (c2, s2, c1, s1) = (-1.0, 0.0, -1.0, 0.0)
        var zetaBar = beta1              // ζ̄_k
        // Right reflections: the pending entries of L's last two rows, and of t.
        var muBar = 0.0                  // μ̄_{k−1}: L's last diagonal, still to be rotated
        var muRing = 0.0                 // μ̊_{k−2}: the diagonal before it, rotated once
        var psiBar = 0.0                 // ψ̄_{k−2}
        var xi = 0.0                     // ξ_{k−1} = ζ_{k−1} − ρ_{k−3} τ_{k−3}
        var tau1 = 0.0, tau2 = 0.0       // τ_k, τ_{k−1} as the previous step left them
        // W's pending columns: ẘ_{k−1} (rotated once) and w̄_k (not yet rotated).
        var wRing = [Double](repeating: 0, count: n), wBar = wRing
        var frobenius2 = 0.0, muMax = 0.0, muMin = Double.infinity
        var operatorResidual = 0.0, initialOperatorResidual = 0.0
        for k in 1...max(1, maxIterations) {
            // Lanczos: β_{k+1} v_{k+1} = A v_k − α_k v_k − β_k v_{k−1}.
            var p = try a.apply(v, count: 1)
            if k >= 2 { for i in 0..<n { p[i] -= beta * vPrevious[i] } }
            let alpha = try rows.dot(v, p, column: 0)
            for i in 0..<n { p[i] -= alpha * v[i] }
            let betaNext = try rows.norm(p, column: 0)
            frobenius2 += alpha * alpha + beta * beta + betaNext * betaNext

            // Column k of T̄ is (β_k, α_k, β_{k+1}) in rows k−1…k+1. The two previous left
            // reflections turn (0, β_k) into (ε_{k−2}, γ̄_{k−1}) and (γ̄_{k−1}, α_k) into (γ_{k−1}, λ̄_k).
            let epsilon = s2 * beta
            let gammaBar = -c2 * beta
            let gamma = c1 * gammaBar + s1 * alpha
            let lambdaBar = s1 * gammaBar - c1 * alpha
            // ‖A r_{k−1}‖ = |ζ̄_k| · ‖(λ̄_k, c_{k−1}β_{k+1})‖, before the new reflection shrinks ζ̄.
            operatorResidual = abs(zetaBar) * hypot(lambdaBar, c1 * betaNext)
            if k == 1 { initialOperatorResidual = operatorResidual }   // ‖A r₀‖ = ‖A b‖
            // The new reflection annihilates β_{k+1}.
            let (c, s, lambda) = reflection(lambdaBar, betaNext)
            let zeta = c * zetaBar
            zetaBar = s * zetaBar

            // LQ: rotate R's new column (ε_{k−2}, γ_{k−1}, λ_k) into L from the right. Two
            // rotations, on columns (k−2, k) then (k−1, k), finish L's entries at k−2 and leave
            // μ̊_{k−1}, ψ̄_{k−1}, μ̄_k pending; the same rotations act on W's columns and on t.
            var mu2 = 0.0                // μ_{k−2}, final (k ≥ 3)
            var muRingNew = 0.0          // μ̊_{k−1}
            var psiBarNew = 0.0          // ψ̄_{k−1}
            let muBarNew: Double         // μ̄_k
            let numerator: Double        // μ̄_k τ_k, the last row of L t = z
            switch k {
            case 1:
                muBarNew = lambda
                xi = zeta
                numerator = zeta
                for i in 0..<n { wBar[i] = v[i] }
            case 2:
                // [μ̄₁ γ₁; 0 λ₂] rotated on columns (1, 2).
                let (cp, sp, mu) = reflection(muBar, gamma)
                muRingNew = mu
                psiBarNew = sp * lambda
                muBarNew = -cp * lambda
                // t: μ̊₁ τ₁ = ξ₁ = ζ₁, then the new last row.
                tau1 = mu == 0 ? 0 : xi / mu
                xi = zeta
                numerator = xi - psiBarNew * tau1
                // [w̄₁ v₂] rotated the same way: ẘ₁ and w̄₂.
                for i in 0..<n {
                    let w = wBar[i]
                    wRing[i] = cp * w + sp * v[i]
                    wBar[i] = sp * w - cp * v[i]
                }
            default:
                // First rotation, columns (k−2, k): finishes μ_{k−2} and ψ_{k−2}.
                let (cp, sp, mu) = reflection(muRing, epsilon)
                mu2 = mu
                let psi = cp * psiBar + sp * gamma
                let theta = sp * psiBar - cp * gamma
                let rho = sp * lambda
                let eta = -cp * lambda
                // Second rotation, columns (k−1, k): annihilates θ_k in row k−1.
                let (cd, sd, muR) = reflection(muBar, theta)
                muRingNew = muR
                psiBarNew = sd * eta
                muBarNew = -cd * eta
                // t: rows k−2…k of L t = z with the new entries; τ_{k−2} is now final
                // (μ_{k−2} τ_{k−2} = μ̊_{k−2} τ_{k−2}ᵒˡᵈ), τ_{k−1} recomputed from its row.
                let tauFinal = mu2 == 0 ? 0 : tau2 * muRing / mu2
                tau1 = muRingNew == 0 ? 0 : (xi - psi * tauFinal) / muRingNew
                xi = zeta - rho * tauFinal
                numerator = xi - psiBarNew * tau1
                // W: w_{k−2} final (added to x), then ẘ_{k−1} and w̄_k.
                for i in 0..<n {
                    let wOld = wRing[i]
                    x[i] += tauFinal * (cp * wOld + sp * v[i])
                    let aux = sp * wOld - cp * v[i]
                    let w = wBar[i]
                    wRing[i] = cd * w + sd * aux
                    wBar[i] = sd * w - cd * aux
                }
                muMax = max(muMax, abs(mu2)); muMin = min(muMin, abs(mu2))
            }
            if k >= 2 { muMax = max(muMax, abs(muRingNew)); muMin = min(muMin, abs(muRingNew)) }
            let tauLast = numerator / muBarNew
            // Move to step k+1.
            for i in 0..<n {
                vPrevious[i] = v[i]
                v[i] = betaNext > 0 ? p[i] / betaNext : 0
            }
            (c2, s2, c1, s1) = (c1, s1, c, s)
            beta = betaNext
            muRing = muRingNew
            psiBar = psiBarNew
            muBar = muBarNew
            tau2 = tau1
            tau1 = tauLast
            let residual = abs(zetaBar)     // ‖r_k‖ = |ζ̄_{k+1}|
            let operatorNorm = frobenius2.squareRoot()

            // L's last diagonal negligible against its largest: the Krylov space holds a null
            // vector of A to working accuracy (√ε), as when it is exhausted on an inconsistent
            // system; beyond this point, without re-orthogonalisation, the null direction keeps
            // re-entering and τ's grow without bound.
            let negligible = abs(muBarNew) <= Self.rankTolerance * max(muMax, abs(muBarNew), scale?.muMax ?? 0)
            let stop: Stop?
            if negligible {
                stop = .leastSquares
            } else if residual <= residualTarget {
                stop = .residual
            } else if k >= 2, operatorResidual <= operatorResidualTolerance * initialOperatorResidual {
                stop = .leastSquares
            } else if betaNext <= Double.ulpOfOne * max(operatorNorm, scale?.operatorNorm ?? 0) {
                stop = .exact
            } else if k >= maxIterations {
                stop = .iterations
            } else {
                stop = nil
            }
            guard let stop else { continue }
            // The minimum-length solution of the subproblem: L's last row reaches the residual's
            // last component, μ̄_k τ_k. When μ̄_k is negligible against L's largest diagonal (√ε:
            // the Krylov space holds a null vector of A to working accuracy, as when it is
            // exhausted on an inconsistent system, τ_k → ∞), or when keeping τ_k would shrink the
            // residual by less than the tolerance relative to what remains (the null direction
            // reached only partly, as after Lanczos has lost orthogonality), τ_k = 0 is the least-
            // norm choice. Dropping too much is caught by `solve`'s check; keeping a null
            // direction would not be, since it hardly changes the residual.
            let dropLast = !tauLast.isFinite || negligible
                || hypot(zetaBar, numerator) <= (1 + operatorResidualTolerance) * abs(zetaBar)
            if dropLast {
                tau1 = 0
            } else {
                muMax = max(muMax, abs(muBarNew)); muMin = min(muMin, abs(muBarNew))
            }
            // x_k = the finished columns + τ_{k−1} ẘ_{k−1} + τ_k w̄_k.
            for i in 0..<n { x[i] += (k >= 2 ? tau2 * wRing[i] : 0) + tau1 * wBar[i] }
            return Cycle(solution: x, iterations: k, initialOperatorResidual: initialOperatorResidual,
                         operatorNorm: operatorNorm, muMax: muMax,
                         conditionEstimate: muMin > 0 ? muMax / muMin : .infinity, droppedNullDirection: dropLast, stop: stop)
        }
        preconditionFailure("the loop returns at k = maxIterations")
    }

    /// The symmetric reflection [c s; s −c] with c·a + s·b = r ≥ 0 and s·a − c·b = 0, computed
    /// without overflow (Choi, Paige & Saunders' SymOrtho).
    private func reflection(_ a: Double, _ b: Double) -> (c: Double, s: Double, r: Double) {
        if b == 0 { return (a == 0 ? 1 : (a < 0 ? -1 : 1), 0, abs(a)) }
        if a == 0 { return (0, b < 0 ? -1 : 1, abs(b)) }
        if abs(b) > abs(a) {
            let t = a / b
            let s = (b < 0 ? -1.0 : 1.0) / (1 + t * t).squareRoot()
            return (s * t, s, b / s)
        }
        let t = b / a
        let c = (a < 0 ? -1.0 : 1.0) / (1 + t * t).squareRoot()
        return (c, c * t, a / c)
    }

    private func hypot(_ a: Double, _ b: Double) -> Double { reflection(a, b).r }
}
