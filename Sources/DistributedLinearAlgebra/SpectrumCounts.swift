/// The inertia of a computed spectrum: how many eigenvalues are negative, numerically zero and
/// positive, with the tolerance that decided "zero" stated next to the counts.
public struct SpectrumCounts: Codable, Equatable, Sendable {
    public var negative: Int
    public var nearZero: Int
    public var positive: Int
    /// |λ| ≤ zeroTolerance counts as zero.
    public var zeroTolerance: Double
    public var minimum: Double
    public var maximum: Double

    /// The default tolerance is NumPy's `matrix_rank` rule, M · ε · max|λ|: eigenvalues below it
    /// are indistinguishable from zero after a backward-stable decomposition of an M × M matrix.
    public static func defaultZeroTolerance(_ eigenvalues: [Double], dimension: Int) -> Double {
        let largest = eigenvalues.reduce(0) { max($0, abs($1)) }
        return Double(dimension) * Double.ulpOfOne * largest
    }

    public init(eigenvalues: [Double], dimension: Int, zeroTolerance: Double? = nil) {
        let tolerance = zeroTolerance ?? Self.defaultZeroTolerance(eigenvalues, dimension: dimension)
        self.zeroTolerance = tolerance
        negative = eigenvalues.filter { $0 < -tolerance }.count
        positive = eigenvalues.filter { $0 > tolerance }.count
        nearZero = eigenvalues.count - negative - positive
        minimum = eigenvalues.min() ?? .nan
        maximum = eigenvalues.max() ?? .nan
    }
}

/// The inertia as the papers count it (Sagun et al.'s "bulk at zero"): an eigenvalue is in the
/// bulk when |λ| ≤ τ·λmax, a size relative to the spectrum rather than the solver's round-off.
/// λmax is max|λ| — the largest eigenvalue wherever the positive outliers dominate, and still a
/// scale for spectra that are mostly negative (R = H − G).
public struct RelativeInertia: Codable, Equatable, Sendable {
    /// τ: the bulk is |λ| ≤ τ·λmax.
    public var relativeTolerance: Double
    /// τ·λmax, the absolute threshold that decided.
    public var threshold: Double
    public var negative: Int
    public var bulk: Int
    public var positive: Int
    /// bulk / M: the share of the spectrum at zero on this scale.
    public var bulkFraction: Double

    public init(eigenvalues: [Double], relativeTolerance τ: Double) {
        let scale = eigenvalues.reduce(0) { max($0, abs($1)) }
        relativeTolerance = τ
        let threshold = τ * scale
        self.threshold = threshold
        negative = eigenvalues.filter { $0 < -threshold }.count
        positive = eigenvalues.filter { $0 > threshold }.count
        bulk = eigenvalues.count - negative - positive
        bulkFraction = eigenvalues.isEmpty ? 0 : Double(bulk) / Double(eigenvalues.count)
    }

    /// The default τ list: 10⁻⁴ and 10⁻³ of λmax.
    public static let defaultTolerances = [1e-4, 1e-3]
}
