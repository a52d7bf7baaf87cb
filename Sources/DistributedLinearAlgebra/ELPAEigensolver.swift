import CELPA
import Cluster
import Foundation

/// ELPA's symmetric eigensolvers on a `BlockCyclicMatrix`, in place on the BLACS layout that
/// ScaLAPACK uses (no redistribution).
///
/// * 2-stage (full → band → tridiagonal) is the fast path for eigenvalues only.
/// * 1-stage (direct tridiagonalisation) is used for eigenvectors: Debian's ELPA has only generic
///   kernels, with which the 2-stage back-transformation is several times slower.
/// * A subset of the `k` smallest eigenpairs is ELPA's `nev`; the `k` largest are the `k`
///   smallest of −A, negated back.
///
/// Every ELPA call's error code is checked and reported with the setting or routine that failed.
public struct ELPAEigensolver: Sendable {
    public enum Stage: String, Codable, Sendable { case one = "elpa1", two = "elpa2" }
    public let stage: Stage

    public init(stage: Stage) { self.stage = stage }

    /// ELPA is usable: the library is linked and `LANDSCAPE_DISABLE_ELPA` is not set (the switch
    /// that lets tests and users see the ScaLAPACK-only behaviour).
    public static var isAvailable: Bool {
        ProcessInfo.processInfo.environment["LANDSCAPE_DISABLE_ELPA"].map { $0.isEmpty || $0 == "0" } ?? true
    }

    /// ELPA needs every process to own part of the matrix: with an empty local piece its setup
    /// fails (ELPA_ERROR_SETUP), and with too few blocks per process its 1-stage solver reports
    /// ELPA_ERROR_DURING_COMPUTATION (both seen here). So: at least one full block per process
    /// row and column.
    public static func supports(n: Int, blockSize: Int, grid: (rows: Int, columns: Int)) -> Bool {
        n >= blockSize * max(grid.rows, grid.columns)
    }

    /// ELPA's `nev` for eigenvalues only. ELPA solves the tridiagonal problem by divide and
    /// conquer *with* eigenvectors even when none are wanted, and `nev` bounds the eigenvector
    /// columns its merge steps update: every merge still yields all eigenvalues of its subproblem
    /// (the secular equation is solved for each), so the returned spectrum is complete. With
    /// `nev = na` the tridiagonal solve was 43 % of a 2-stage solve at M = 8000 (12.6 of 29.5 s);
    /// with `nev = 1` it is 5 s and the eigenvalues are bitwise the same (docs/eigensolvers.md).
    static let eigenvaluesOnlyNev: Int32 = 1

    public static let installHint = "ELPA is not available; install it with `apt-get install libelpa-dev` (launch/install-deps does) or use --solver scalapack"

    /// ELPA allocates its own work arrays. Measured here (peak RSS of `landscape eig`, M = 3000 on
    /// 2 ranks, less the process's baseline): 2-stage for eigenvalues needs ≈ 4 more local pieces
    /// of the matrix, 1-stage ≈ 3.5, and 1-stage with eigenvectors ≈ 2.5 beyond A and Z.
    public func workspaceBytes(localEntries: Double, vectors: Bool) -> Double {
        localEntries * 8 * (stage == .two ? 4 : (vectors ? 2.5 : 3.5))
    }

    public func decompose(_ matrix: inout BlockCyclicMatrix,
                          selection: EigenvectorSelection) throws -> SymmetricEigenDecomposition {
        precondition(matrix.rows == matrix.columns)
        let n = matrix.rows
        let count = selection.indexRange(n: n).count
        let negate: Bool
        if case .top = selection, count < n { negate = true } else { negate = false }
        if negate { for i in matrix.local.indices { matrix.local[i] = -matrix.local[i] } }

        try check(elpa_init(landscape_elpa_api_version()), "elpa_init")
        var error: Int32 = 0
        guard let handle = landscape_elpa_allocate(&error), error == landscape_elpa_ok() else {
            throw ELPAError(operation: "elpa_allocate", code: error)
        }
        defer {
            var ignored: Int32 = 0
            landscape_elpa_deallocate(handle, &ignored)
            landscape_elpa_uninit(&ignored)
        }
        let settings: [(String, Int32)] = [
            ("na", Int32(n)), ("nev", selection == .none ? Self.eigenvaluesOnlyNev : Int32(count)),
            ("local_nrows", Int32(matrix.localRows)), ("local_ncols", Int32(matrix.localColumns)),
            ("nblk", Int32(matrix.blockSize)), ("mpi_comm_parent", matrix.grid.communicator.fortranHandle),
            ("process_row", Int32(matrix.grid.myRow)), ("process_col", Int32(matrix.grid.myColumn)),
            ("blacs_context", matrix.grid.context),
        ]
        for (name, value) in settings {
            elpa_set_integer(handle, name, value, &error)
            try check(error, "setting \(name) = \(value)")
        }
        try check(elpa_setup(handle), "elpa_setup")
        elpa_set_integer(handle, "solver", stage == .two ? landscape_elpa_solver_2stage() : landscape_elpa_solver_1stage(), &error)
        try check(error, "setting solver = \(stage.rawValue)")

        var w = [Double](repeating: 0, count: n)
        var z: BlockCyclicMatrix? = nil
        if selection == .none {
            matrix.local.withUnsafeMutableBufferPointer { a in
                elpa_eigenvalues_double(handle, a.baseAddress, &w, &error)
            }
            try check(error, "elpa_eigenvalues")
        } else {
            var vectors = try BlockCyclicMatrix(grid: matrix.grid, rows: n, columns: n, blockSize: matrix.blockSize)
            matrix.local.withUnsafeMutableBufferPointer { a in
                vectors.local.withUnsafeMutableBufferPointer { q in
                    elpa_eigenvectors_double(handle, a.baseAddress, &w, q.baseAddress, &error)
                }
            }
            try check(error, "elpa_eigenvectors")
            z = vectors
        }
        var eigenvalues = Array(w.prefix(selection == .none ? n : count))
        if negate {
            // λ(−A) ascending = −λ(A) descending: flip values and the order of the vectors.
            eigenvalues = eigenvalues.reversed().map { -$0 }
            if var vectors = z {
                try vectors.reverseLeadingColumns(count)
                z = vectors
            }
        }
        return SymmetricEigenDecomposition(eigenvalues: eigenvalues, eigenvectors: z)
    }

    private func check(_ code: Int32, _ operation: String) throws {
        if code != landscape_elpa_ok() { throw ELPAError(operation: operation, code: code) }
    }
}

/// An ELPA call or setting failed; the message is ELPA's own (`elpa_strerr`).
public struct ELPAError: Error, CustomStringConvertible {
    public let operation: String
    public let code: Int32
    public var description: String {
        "ELPA \(operation) failed (\(code)): \(String(cString: elpa_strerr(code)))"
    }
}

extension BlockCyclicMatrix {
    /// Reverses the order of global columns 0 ..< k: column j becomes column k−1−j.
    ///
    /// k is a subset size (tens to hundreds of vectors), so the simplest exact scheme is cheap:
    /// every rank writes the leading columns it owns into a zero-padded localRows × k panel, the
    /// panels are summed across the process row (whose ranks hold the same global rows), and each
    /// rank copies its own columns back from the mirrored positions.
    mutating func reverseLeadingColumns(_ k: Int) throws {
        guard k > 1 else { return }
        var panel = [Double](repeating: 0, count: localRows * k)
        for c in 0..<localColumns where globalColumn(c) < k {
            let j = globalColumn(c)
            for r in 0..<localRows { panel[j * localRows + r] = local[c * leadingDimension + r] }
        }
        let processRow = try grid.communicator.split(color: grid.myRow, key: grid.myColumn)
        defer { try? processRow.free() }
        try processRow.allreduce(&panel, .sum)
        for c in 0..<localColumns where globalColumn(c) < k {
            let source = k - 1 - globalColumn(c)
            for r in 0..<localRows { local[c * leadingDimension + r] = panel[source * localRows + r] }
        }
    }
}
