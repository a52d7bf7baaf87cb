import CScaLAPACK

/// The Rayleigh–Ritz step of every Krylov method here: all eigenpairs of a small dense symmetric
/// matrix T = Vᵀ A V (c × c, c the basis size — tens to a few thousand), by LAPACK's divide and
/// conquer `dsyevd`, after its workspace query. Replicated on every rank (T is the same there).
struct ProjectedEigenproblem {
    /// Ascending.
    let values: [Double]
    /// Column-major c × c: column i is the eigenvector of `values[i]`.
    let vectors: [Double]
    let size: Int

    /// `t`: c × c column-major, symmetric (only the lower triangle is read).
    init(_ t: [Double], size c: Int) throws {
        precondition(t.count >= c * c)
        size = c
        guard c > 0 else {
            values = []
            vectors = []
            return
        }
        var a = Array(t[0 ..< c * c])
        var w = [Double](repeating: 0, count: c)
        let n = Int32(c)
        // Workspace query (lwork = liwork = −1), then the solve.
        var workSize = 0.0, iworkSize: Int32 = 0
        var info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "L")), n, &a, n, &w, &workSize, -1, &iworkSize, -1)
        guard info == 0 else { throw KrylovError.lapack(routine: "dsyevd (workspace query)", info: Int(info)) }
        var work = [Double](repeating: 0, count: max(1, Int(workSize)))
        var iwork = [Int32](repeating: 0, count: max(1, Int(iworkSize)))
        info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "L")), n, &a, n, &w,
                                   &work, Int32(work.count), &iwork, Int32(iwork.count))
        guard info == 0 else { throw KrylovError.lapack(routine: "dsyevd", info: Int(info)) }
        values = w
        vectors = a
    }

    /// Component `row` of eigenvector `i`.
    func vector(_ i: Int, row: Int) -> Double { vectors[i * size + row] }
}

/// A LAPACK failure inside a Krylov method (not bad input: the job aborts with it).
public enum KrylovError: Error, CustomStringConvertible {
    case lapack(routine: String, info: Int)

    public var description: String {
        switch self {
        case .lapack(let routine, let info): "LAPACK \(routine) failed with info = \(info)"
        }
    }
}
