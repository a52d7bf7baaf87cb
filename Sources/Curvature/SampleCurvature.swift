import Networks
import Samples

/// Per-sample first- and second-order quantities of an MLP, for a block of samples, from which
/// every Hessian block is assembled (HESSIAN_MATH.md §2–§3; layers l = 1…L, widths n₀…n_L):
///
/// * `a[l]` (N × n_l, a₀ = x), `slope[l]` = σ′(z_l), `delta[l]` = δ_l = ∂ℓ/∂z_l;
/// * `gamma[l][m]` = Γ^{lm} (N × n_l × n_m, l ≤ m): the pre-activation curvature,
///   Γ^{LL} = ∇²_f ℓ, Γ^{mm} = D_m W_{m+1}ᵀ Γ^{m+1,m+1} W_{m+1} D_m + diag(σ″(z_m) ⊙ e_m),
///   Γ^{lm} = D_l W_{l+1}ᵀ Γ^{l+1,m} for l < m;
/// * `b[l][k]` = B^{l,k} = (∂a_k/∂z_l)ᵀ (N × n_l × n_k, l < k < L): B^{l,l+1} = D_l W_{l+1}ᵀ D_{l+1},
///   B^{l,k} = B^{l,k−1} W_kᵀ D_k. (B^{l,l} = D_l is diagonal and never stored.)
///
/// For the Gauss–Newton part the σ″ terms are left out of Γ (and the δ cross term out of the
/// blocks): G = Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ.
///
/// All per-sample matrices are O(width²) and cost O(width³) per sample — negligible next to the
/// O(N·M²) GEMMs they feed. Index helpers take 1-based layers, as the formulas do.
struct SampleCurvature {
    let widths: [Int]
    let count: Int
    var a: [[Double]]
    var slope: [[Double]]
    var delta: [[Double]]
    var gamma: [[[Double]]]
    var b: [[[Double]]]

    init(network: MultilayerPerceptron, parameters θ: [Double], batch: SampleBatch, gaussNewtonOnly: Bool) {
        let layout = network.layout
        let n = layout.widths, L = layout.layerCount, N = batch.count
        widths = n
        count = N
        // The forward and backward pass are the model's own (one implementation for every
        // product): a_l, σ′, σ″, e_l, δ_l and softmax p of the whole batch.
        let q = network.sampleQuantities(θ, on: batch)
        let a = q.activations, slope = q.slopes, curvature = q.curvatures, e = q.backpropagated
        let delta = q.deltas

        // ∇²_f ℓ per sample (k × k), its columns from products with unit vectors.
        let k = n[L]
        var lossHessian = [Double](repeating: 0, count: N * k * k)
        var unit = [Double](repeating: 0, count: k), column = [Double](repeating: 0, count: k)
        batch.targets.withUnsafeBufferPointer { y in
            q.probabilities.withUnsafeBufferPointer { p in
                for i in 0..<N {
                    for c in 0..<k {
                        unit[c] = 1
                        network.loss.curvatureProduct(unit, probabilities: p.baseAddress! + i * k, target: y.baseAddress! + i * k,
                                                      k: k, into: &column)
                        unit[c] = 0
                        for r in 0..<k { lossHessian[i * k * k + r * k + c] = column[r] }
                    }
                }
            }
        }

        // Γ, per sample, with small dgemms.
        var gamma = Array(repeating: Array(repeating: [Double](), count: L + 1), count: L + 1)
        gamma[L][L] = lossHessian
        if L > 1 {
            for m in stride(from: L - 1, through: 1, by: -1) {
                let wOff = layout.weightOffset(m + 1)
                var result = [Double](repeating: 0, count: N * n[m] * n[m])
                var temp = [Double](repeating: 0, count: n[m + 1] * n[m])
                θ.withUnsafeBufferPointer { w in
                    let W = w.baseAddress! + wOff   // n_{m+1} × n_m
                    for i in 0..<N {
                        gamma[m + 1][m + 1].withUnsafeBufferPointer { next in
                            // temp = Γ^{m+1,m+1} W_{m+1}   (n_{m+1} × n_m)
                            temp.withUnsafeMutableBufferPointer { t in
                                gemm(m: n[m + 1], n: n[m], k: n[m + 1], next.baseAddress! + i * n[m + 1] * n[m + 1], lda: n[m + 1],
                                     W, ldb: n[m], beta: 0, t.baseAddress!, ldc: n[m])
                            }
                        }
                        result.withUnsafeMutableBufferPointer { r in
                            // Γ^{mm} = W_{m+1}ᵀ temp   (n_m × n_m), then D_m · D_m and the σ″ diagonal.
                            temp.withUnsafeBufferPointer { t in
                                gemm(transposeA: true, m: n[m], n: n[m], k: n[m + 1], W, lda: n[m], t.baseAddress!, ldb: n[m],
                                     beta: 0, r.baseAddress! + i * n[m] * n[m], ldc: n[m])
                            }
                            let base = i * n[m] * n[m], s = i * n[m]
                            for p in 0..<n[m] {
                                for q in 0..<n[m] { r[base + p * n[m] + q] *= slope[m][s + p] * slope[m][s + q] }
                                if !gaussNewtonOnly { r[base + p * n[m] + p] += curvature[m][s + p] * e[m][s + p] }
                            }
                        }
                    }
                }
                gamma[m][m] = result
            }
            // Γ^{lm} = D_l W_{l+1}ᵀ Γ^{l+1,m}, l = m−1 … 1.
            for m in 2...L {
                for l in stride(from: m - 1, through: 1, by: -1) {
                    let W = layout.weightOffset(l + 1)   // n_{l+1} × n_l
                    var result = [Double](repeating: 0, count: N * n[l] * n[m])
                    θ.withUnsafeBufferPointer { w in
                        gamma[l + 1][m].withUnsafeBufferPointer { next in
                            result.withUnsafeMutableBufferPointer { r in
                                for i in 0..<N {
                                    gemm(transposeA: true, m: n[l], n: n[m], k: n[l + 1], w.baseAddress! + W, lda: n[l],
                                         next.baseAddress! + i * n[l + 1] * n[m], ldb: n[m],
                                         beta: 0, r.baseAddress! + i * n[l] * n[m], ldc: n[m])
                                    for p in 0..<n[l] {
                                        let d = slope[l][i * n[l] + p]
                                        for q in 0..<n[m] { r[i * n[l] * n[m] + p * n[m] + q] *= d }
                                    }
                                }
                            }
                        }
                    }
                    gamma[l][m] = result
                }
            }
        }

        // B^{l,k} = (∂a_k/∂z_l)ᵀ for l < k ≤ L−1 (needed by the cross term of blocks (l, k+1)).
        var b = Array(repeating: Array(repeating: [Double](), count: L + 1), count: L + 1)
        if L > 2 {
            for l in 1...(L - 2) {
                for k in (l + 1)...(L - 1) {
                    let W = layout.weightOffset(k)   // n_k × n_{k−1}
                    var result = [Double](repeating: 0, count: N * n[l] * n[k])
                    for i in 0..<N {
                        for p in 0..<n[l] {
                            for s in 0..<n[k] {
                                var sum = 0.0
                                if k == l + 1 {
                                    sum = slope[l][i * n[l] + p] * θ[W + s * n[l] + p]
                                } else {
                                    let previous = i * n[l] * n[k - 1] + p * n[k - 1]
                                    for t in 0..<n[k - 1] { sum += b[l][k - 1][previous + t] * θ[W + s * n[k - 1] + t] }
                                }
                                result[i * n[l] * n[k] + p * n[k] + s] = sum * slope[k][i * n[k] + s]
                            }
                        }
                    }
                    b[l][k] = result
                }
            }
        }
        self.a = a
        self.slope = slope
        self.delta = delta
        self.gamma = gamma
        self.b = b
    }
}
