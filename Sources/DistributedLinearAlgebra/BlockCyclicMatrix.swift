import CScaLAPACK
import Cluster

/// A dense matrix distributed block-cyclically over a process grid, as ScaLAPACK expects it:
/// this rank's piece in column-major `local` storage with leading dimension `leadingDimension`,
/// plus the 9-integer array descriptor that ScaLAPACK routines take.
///
/// Value semantics: copying the struct copies the local piece (Swift arrays are copy-on-write).
public struct BlockCyclicMatrix: Sendable {
    public let grid: ProcessGrid
    public let layout: BlockCyclicLayout
    public let localRows: Int
    public let localColumns: Int
    public let leadingDimension: Int
    public var local: [Double]
    public let descriptor: [Int32]

    /// A zero matrix of `rows × columns` with square blocks of `blockSize`.
    public init(grid: ProcessGrid, rows: Int, columns: Int, blockSize: Int) throws {
        let layout = BlockCyclicLayout(rows: rows, columns: columns, rowBlock: blockSize, columnBlock: blockSize,
                                       processRows: grid.rows, processColumns: grid.columns)
        self.grid = grid
        self.layout = layout
        localRows = layout.localRows(processRow: grid.myRow)
        localColumns = layout.localColumns(processColumn: grid.myColumn)
        leadingDimension = max(1, localRows)
        local = [Double](repeating: 0, count: leadingDimension * localColumns)
        descriptor = try Self.descriptor(grid: grid, rows: rows, columns: columns, blockSize: blockSize,
                                         leadingDimension: leadingDimension)
    }

    /// DESCINIT for a matrix with its first block on process (0, 0).
    static func descriptor(grid: ProcessGrid, rows: Int, columns: Int, blockSize: Int,
                           leadingDimension: Int) throws -> [Int32] {
        var desc = [Int32](repeating: 0, count: 9)
        var m = Int32(rows), n = Int32(columns), nb = Int32(blockSize), zero: Int32 = 0
        var context = grid.context, lld = Int32(leadingDimension), info: Int32 = 0
        descinit_(&desc, &m, &n, &nb, &nb, &zero, &zero, &context, &lld, &info)
        if info != 0 { throw ScaLAPACKError(routine: "DESCINIT", info: Int(info)) }
        return desc
    }

    public var rows: Int { layout.rows }
    public var columns: Int { layout.columns }
    public var blockSize: Int { layout.rowAxis.blockSize }

    /// Global row index of local row `r` on this rank.
    @inline(__always) public func globalRow(_ r: Int) -> Int { layout.rowAxis.globalIndex(local: r, process: grid.myRow) }
    /// Global column index of local column `c` on this rank.
    @inline(__always) public func globalColumn(_ c: Int) -> Int {
        layout.columnAxis.globalIndex(local: c, process: grid.myColumn)
    }

    /// Sets every local entry from a function of its global (row, column).
    public mutating func fill(_ entry: (Int, Int) -> Double) {
        for c in 0..<localColumns {
            let j = globalColumn(c)
            for r in 0..<localRows { local[c * leadingDimension + r] = entry(globalRow(r), j) }
        }
    }

    /// max |Aᵢⱼ| over the whole matrix (collective).
    public func maxAbs() throws -> Double {
        let mine = local.reduce(0) { max($0, abs($1)) }
        return try grid.communicator.allreduce(mine, .max)
    }
}

/// A ScaLAPACK/PBLAS routine returned INFO ≠ 0.
public struct ScaLAPACKError: Error, CustomStringConvertible {
    public let routine: String
    public let info: Int
    public var description: String {
        info < 0 ? "\(routine) rejected argument \(-info) (INFO = \(info)): a bug in Landscape's call, please report it"
                 : "\(routine) failed with INFO = \(info)"
    }
}

extension BlockCyclicMatrix {
    /// Σᵢ Aᵢᵢ over the whole matrix (collective).
    public func trace() throws -> Double {
        var sum = 0.0
        for c in 0..<localColumns {
            let j = globalColumn(c)
            if layout.rowAxis.owner(of: j) == grid.myRow { sum += local[c * leadingDimension + layout.rowAxis.localIndex(of: j)] }
        }
        return try grid.communicator.allreduce(sum, .sum)
    }
}

extension BlockCyclicMatrix {
    /// W = A V for a replicated V (columns × B, column-major) → replicated W (rows × B), collective.
    ///
    /// Each rank gathers the rows of V that its local columns touch, multiplies its local piece
    /// (one dgemm: localRows × localColumns times localColumns × B), scatters the product into the
    /// global rows it owns, and one allreduce of rows × B adds the pieces. Communication is that
    /// allreduce alone; memory is O(rows·B) beyond the matrix.
    public func multiply(replicated v: [Double], count B: Int) throws -> [Double] {
        try product(replicated: v, count: B, transposed: false)
    }

    /// W = Aᵀ V for a replicated V (rows × B) → replicated W (columns × B), collective: the same
    /// with the roles of rows and columns exchanged (the local dgemm transposes the local piece).
    /// An eigenvector matrix's Zᵀv, the coordinates in its basis.
    public func multiplyTransposed(replicated v: [Double], count B: Int) throws -> [Double] {
        try product(replicated: v, count: B, transposed: true)
    }

    private func product(replicated v: [Double], count B: Int, transposed: Bool) throws -> [Double] {
        // The local piece maps its columns to its rows (A), or its rows to its columns (Aᵀ).
        let (inner, outer) = transposed ? (localRows, localColumns) : (localColumns, localRows)
        let (inputLength, outputLength) = transposed ? (rows, columns) : (columns, rows)
        let input = transposed ? globalRow : globalColumn, output = transposed ? globalColumn : globalRow
        precondition(B >= 1 && v.count == inputLength * B, "V must have \(inputLength) × B values")
        var w = [Double](repeating: 0, count: outputLength * B)
        if localRows > 0 && localColumns > 0 {
            var gathered = [Double](repeating: 0, count: inner * B)   // inner × B, column-major
            for j in 0..<B { for c in 0..<inner { gathered[j * inner + c] = v[j * inputLength + input(c)] } }
            var product = [Double](repeating: 0, count: outer * B)
            cblas_dgemm(CblasColMajor, transposed ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(outer), Int32(B), Int32(inner), 1,
                        local, Int32(leadingDimension), gathered, Int32(inner), 0, &product, Int32(outer))
            for j in 0..<B { for r in 0..<outer { w[j * outputLength + output(r)] = product[j * outer + r] } }
        }
        try grid.communicator.allreduce(&w, .sum)
        return w
    }
}

extension BlockCyclicMatrix {
    /// A += U Vᵀ for replicated U (rows × K) and V (columns × K), column-major — a rank-K update
    /// with no communication: each rank gathers the rows of U its local rows are and the rows of V
    /// its local columns are, and adds their product to its piece with one dgemm (the local part
    /// of PDGER generalised to K columns).
    public mutating func addProduct(_ u: [Double], _ v: [Double], count K: Int) {
        precondition(K >= 0 && u.count == rows * K && v.count == columns * K, "U must be rows × K and V columns × K")
        guard K > 0, localRows > 0, localColumns > 0 else { return }
        var uLocal = [Double](repeating: 0, count: localRows * K), vLocal = [Double](repeating: 0, count: localColumns * K)
        for t in 0..<K {
            for r in 0..<localRows { uLocal[t * localRows + r] = u[t * rows + globalRow(r)] }
            for c in 0..<localColumns { vLocal[t * localColumns + c] = v[t * columns + globalColumn(c)] }
        }
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, Int32(localRows), Int32(localColumns), Int32(K), 1,
                    uLocal, Int32(localRows), vLocal, Int32(localColumns), 1, &local, Int32(leadingDimension))
    }

    /// ‖A‖_F (collective: local sums of squares, one allreduce).
    public func frobeniusNorm() throws -> Double {
        var sum = [0.0]
        for c in 0..<localColumns { for r in 0..<localRows { let x = local[c * leadingDimension + r]; sum[0] += x * x } }
        try grid.communicator.allreduce(&sum, .sum)
        return sum[0].squareRoot()
    }

    /// The first (column-major) global position (row, column) holding NaN or ±∞, or nil
    /// (collective: each rank scans its piece, one allreduce picks the first of all).
    public func firstNonFinite() throws -> (row: Int, column: Int)? {
        var first = Int.max
        for c in 0..<localColumns {
            let j = globalColumn(c)
            for r in 0..<localRows where !local[c * leadingDimension + r].isFinite {
                first = min(first, j * rows + globalRow(r))
                break
            }
        }
        let bad = try grid.communicator.allreduce(first, .min)
        return bad == Int.max ? nil : (bad % rows, bad / rows)
    }
}
