import Samples
#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// The per-sample loss ℓ(f, y) on the network's output f ∈ Rᵏ (the last pre-activation z_L).
///
/// * `crossEntropy`: softmax cross-entropy ℓ = −Σ_c y_c log p_c, p = softmax(f). Targets are
///   one-hot rows for class labels (any non-negative rows work: a target distribution).
///   ∇_f ℓ = (Σ_c y_c) p − y, ∇²_f ℓ = (Σ_c y_c)(diag p − p pᵀ).
/// * `meanSquaredError`: ℓ = ½ · (1/k) Σ_c (f_c − y_c)² (the mean over the k outputs, so a zero
///   predictor on unit-variance targets has loss ½ — Pennington & Bahri's energy ε).
///   ∇_f ℓ = (f − y)/k, ∇²_f ℓ = I/k.
public enum Loss: String, CaseIterable, Sendable, Codable {
    case crossEntropy = "cross-entropy"
    case meanSquaredError = "mse"

    /// ℓ and g = ∇_f ℓ for one sample; `probabilities` receives p for cross-entropy (the only
    /// state ∇²_f ℓ needs) and is untouched for MSE.
    @inline(__always)
    public func evaluate(output f: UnsafePointer<Double>, target y: UnsafePointer<Double>, k: Int,
                  gradient g: UnsafeMutablePointer<Double>, probabilities p: UnsafeMutablePointer<Double>) -> Double {
        switch self {
        case .crossEntropy:
            var top = -Double.infinity
            for c in 0..<k { top = max(top, f[c]) }
            var sum = 0.0
            for c in 0..<k { p[c] = exp(f[c] - top); sum += p[c] }
            let logSum = top + log(sum)
            var mass = 0.0, loss = 0.0
            for c in 0..<k {
                p[c] /= sum
                mass += y[c]
                // y_c · (log Σ e^f − f_c): skip zero targets so that an infinite logit cannot make 0·∞.
                if y[c] != 0 { loss += y[c] * (logSum - f[c]) }
            }
            for c in 0..<k { g[c] = mass * p[c] - y[c] }
            return loss
        case .meanSquaredError:
            let scale = 1 / Double(k)
            var loss = 0.0
            for c in 0..<k {
                let r = f[c] - y[c]
                loss += r * r
                g[c] = r * scale
            }
            return 0.5 * scale * loss
        }
    }

    /// u = ∇²_f ℓ · r for one sample and one direction r (p, y as left by `evaluate`).
    @inline(__always)
    public func curvatureProduct(_ r: UnsafePointer<Double>, probabilities p: UnsafePointer<Double>,
                          target y: UnsafePointer<Double>, k: Int, into u: UnsafeMutablePointer<Double>) {
        switch self {
        case .crossEntropy:
            var mass = 0.0, pr = 0.0
            for c in 0..<k { mass += y[c]; pr += p[c] * r[c] }
            // (diag p − p pᵀ) r = p ⊙ (r − pᵀr)
            for c in 0..<k { u[c] = mass * p[c] * (r[c] - pr) }
        case .meanSquaredError:
            let scale = 1 / Double(k)
            for c in 0..<k { u[c] = r[c] * scale }
        }
    }
}

extension Loss {
    /// The loss head of a tile of n samples with k outputs each (row-major): ℓᵢ summed, ∇_f ℓᵢ
    /// into `gradient` and pᵢ into `probabilities` (n × k each), and how many rows' largest output
    /// is their largest target (ties: the first). Every model's passes end here.
    func head(outputs: UnsafePointer<Double>, targets y: UnsafePointer<Double>, count n: Int, outputs k: Int,
              gradient g: UnsafeMutablePointer<Double>, probabilities p: UnsafeMutablePointer<Double>) -> LossStatistics {
        var sum = 0.0, correct = 0
        for i in 0..<n {
            let f = outputs + i * k, target = y + i * k
            sum += evaluate(output: f, target: target, k: k, gradient: g + i * k, probabilities: p + i * k)
            var best = 0, label = 0
            for c in 1..<max(k, 1) {
                if f[c] > f[best] { best = c }
                if target[c] > target[label] { label = c }
            }
            if best == label { correct += 1 }
        }
        return LossStatistics(lossSum: sum, correct: correct, count: n)
    }

    /// R δ_L = ∇²_f ℓᵢ · R fᵢⱼ for n samples and B directions: rows (i, j) of k, the i-th sample's
    /// p and y (as left by `head`) serving all its directions.
    func curvatureProducts(_ rf: UnsafePointer<Double>, probabilities p: UnsafePointer<Double>, targets y: UnsafePointer<Double>,
                           count n: Int, directions B: Int, outputs k: Int, into u: UnsafeMutablePointer<Double>) {
        for i in 0..<n { for j in 0..<B {
            let t = (i * B + j) * k
            curvatureProduct(rf + t, probabilities: p + i * k, target: y + i * k, k: k, into: u + t)
        } }
    }
}
