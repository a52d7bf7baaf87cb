/// What Sagun et al. read off a Hessian spectrum: the inertia, the outliers that separate from
/// the bulk near zero, and the trace. Pure functions of the eigenvalues (docs/spectrum.md
/// defines each quantity).
public struct OutlierCounts: Codable, Equatable, Sendable {
    /// The largest consecutive gap λᵢ − λᵢ₊₁ among the top `window` eigenvalues (descending):
    /// the outliers are the i eigenvalues above it.
    public var gap: Int
    /// The largest consecutive ratio λᵢ / λᵢ₊₁ among the top `window` positive eigenvalues.
    public var ratio: Int
    /// The knee of the scree plot of the top `window` eigenvalues: the index farthest from the
    /// chord joining the first and the last point (the "Kneedle" construction).
    public var elbow: Int
    /// How many of the largest eigenvalues were considered.
    public var window: Int

    public init(eigenvalues ascending: [Double], window requested: Int = 100) {
        let top = Array(ascending.reversed().prefix(max(2, requested)))
        window = top.count
        guard top.count >= 2 else { gap = 0; ratio = 0; elbow = 0; return }
        // Gap: argmax_i λ_i − λ_{i+1} (1-based count of eigenvalues above the gap).
        var best = -Double.infinity, bestIndex = 1
        for i in 0..<(top.count - 1) where top[i] - top[i + 1] > best {
            best = top[i] - top[i + 1]; bestIndex = i + 1
        }
        gap = bestIndex
        // Ratio: only where both are clearly positive (a ratio against ~0 means nothing).
        let floor = 1e-12 * abs(top[0])
        best = -Double.infinity; bestIndex = 0
        for i in 0..<(top.count - 1) where top[i + 1] > floor && top[i] / top[i + 1] > best {
            best = top[i] / top[i + 1]; bestIndex = i + 1
        }
        ratio = bestIndex
        // Elbow: maximal distance below the chord from (0, λ₁) to (W−1, λ_W), x and y scaled to [0, 1].
        let span = top[0] - top[top.count - 1]
        if span <= 0 { elbow = 0; return }
        var farthest = 0.0, knee = 0
        for i in 0..<top.count {
            let x = Double(i) / Double(top.count - 1)
            let y = (top[i] - top[top.count - 1]) / span
            let distance = (1 - x) - y          // chord: y = 1 − x; the scree curve lies below it
            if distance > farthest { farthest = distance; knee = i }
        }
        elbow = knee
    }
}

/// trace(H) two ways: Σλ and Σ Hᵢᵢ — equal to round-off when the decomposition is right.
public struct TraceCheck: Codable, Equatable, Sendable {
    public var fromEigenvalues: Double
    public var fromDiagonal: Double
    public init(fromEigenvalues: Double, fromDiagonal: Double) {
        self.fromEigenvalues = fromEigenvalues
        self.fromDiagonal = fromDiagonal
    }
    public var relativeDifference: Double {
        let scale = max(abs(fromEigenvalues), abs(fromDiagonal))
        return scale > 0 ? abs(fromEigenvalues - fromDiagonal) / scale : 0
    }
}
