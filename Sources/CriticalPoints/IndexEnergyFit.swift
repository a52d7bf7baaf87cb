#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Pennington & Bahri's law for the index of critical points at small index,
/// α ≈ α₀ · |(ε − ε_c)/ε_c|^p with p = 3/2 in their random-matrix model — fitted with p free, so
/// the exponent is measured, not assumed.
///
/// The fit is least squares in log α (the indices span decades, and a relative error is what a
/// count of negative eigenvalues has): for a fixed ε_c the model log α = log α₀ + p·log|ε/ε_c − 1|
/// is linear in (log α₀, p), so the residual is profiled over ε_c ∈ (0, min ε) — ε_c is the energy
/// below which critical points are minima, so below every saddle — on a grid refined by golden
/// sections. The standard errors come from the Gauss–Newton covariance of all three parameters
/// at the optimum, σ²(JᵀJ)⁻¹ with σ² = RSS/(n − 3).
public struct IndexEnergyFit: Sendable, Codable, Equatable {
    public var criticalEnergy: Double
    public var criticalEnergyError: Double
    public var amplitude: Double
    public var amplitudeError: Double
    public var exponent: Double
    public var exponentError: Double
    /// √(RSS/(n − 3)) in log α.
    public var residualStandardDeviation: Double
    /// Points with α > 0 that the fit used.
    public var points: Int

    /// nil with fewer than 4 points of positive index (3 parameters and one degree of freedom).
    public init?(energies: [Double], indices: [Double]) {
        let pairs = zip(energies, indices).filter { $0.1 > 0 && $0.0.isFinite && $0.0 > 0 }
        guard pairs.count >= 4, let lowest = pairs.map(\.0).min(), pairs.contains(where: { $0.0 > lowest }) else { return nil }
        let ε = pairs.map(\.0), logα = pairs.map { log($0.1) }
        // The profile: for u = ε_c / min ε in (0, 1), the best (log α₀, p) and its residual.
        func profile(_ u: Double) -> (a: Double, p: Double, rss: Double) {
            let c = u * lowest
            let x = ε.map { log(abs($0 / c - 1)) }
            let n = Double(x.count)
            let mx = x.reduce(0, +) / n, my = logα.reduce(0, +) / n
            var sxx = 0.0, sxy = 0.0
            for i in x.indices { sxx += (x[i] - mx) * (x[i] - mx); sxy += (x[i] - mx) * (logα[i] - my) }
            let p = sxx > 0 ? sxy / sxx : 0
            let a = my - p * mx
            var rss = 0.0
            for i in x.indices { let r = logα[i] - a - p * x[i]; rss += r * r }
            return (a, p, rss.isFinite ? rss : .infinity)
        }
        let grid = 2000
        var best = 1
        var bestRSS = Double.infinity
        for j in 1...grid {
            let r = profile(Double(j) / Double(grid + 1)).rss
            if r < bestRSS { (best, bestRSS) = (j, r) }
        }
        // Golden sections on the grid cell around the best node.
        var lo = Double(best - 1) / Double(grid + 1), hi = Double(best + 1) / Double(grid + 1)
        lo = max(lo, 1e-12)
        hi = min(hi, 1 - 1e-12)
        let ratio = (5.0.squareRoot() - 1) / 2
        var x1 = hi - ratio * (hi - lo), x2 = lo + ratio * (hi - lo)
        var f1 = profile(x1).rss, f2 = profile(x2).rss
        for _ in 0..<100 {
            if f1 < f2 { (hi, x2, f2) = (x2, x1, f1); x1 = hi - ratio * (hi - lo); f1 = profile(x1).rss }
            else { (lo, x1, f1) = (x1, x2, f2); x2 = lo + ratio * (hi - lo); f2 = profile(x2).rss }
        }
        let u = (lo + hi) / 2
        let (a, p, rss) = profile(u)
        let c = u * lowest
        // Gauss–Newton covariance of (log α₀, p, ε_c): ∂/∂a = 1, ∂/∂p = log|ε/c − 1|,
        // ∂/∂c = p · d/dc log|ε − c| − p · d/dc log c = −p/(ε − c) − p/c.
        var jtj = [Double](repeating: 0, count: 9)
        for e in ε {
            let row = [1, log(abs(e / c - 1)), -p / (e - c) - p / c]
            for r in 0..<3 { for s in 0..<3 { jtj[3 * r + s] += row[r] * row[s] } }
        }
        let n = Double(ε.count)
        let variance = n > 3 ? rss / (n - 3) : .nan
        let inverse = Self.inverse3(jtj)
        func error(_ k: Int) -> Double { (variance * (inverse?[4 * k] ?? .nan)).squareRoot() }
        criticalEnergy = c
        criticalEnergyError = error(2)
        amplitude = exp(a)
        amplitudeError = exp(a) * error(0)
        exponent = p
        exponentError = error(1)
        residualStandardDeviation = variance.squareRoot()
        points = ε.count
    }

    /// α at ε by the fitted law.
    public func index(at ε: Double) -> Double {
        amplitude * pow(abs((ε - criticalEnergy) / criticalEnergy), exponent)
    }

    /// The inverse of a 3 × 3 matrix by cofactors (row-major), nil when singular.
    static func inverse3(_ m: [Double]) -> [Double]? {
        let c00 = m[4] * m[8] - m[5] * m[7], c01 = m[5] * m[6] - m[3] * m[8], c02 = m[3] * m[7] - m[4] * m[6]
        let det = m[0] * c00 + m[1] * c01 + m[2] * c02
        guard det != 0, det.isFinite else { return nil }
        let c10 = m[2] * m[7] - m[1] * m[8], c11 = m[0] * m[8] - m[2] * m[6], c12 = m[1] * m[6] - m[0] * m[7]
        let c20 = m[1] * m[5] - m[2] * m[4], c21 = m[2] * m[3] - m[0] * m[5], c22 = m[0] * m[4] - m[1] * m[3]
        return [c00, c10, c20, c01, c11, c21, c02, c12, c22].map { $0 / det }
    }
}
