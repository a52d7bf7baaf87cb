import Objectives

/// MINRES (Paige & Saunders 1975): x_k minimising ‖b − A x‖ over the Krylov space
/// K_k(A, b) = span{b, Ab, …, A^{k−1}b}, for a symmetric A that may be indefinite or singular —
/// the Hessian at a saddle is both. Lanczos builds an orthonormal basis V_k with
/// A V_k = V_{k+1} T̄_k (T̄_k tridiagonal, (k+1) × k); the least-squares problem
/// min ‖β₁e₁ − T̄_k y‖ is solved by one Givens rotation per step, and x_k = V_k y_k is updated by
/// a three-term recurrence of the "w" vectors, so only five vectors of length n are kept.
///
/// The residual norm ‖r_k‖ = φ̄_k falls monotonically, and ‖A r_k‖ is available for free: when
/// b has a component in A's null space (a singular H away from a critical point) the residual
/// cannot vanish, and the run stops at a least-squares solution instead, when ‖A r‖ ≤ tol·‖A b‖ —
/// Newton-MR's inexactness condition (Roosta et al. 2018), relative to the normal equations'
/// right-hand side. (Paige & Saunders' ‖A r‖ ≤ tol·‖A‖·‖r‖ holds after a few iterations for a
/// loose tol such as a Newton forcing term, and would stop a solvable system long before its
/// residual falls.)
///
/// Started from x₀ = 0 with b in A's range, every iterate lies in the range too, and the solution
/// is the minimum-norm one, A⁺b. With b outside it the iterates are least-squares solutions that
/// need not be minimal in norm, and in rounding their norm can grow with the iterations (what
/// MINRES-QLP, Choi, Paige & Saunders 2011, repairs); callers bound the step they take from it.
///
/// Every rank runs the same recurrence on the same replicated vectors; the operator's own
/// allreduce is the only communication, so the result does not depend on the number of ranks
/// beyond the operator's rounding.
public struct MinimumResidual {
    public enum Stop: String, Sendable, Codable {
        /// ‖r‖ ≤ tolerance · ‖b‖.
        case residual
        /// ‖A r‖ ≤ tolerance · ‖A b‖: x solves the normal equations A²x = Ab to the tolerance (b need
        /// not be in A's range).
        case leastSquares = "least-squares"
        /// The iteration budget ran out.
        case iterations
        /// b = 0, or the Krylov space stopped growing (β = 0): x is exact in exact arithmetic.
        case exact
    }

    public struct Result: Sendable {
        public var solution: [Double]
        public var iterations: Int
        /// ‖b − A x‖ as the recurrence tracks it.
        public var residualNorm: Double
        /// ‖A (b − A x)‖ of the step before the last, as the recurrence tracks it.
        public var operatorResidualNorm: Double
        /// The Frobenius norm of T̄_k: a lower bound of ‖A‖_F that grows towards it.
        public var operatorNormEstimate: Double
        public var stop: Stop
    }

    public var tolerance: Double
    public var maxIterations: Int

    public init(tolerance: Double, maxIterations: Int) {
        precondition(tolerance > 0 && maxIterations >= 1)
        self.tolerance = tolerance
        self.maxIterations = maxIterations
    }

    /// x with ‖b − Ax‖ ≤ tolerance·‖b‖, or a least-squares x with ‖A(b − Ax)‖ ≤ tolerance·‖Ab‖
    /// (collective over the operator's ranks).
    public func solve(_ a: some SymmetricOperator, _ b: [Double]) throws -> Result {
        let n = a.dimension
        precondition(b.count == n, "the right-hand side has the operator's dimension")
        var x = [Double](repeating: 0, count: n)
        let beta1 = norm(b)
        guard beta1 > 0 else {
            return Result(solution: x, iterations: 0, residualNorm: 0, operatorResidualNorm: 0, operatorNormEstimate: 0, stop: .exact)
        }
        // Lanczos: r1 = β_{k−1} v_{k−1}, r2 = β_k v_k (unnormalised), y the next candidate.
        var r1 = b, r2 = b, y = b
        var w = [Double](repeating: 0, count: n), w1 = w, w2 = w
        var oldBeta = 0.0, beta = beta1
        // The previous rotation (cs, sn), the pieces it carries to the next column of T̄.
        var cs = -1.0, sn = 0.0, dbar = 0.0, epsilon = 0.0
        var phibar = beta1, frobenius2 = 0.0
        var residual = beta1, operatorResidual = 0.0, initialOperatorResidual = 0.0
        for k in 1...maxIterations {
            let s = 1 / beta
            let v = y.map { $0 * s }
            y = try a.apply(v)
            if k >= 2 {
                let c = beta / oldBeta
                for i in 0..<n { y[i] -= c * r1[i] }
            }
            let alpha = dot(v, y)
            let c = alpha / beta
            for i in 0..<n { y[i] -= c * r2[i] }
            r1 = r2
            r2 = y
            oldBeta = beta
            beta = norm(y)
            frobenius2 += alpha * alpha + oldBeta * oldBeta + beta * beta

            // Apply the previous rotation to the new column (δ, γ̄), and make the next ε.
            let oldEpsilon = epsilon
            let delta = cs * dbar + sn * alpha
            let gbar = sn * dbar - cs * alpha
            epsilon = sn * beta
            dbar = -cs * beta
            // ‖A r_{k−1}‖ = φ̄_{k−1} · ‖(γ̄, δ̄)‖, before the new rotation shrinks φ̄.
            operatorResidual = phibar * (gbar * gbar + dbar * dbar).squareRoot()
            if k == 1 { initialOperatorResidual = operatorResidual }   // ‖A r₀‖ = ‖A b‖
            // The new rotation annihilates β in the last row.
            let gamma = max((gbar * gbar + beta * beta).squareRoot(), Double.leastNormalMagnitude)
            cs = gbar / gamma
            sn = beta / gamma
            let phi = cs * phibar
            phibar = sn * phibar

            // w_k = (v_k − ε_{k−2} w_{k−2} − δ_k w_{k−1}) / γ_k; x_k = x_{k−1} + φ_k w_k.
            w1 = w2
            w2 = w
            let g = 1 / gamma
            for i in 0..<n {
                w[i] = (v[i] - oldEpsilon * w1[i] - delta * w2[i]) * g
                x[i] += phi * w[i]
            }
            residual = phibar
            let operatorNorm = frobenius2.squareRoot()
            if residual <= tolerance * beta1 {
                return Result(solution: x, iterations: k, residualNorm: residual, operatorResidualNorm: operatorResidual,
                              operatorNormEstimate: operatorNorm, stop: .residual)
            }
            // ‖A r_{k−1}‖ (one step behind: x_k is at least as good).
            if k >= 2, operatorResidual <= tolerance * initialOperatorResidual {
                return Result(solution: x, iterations: k, residualNorm: residual, operatorResidualNorm: operatorResidual,
                              operatorNormEstimate: operatorNorm, stop: .leastSquares)
            }
            if beta <= Double.ulpOfOne * operatorNorm {
                return Result(solution: x, iterations: k, residualNorm: residual, operatorResidualNorm: operatorResidual,
                              operatorNormEstimate: operatorNorm, stop: .exact)
            }
        }
        return Result(solution: x, iterations: maxIterations, residualNorm: residual, operatorResidualNorm: operatorResidual,
                      operatorNormEstimate: frobenius2.squareRoot(), stop: .iterations)
    }

    private func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }

    private func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }
}
