import CScaLAPACK
import Foundation

/// The principal angles between two k-dimensional subspaces of Rⁿ given by orthonormal bases A and
/// B (n × k, column-major): cos θᵢ are the singular values of Aᵀ B, descending (Björck & Golub), so
/// θ₁ ≤ … ≤ θ_k. The overlap tr(P_A P_B) / k = Σ cos² θᵢ / k is 1 for the same space and k/n on
/// average for a random one. Serial: k ≤ a few hundred, the product is k × k.
public struct PrincipalAngles: Sendable, Equatable {
    /// cos θᵢ, descending (clamped to [0, 1] against rounding).
    public let cosines: [Double]

    public init(_ a: [Double], _ b: [Double], length n: Int, count k: Int) throws {
        precondition(k >= 1 && a.count == n * k && b.count == n * k, "A and B must be n × k")
        var c = [Double](repeating: 0, count: k * k)   // Aᵀ B, k × k column-major
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(k), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(k))
        var s = [Double](repeating: 0, count: k), u = [Double](repeating: 0, count: 1), vt = [Double](repeating: 0, count: 1)
        let none = CChar(UInt8(ascii: "N"))
        // Workspace query first (LWORK = −1), then the call.
        var size = 0.0
        var info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, none, none, Int32(k), Int32(k), &c, Int32(k), &s, &u, 1, &vt, 1, &size, -1)
        guard info == 0 else { throw ScaLAPACKError(routine: "dgesvd (workspace query)", info: Int(info)) }
        var work = [Double](repeating: 0, count: max(1, Int(size)))
        info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, none, none, Int32(k), Int32(k), &c, Int32(k), &s, &u, 1, &vt, 1, &work, Int32(work.count))
        guard info == 0 else { throw ScaLAPACKError(routine: "dgesvd", info: Int(info)) }
        cosines = s.map { min(max($0, 0), 1) }
    }

    /// θᵢ in degrees, ascending.
    public var degrees: [Double] { cosines.map { acos($0) * 180 / .pi } }
    /// tr(P_A P_B) / k.
    public var overlap: Double { cosines.reduce(0) { $0 + $1 * $1 } / Double(cosines.count) }
}
