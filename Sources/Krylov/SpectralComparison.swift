/// How far a matrix-free estimate is from the exact spectrum (the eigenvalues `landscape
/// spectrum` wrote): the ground truth no stochastic estimator's users had.
public struct SpectralComparison: Sendable {
    /// The exact eigenvalues, ascending.
    public let exact: [Double]

    public init(exactEigenvalues values: [Double]) {
        precondition(!values.isEmpty)
        exact = values.sorted()
    }

    public var range: Double { exact.last! - exact.first! }

    /// |θᵢ − λᵢ| / |λᵢ| for Ritz values in `Lanczos.Result` order against the exact ones at the
    /// same place (the k largest descending, the k smallest ascending).
    public func relativeErrors(_ estimates: [Double], which: SpectrumEnd, count k: Int) -> [Double] {
        let n = exact.count
        let reference: [Double]
        switch which {
        case .largest: reference = (0..<k).map { exact[n - 1 - $0] }
        case .smallest: reference = Array(exact[0..<k])
        case .both: reference = (0..<k).map { exact[n - 1 - $0] } + Array(exact[0..<k])
        }
        return zip(estimates, reference).map { abs($0 - $1) / max(abs($1), .leastNormalMagnitude) }
    }

    /// tr Aᵖ from the exact eigenvalues.
    public func trace(power: Int) -> Double { exact.reduce(0) { $0 + (power == 1 ? $1 : $1 * $1) } }

    /// W₁(μ, ν) / (λmax − λmin) between a discrete measure μ (atoms with weights summing to 1)
    /// and the exact spectral measure ν = (1/n) Σ δ(λⱼ): W₁ = ∫ |F_μ(t) − F_ν(t)| dt over the
    /// merged support, so 0 is a perfect estimate and 1 the distance of the whole mass moved
    /// across the whole spectrum.
    public func wasserstein(_ atoms: [(node: Double, weight: Double)]) -> Double {
        let total = atoms.reduce(0) { $0 + $1.weight }
        let a = atoms.sorted { $0.node < $1.node }
        let share = 1 / Double(exact.count)
        var (i, j) = (0, 0)
        var (fa, fb) = (0.0, 0.0)
        var last = min(a.first?.node ?? exact[0], exact[0])
        var distance = 0.0
        while i < a.count || j < exact.count {
            let next = j >= exact.count || (i < a.count && a[i].node < exact[j]) ? a[i].node : exact[j]
            distance += abs(fa - fb) * (next - last)
            last = next
            if j >= exact.count || (i < a.count && a[i].node < exact[j]) {
                fa += a[i].weight / total
                i += 1
            } else {
                fb += share
                j += 1
            }
        }
        return distance / max(range, .leastNormalMagnitude)
    }

    /// The fraction of the exact eigenvalues below −threshold (the inertia's negative share).
    public func negativeFraction(threshold: Double) -> Double {
        Double(exact.filter { $0 < -threshold }.count) / Double(exact.count)
    }

    /// The same for a measure's atoms.
    public static func negativeFraction(_ atoms: [(node: Double, weight: Double)], threshold: Double) -> Double {
        let total = atoms.reduce(0) { $0 + $1.weight }
        return atoms.filter { $0.node < -threshold }.reduce(0) { $0 + $1.weight } / total
    }
}
