import CScaLAPACK
import Cluster

/// Which eigenvectors a symmetric eigen-decomposition should produce.
public enum EigenvectorSelection: Equatable, Sendable, CustomStringConvertible {
    /// Eigenvalues only: no eigenvector storage at all.
    case none
    /// Every eigenpair.
    case all
    /// The `k` smallest eigenpairs (indices 1…k in ascending order).
    case bottom(Int)
    /// The `k` largest eigenpairs (indices M−k+1…M), still reported in ascending order.
    case top(Int)

    /// Parses `none`, `all`, `top:K` or `bottom:K`.
    public init(parsing text: String) throws {
        let lower = text.lowercased()
        if lower == "none" { self = .none; return }
        if lower == "all" { self = .all; return }
        let parts = lower.split(separator: ":")
        if parts.count == 2, let k = Int(parts[1]), k >= 1 {
            if parts[0] == "top" { self = .top(k); return }
            if parts[0] == "bottom" { self = .bottom(k); return }
        }
        throw InputError(setting: "vectors", "'\(text)' is not one of none, all, top:K, bottom:K (K ≥ 1)")
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .all: "all"
        case .bottom(let k): "bottom:\(k)"
        case .top(let k): "top:\(k)"
        }
    }

    /// The 1-based index range (IL, IU) of the eigenpairs selected from an n × n matrix.
    public func indexRange(n: Int) -> ClosedRange<Int> {
        switch self {
        case .none, .all: 1...n
        case .bottom(let k): 1...min(k, n)
        case .top(let k): (n - min(k, n) + 1)...n
        }
    }
}

/// The ScaLAPACK driver that performs a symmetric eigen-decomposition.
public enum ScaLAPACKEigensolver: String, CaseIterable, Codable, Sendable {
    /// Divide and conquer; eigenvectors always (ScaLAPACK implements only JOBZ='V').
    case pdsyevd
    /// QR iteration; the eigenvalues-only path (JOBZ='N') needs no eigenvector storage.
    case pdsyev
    /// MRRR; eigenvalues only, all eigenpairs, or an index subset (RANGE='I').
    case pdsyevr

    /// The routine used for a selection when the caller does not choose: PDSYEV for eigenvalues
    /// only (faster than PDSYEVR 'N' on 2+ ranks here, see docs/eigensolvers.md), PDSYEVD for all
    /// eigenpairs where it is reliable and PDSYEVR otherwise, PDSYEVR for a subset.
    public static func preferred(for selection: EigenvectorSelection, n: Int, blockSize: Int,
                                 grid: (rows: Int, columns: Int)) -> ScaLAPACKEigensolver {
        switch selection {
        case .none: .pdsyev
        case .all: pdsyevdIsReliable(n: n, blockSize: blockSize, grid: grid) ? .pdsyevd : .pdsyevr
        case .bottom, .top: .pdsyevr
        }
    }

    /// Debian's ScaLAPACK 2.2.1 PDSYEVD returns wrong eigenvectors (residuals of order ‖A‖), or
    /// never returns, when the matrix spans only a few blocks per process: seen here for M = 50 with
    /// NB = 40 on 1 process, M = 100 with NB = 64 on 1 × 2 (a hang) and M = 128–200 with NB = 64 on
    /// 2 × 2, while M = 500 on 2 × 2 is correct. We use it only with at least four blocks per
    /// process row and column, which every failure we saw violates (docs/eigensolvers.md).
    public static func pdsyevdIsReliable(n: Int, blockSize: Int, grid: (rows: Int, columns: Int)) -> Bool {
        n >= 4 * blockSize * max(grid.rows, grid.columns)
    }

    /// Whether this routine can produce `selection`.
    public func supports(_ selection: EigenvectorSelection) -> Bool {
        switch (self, selection) {
        case (.pdsyevd, .none): false           // PDSYEVD has no JOBZ='N'
        case (.pdsyevd, .bottom), (.pdsyevd, .top), (.pdsyev, .bottom), (.pdsyev, .top): false
        default: true
        }
    }
}

/// The eigenvalues (ascending) and, when asked, the matching eigenvectors: column c of
/// `eigenvectors` (c < eigenvalues.count) belongs to eigenvalues[c].
public struct SymmetricEigenDecomposition: Sendable {
    public var eigenvalues: [Double]
    public var eigenvectors: BlockCyclicMatrix?
}

/// Symmetric eigensolvers on a `BlockCyclicMatrix`. Every routine runs as ScaLAPACK intends:
/// a workspace query (LWORK = −1) first, then the real call; INFO ≠ 0 is a `ScaLAPACKError`
/// naming the routine.
public struct ScaLAPACKSymmetricEigensolver: Sendable {
    public let routine: ScaLAPACKEigensolver

    public init(routine: ScaLAPACKEigensolver) { self.routine = routine }

    /// Workspace the routine will ask for on this rank, in bytes (WORK + IWORK), found by the
    /// routine's own query on descriptors alone, before any matrix is allocated.
    public func workspaceBytes(grid: ProcessGrid, n: Int, blockSize: Int, selection: EigenvectorSelection) throws -> Int {
        let rows = BlockCyclicAxis(count: n, blockSize: blockSize, processes: grid.rows).localCount(process: grid.myRow)
        let descriptor = try BlockCyclicMatrix.descriptor(grid: grid, rows: n, columns: n, blockSize: blockSize,
                                                          leadingDimension: max(1, rows))
        var scratch = [0.0]   // the query reads descriptors only; A and Z are never touched
        let (lwork, liwork) = try scratch.withUnsafeMutableBufferPointer { p in
            try query(n: n, a: p.baseAddress!, descA: descriptor, z: p.baseAddress!, descZ: descriptor,
                      selection: selection)
        }
        return lwork * 8 + liwork * 4
    }

    /// Decomposes `matrix` (destroyed: ScaLAPACK overwrites it). Uses the lower triangle.
    public func decompose(_ matrix: inout BlockCyclicMatrix,
                          selection: EigenvectorSelection) throws -> SymmetricEigenDecomposition {
        precondition(matrix.rows == matrix.columns)
        guard routine.supports(selection) else {
            throw InputError("\(routine.rawValue) cannot compute eigenvectors '\(selection)'; choose another solver")
        }
        let n = matrix.rows
        var z: BlockCyclicMatrix? = selection == .none
            ? nil : try BlockCyclicMatrix(grid: matrix.grid, rows: n, columns: n, blockSize: matrix.blockSize)
        var w = [Double](repeating: 0, count: n)
        let zDescriptor = z?.descriptor ?? matrix.descriptor
        // Move Z's storage out while ScaLAPACK writes it, so the write is not a copy-on-write copy.
        var zLocal = [0.0]
        if z != nil { swap(&zLocal, &z!.local) }
        let found = try matrix.local.withUnsafeMutableBufferPointer { a in
            try zLocal.withUnsafeMutableBufferPointer { zb in
                let (lwork, liwork) = try query(n: n, a: a.baseAddress!, descA: matrix.descriptor,
                                                z: zb.baseAddress!, descZ: zDescriptor, selection: selection)
                var work = [Double](repeating: 0, count: max(1, lwork))
                var iwork = [Int32](repeating: 0, count: max(1, liwork))
                return try call(n: n, a: a.baseAddress!, descA: matrix.descriptor, w: &w, z: zb.baseAddress!,
                                descZ: zDescriptor, selection: selection, work: &work, iwork: &iwork)
            }
        }
        if z != nil { swap(&zLocal, &z!.local) }
        return SymmetricEigenDecomposition(eigenvalues: Array(w.prefix(found)), eigenvectors: z)
    }

    // MARK: The Fortran calls

    private func query(n: Int, a: UnsafeMutablePointer<Double>, descA: [Int32], z: UnsafeMutablePointer<Double>,
                       descZ: [Int32], selection: EigenvectorSelection) throws -> (Int, Int) {
        var work = [0.0], iwork: [Int32] = [0], w = [Double](repeating: 0, count: max(1, n))
        _ = try call(n: n, a: a, descA: descA, w: &w, z: z, descZ: descZ, selection: selection,
                     work: &work, iwork: &iwork, query: true)
        // Round the floating-point LWORK up, and pad it: the queries of some ScaLAPACK versions
        // undershoot by a few elements for tiny local pieces.
        return (Int(work[0].rounded(.up)) + 64, Int(iwork[0]) + 64)
    }

    /// One driver call; returns the number of eigenvalues found.
    private func call(n: Int, a: UnsafeMutablePointer<Double>, descA: [Int32], w: inout [Double],
                      z: UnsafeMutablePointer<Double>, descZ: [Int32], selection: EigenvectorSelection,
                      work: inout [Double], iwork: inout [Int32], query: Bool = false) throws -> Int {
        var n32 = Int32(n), one: Int32 = 1, info: Int32 = 0
        var lwork: Int32 = query ? -1 : Int32(clamping: work.count)
        var liwork: Int32 = query ? -1 : Int32(clamping: iwork.count)
        let jobz = selection == .none ? "N" : "V"
        switch routine {
        case .pdsyevd:
            pdsyevd_(jobz, "L", &n32, a, &one, &one, descA, &w, z, &one, &one, descZ, &work, &lwork,
                     &iwork, &liwork, &info, 1, 1)
        case .pdsyev:
            pdsyev_(jobz, "L", &n32, a, &one, &one, descA, &w, z, &one, &one, descZ, &work, &lwork, &info, 1, 1)
        case .pdsyevr:
            let range = selection.indexRange(n: n)
            let isSubset = range.count < n
            var il = Int32(range.lowerBound), iu = Int32(range.upperBound), vl = 0.0, vu = 0.0
            var found: Int32 = 0, foundVectors: Int32 = 0
            pdsyevr_(jobz, isSubset ? "I" : "A", "L", &n32, a, &one, &one, descA, &vl, &vu, &il, &iu,
                     &found, &foundVectors, &w, z, &one, &one, descZ, &work, &lwork, &iwork, &liwork, &info,
                     1, 1, 1)
            if info != 0 { throw ScaLAPACKError(routine: "PDSYEVR", info: Int(info)) }
            return query ? n : Int(found)
        }
        if info != 0 { throw ScaLAPACKError(routine: routine.rawValue.uppercased(), info: Int(info)) }
        return n
    }
}
