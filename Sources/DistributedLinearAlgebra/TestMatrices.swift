import Cluster
import Foundation
import SeededRandom

/// A dense symmetric matrix with a spectrum known in closed form, generated entry by entry on the
/// ranks that own each entry (no communication, no rank holds it whole): A = Q D Q with the
/// Householder reflector Q = I − 2uuᵀ (‖u‖ = 1, so Q = Qᵀ = Q⁻¹) and D = diag(d). Then
///
///     Aᵢⱼ = dᵢ δᵢⱼ − 2 uᵢ uⱼ (dᵢ + dⱼ) + 4 uᵢ uⱼ s,   s = uᵀ D u,
///
/// every entry O(1), and the eigenvalues of A are exactly d. The spectrum mimics a Hessian's: a
/// bulk of Chebyshev points in [−1, 1] plus `outliers` separated eigenvalues 10, 20, ….
public struct HouseholderTestMatrix: Sendable {
    public let size: Int
    public let seed: UInt64
    public let outliers: Int
    /// The spectrum in ascending order.
    public let eigenvalues: [Double]
    private let d: [Double]
    private let u: [Double]
    private let s: Double

    /// What `householder:M[:SEED]` asks for, before anything of size M exists: the memory plan
    /// runs on this, and `generate()` only once it has passed.
    public struct Specification: Sendable, Equatable {
        public let size: Int
        public let seed: UInt64

        /// Parses `householder:M` or `householder:M:SEED`.
        public init(parsing text: String) throws {
            let parts = text.split(separator: ":")
            guard parts.count >= 2, parts.count <= 3, parts[0] == "householder", let m = Int(parts[1]), m >= 1,
                  parts.count == 2 || UInt64(parts[2]) != nil
            else { throw InputError(setting: "test-matrix", "'\(text)' is not of the form householder:M[:SEED] with M ≥ 1") }
            size = m
            seed = parts.count == 3 ? UInt64(parts[2])! : 1
        }

        public var description: String { "householder:\(size):\(seed)" }

        /// The matrix (its O(M) diagonal and reflector; entries are computed where they are owned).
        public func generate() -> HouseholderTestMatrix { HouseholderTestMatrix(size: size, seed: seed) }
    }

    public init(size: Int, seed: UInt64 = 1, outliers: Int = 5) {
        self.size = size
        self.seed = seed
        self.outliers = min(outliers, size)
        let bulk = size - self.outliers
        var d = (0..<bulk).map { k in cos(Double.pi * (Double(bulk - k) - 0.5) / Double(bulk)) }
        d += (0..<self.outliers).map { 10.0 * Double($0 + 1) }
        // Shuffle the diagonal so the spectrum is not aligned with the coordinate axes' order.
        var generator = SplitMix64(seed: seed)
        d.shuffle(using: &generator)
        var u = (0..<size).map { _ in generator.nextNormal() }
        let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        u = u.map { $0 / norm }
        self.d = d
        self.u = u
        self.s = zip(u, d).reduce(0) { $0 + $1.0 * $1.0 * $1.1 }
        self.eigenvalues = d.sorted()
    }

    public func entry(_ i: Int, _ j: Int) -> Double {
        let uu = u[i] * u[j]
        return (i == j ? d[i] : 0) - 2 * uu * (d[i] + d[j]) + 4 * uu * s
    }
}
