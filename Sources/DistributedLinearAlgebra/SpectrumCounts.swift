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
