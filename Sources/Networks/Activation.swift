#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// The element-wise nonlinearity σ of the hidden layers (the output layer is always affine).
///
/// Each case gives σ, σ′ and σ″ — the R-operator needs all three: σ′ carries directions forward
/// and gradients backward, σ″ is the curvature of the unit itself (the `diag(σ″(z) ⊙ e)` term of
/// the Hessian). ReLU's σ″ is 0: the Hessian is that of the almost-everywhere smooth branch, and at
/// the kink z = 0 we take σ′(0) = 0 (JAX's convention), so a unit exactly at 0 is inactive.
public enum Activation: String, CaseIterable, Sendable, Codable {
    case relu, tanh, sigmoid, linear, softplus

    /// σ(z).
    @inline(__always)
    public func value(_ z: Double) -> Double {
        switch self {
        case .relu: return z > 0 ? z : 0
        case .tanh: return Glibc.tanh(z)
        case .sigmoid: return Self.logistic(z)
        case .linear: return z
        // log(1 + eᶻ) = max(z, 0) + log1p(e^−|z|): no overflow for large |z|.
        case .softplus: return max(z, 0) + log1p(exp(-abs(z)))
        }
    }

    /// (σ(z), σ′(z), σ″(z)), with the derivatives written in terms of σ where that is cheaper
    /// and more accurate: tanh′ = 1 − t², tanh″ = −2t(1 − t²); s′ = s(1 − s), s″ = s(1 − s)(1 − 2s);
    /// softplus′ = s(z), softplus″ = s(1 − s).
    @inline(__always)
    public func derivatives(_ z: Double) -> (value: Double, first: Double, second: Double) {
        switch self {
        case .relu: return z > 0 ? (z, 1, 0) : (0, 0, 0)
        case .tanh:
            let t = Glibc.tanh(z), d = 1 - t * t
            return (t, d, -2 * t * d)
        case .sigmoid:
            let s = Self.logistic(z), d = s * (1 - s)
            return (s, d, d * (1 - 2 * s))
        case .linear: return (z, 1, 0)
        case .softplus:
            let s = Self.logistic(z)
            return (max(z, 0) + log1p(exp(-abs(z))), s, s * (1 - s))
        }
    }

    /// 1 / (1 + e⁻ᶻ), evaluated without overflow for either sign of z.
    @inline(__always)
    static func logistic(_ z: Double) -> Double {
        if z >= 0 { return 1 / (1 + exp(-z)) }
        let e = exp(z)
        return e / (1 + e)
    }
}
