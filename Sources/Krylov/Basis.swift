import CScaLAPACK
import Cluster
import Objectives
import Support

// Dense kernels over blocks of long vectors (column-major, column j at `j·n ..< (j+1)·n`), all
// through OpenBLAS: the M-sized work of every Krylov method here is a GEMM against the basis,
// never a loop over vector entries in Swift.
//
// The vectors are this rank's rows (`VectorRows`): all n of them when replicated — every rank then
// runs the same kernels on the same vectors and gets the same bits, with no communication — or
// n/P of them when sharded, where every inner product is a local GEMM followed by one allreduce
// of its small result (k × B coefficients, never a vector).

/// The rows of long vectors this rank holds and how partial inner products over them are summed.
struct VectorRows {
    let partition: RowPartition
    /// Partial sums over these rows made whole (`.whole`: replicated vectors, nothing to add).
    let sums: ShardSums

    /// The rows of an operator's vectors.
    init(_ a: RowShardedOperator) {
        partition = a.partition
        sums = a.partition.sums(on: a.communicator)
    }

    /// Every row on this rank.
    init(replicated n: Int) {
        partition = RowPartition(length: n, parts: 1, part: 0)
        sums = .whole
    }

    /// Rows held here: the length of every local column.
    var count: Int { partition.count }

    func sum(_ partial: inout [Double]) throws {
        partial = try sums(partial)
    }

    /// ‖x‖₂ of column j of a block (replicated: `dnrm2`'s scaled sum, bit for bit as before).
    func norm(_ block: [Double], column j: Int) throws -> Double {
        try norms(block, columns: j ..< j + 1)[0]
    }

    /// xᵀy of column j of two blocks.
    func dot(_ x: [Double], _ y: [Double], column j: Int) throws -> Double {
        try dots(x, y, columns: j ..< j + 1)[0]
    }

    /// ‖xⱼ‖₂ of several columns of a block, in one reduction of their partial squares when sharded.
    func norms(_ block: [Double], columns: Range<Int>) throws -> [Double] {
        let n = count
        guard !sums.isWhole else { return columns.map { j in block.withUnsafeBufferPointer { cblas_dnrm2(Int32(n), $0.baseAddress! + j * n, 1) } } }
        return try dots(block, block, columns: columns).map { $0.squareRoot() }
    }

    /// xⱼᵀyⱼ of several columns of two blocks, in one reduction of their partial sums.
    func dots(_ x: [Double], _ y: [Double], columns: Range<Int>) throws -> [Double] {
        let n = count
        return try sums(columns.map { j in
            x.withUnsafeBufferPointer { x in
                y.withUnsafeBufferPointer { y in cblas_ddot(Int32(n), x.baseAddress! + j * n, 1, y.baseAddress! + j * n, 1) }
            }
        })
    }

    /// Throws unless every entry of an operator's result is finite on every rank: with sharded
    /// rows a bad entry is seen by one rank only, so the verdict is agreed before anyone throws.
    func requireFinite(_ values: [Double], _ what: @autoclosure () -> String) throws {
        let bad = values.firstIndex { !$0.isFinite }
        guard !sums.isWhole else { return try Krylov.requireFinite(values, what()) }
        // How many ranks saw one: a sum of 0/1 flags is positive exactly when any flag is.
        guard try sums([bad == nil ? 0 : 1])[0] > 0 else { return }
        let entry = bad.map { "\(values[$0]) at entry \(partition.rows.lowerBound + $0 % count) of direction \($0 / max(count, 1))" } ?? "a non-finite value on another rank"
        throw InputError("\(what()) returned \(entry): the curvature is not finite at this point; check the parameters (an overflow?) and the data")
    }
}

/// An orthonormal basis of long vectors V = [v₀ … v_{c−1}] ∈ R^{n × c}, this rank's rows of it, in
/// storage reserved for `capacity` columns up front (the memory plan counted it; no reallocation
/// while iterating).
struct Basis {
    let rows: VectorRows
    let capacity: Int
    private(set) var count = 0
    var storage: [Double]

    /// Rows held here: the stride between columns.
    var length: Int { rows.count }

    init(rows: VectorRows, capacity: Int) {
        self.rows = rows
        self.capacity = capacity
        storage = [Double](repeating: 0, count: rows.count * capacity)
    }

    /// A basis restored from a checkpoint's storage (this rank's rows).
    init(restoring storage: [Double], count: Int, rows: VectorRows, capacity: Int) {
        precondition(storage.count == rows.count * capacity && count <= capacity)
        self.rows = rows
        self.capacity = capacity
        self.storage = storage
        self.count = count
    }

    /// Appends orthonormal columns (the caller orthogonalised them against this basis).
    mutating func append(_ columns: [Double], count added: Int) {
        precondition(count + added <= capacity && columns.count == added * length)
        storage.replaceSubrange(count * length ..< (count + added) * length, with: columns)
        count += added
    }

    /// Columns `range` as one block.
    func columns(_ range: Range<Int>) -> [Double] { Array(storage[range.lowerBound * length ..< range.upperBound * length]) }

    /// Forgets every column from `newCount` on.
    mutating func truncate(to newCount: Int) {
        precondition(newCount <= count)
        count = newCount
    }

    /// V ← V S for S ∈ R^{count × k} (column-major, leading dimension `ld`): the thick restart's
    /// change to Ritz vectors, in place. Each row of the new V depends only on the same row of
    /// the old one, so it is done in chunks of rows through a small scratch block instead of a
    /// second n × k copy — and needs no communication when the rows are sharded.
    mutating func rotate(by s: [Double], ld: Int, keeping k: Int) {
        precondition(k <= count && ld >= count)
        let chunk = 4096
        var scratch = [Double](repeating: 0, count: chunk * k)
        let (n, c) = (length, count)
        storage.withUnsafeMutableBufferPointer { v in
            scratch.withUnsafeMutableBufferPointer { w in
                s.withUnsafeBufferPointer { s in
                    var row = 0
                    while row < n {
                        let rows = min(chunk, n - row)
                        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(k), Int32(c),
                                    1, v.baseAddress! + row, Int32(n), s.baseAddress!, Int32(ld), 0, w.baseAddress!, Int32(rows))
                        for j in 0..<k {
                            (v.baseAddress! + j * n + row).update(from: w.baseAddress! + j * rows, count: rows)
                        }
                        row += rows
                    }
                }
            }
        }
        count = k
    }

    /// Y = V S for S ∈ R^{count × k} (column-major, leading dimension `ld`): Ritz vectors (this
    /// rank's rows of them, with no communication).
    func combine(_ s: [Double], ld: Int, columns k: Int) -> [Double] {
        var y = [Double](repeating: 0, count: length * k)
        guard count > 0, k > 0, length > 0 else { return y }
        storage.withUnsafeBufferPointer { v in
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, Int32(length), Int32(k), Int32(count),
                        1, v.baseAddress!, Int32(length), s, Int32(ld), 0, &y, Int32(length))
        }
        return y
    }

    /// Removes from the `k` columns of W their components along the basis, twice (classical
    /// Gram–Schmidt with one re-orthogonalisation: "twice is enough", Giraud et al. 2005), and
    /// returns the coefficients C = Vᵀ W (count × k, column-major) summed over both passes — for
    /// W = A V_new they are the new columns of the projected matrix Vᵀ A V. Sharded: each pass is
    /// a GEMM on this rank's rows, one allreduce of the count × k partial C, and a GEMM back.
    func orthogonalize(_ w: inout [Double], count k: Int) throws -> [Double] {
        var total = [Double](repeating: 0, count: count * k)
        guard count > 0 else { return total }
        var pass = [Double](repeating: 0, count: count * k)
        let (n, c) = (Int32(length), Int32(count))
        for _ in 0..<2 {
            storage.withUnsafeBufferPointer { v in
                if n > 0 {
                    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, c, Int32(k), n, 1, v.baseAddress!, n, w, n, 0, &pass, c)
                } else {
                    for i in pass.indices { pass[i] = 0 }
                }
            }
            try rows.sum(&pass)
            storage.withUnsafeBufferPointer { v in
                if n > 0 { cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, Int32(k), c, -1, v.baseAddress!, n, pass, c, 1, &w, n) }
            }
            for i in total.indices { total[i] += pass[i] }
        }
        return total
    }
}

/// Orthonormalises the `k` columns of W (this rank's rows) against `basis` (already done by the
/// caller if `basis` is nil) and among themselves, column by column with Gram–Schmidt twice:
/// W = Q R. A column whose norm after orthogonalisation falls below `breakdown` × its norm before,
/// or × `scale` (‖A‖, for a W that was already orthogonalised and is mere rounding: the Krylov
/// space became invariant, or the block is rank deficient), is replaced by `replacement(j)` — a
/// fresh random vector (all n rows; this rank's are taken), orthogonalised the same way — with a
/// zero row of R, so the basis keeps its size; with no replacement it is dropped. Returns Q's
/// columns, R (k × k, column-major) and which input columns survived. Every decision rests on
/// summed (agreed) norms, so all ranks keep the same columns.
func orthonormalize(_ w: [Double], rows: VectorRows, count k: Int, against basis: Basis?, breakdown: Double = 1e-10,
                    scale: Double = 0, replacement: ((Int) -> [Double])? = nil) throws -> (q: [Double], r: [Double], kept: [Int]) {
    let n = rows.count
    var q = Basis(rows: rows, capacity: k)
    var r = [Double](repeating: 0, count: k * k)
    var kept: [Int] = []
    for j in 0..<k {
        var column = Array(w[j * n ..< (j + 1) * n])
        let before = try rows.norm(column, column: 0)
        let coefficients = try q.orthogonalize(&column, count: 1)
        // Against the basis once more: the division below would magnify what is left of it by
        // before/norm when the column is nearly dependent on the block's earlier ones.
        var norm = try rows.norm(column, column: 0)
        var diagonal = norm
        if !(norm > breakdown * max(before, scale)) || before == 0 {
            guard let replacement else { continue }
            column = rows.partition.slice(replacement(j), columns: 1)
            let fresh = try rows.norm(column, column: 0)
            if let basis { _ = try basis.orthogonalize(&column, count: 1) }
            _ = try q.orthogonalize(&column, count: 1)
            norm = try rows.norm(column, column: 0)
            // No room left for a new direction (the basis and block span the space): drop it.
            guard norm > breakdown * fresh else { continue }
            // The column itself lies in the earlier ones' span: R keeps its coefficients there.
            diagonal = 0
        }
        // R's column j: the coefficients against the kept columns, then the norm.
        for t in kept.indices { r[j * k + t] = coefficients[t] }
        r[j * k + kept.count] = diagonal
        let scale = 1 / norm
        q.append(column.map { $0 * scale }, count: 1)
        kept.append(j)
    }
    return (q.columns(0..<q.count), r, kept)
}

/// An orthonormal basis (n × r, column-major) of the span of `count` replicated vectors, and r:
/// `orthonormalize` with no basis to keep them from and no replacements, so a vector within 1e-10
/// of the span of those before it is dropped — for spans outside Krylov (eigenvector anatomy's
/// class means).
package func orthonormalSpan(_ vectors: [Double], length n: Int, count: Int) -> (basis: [Double], count: Int) {
    // Replicated rows sum nothing across ranks, so nothing here can throw.
    let span = try! orthonormalize(vectors, rows: VectorRows(replicated: n), count: count, against: nil)
    return (span.q, span.kept.count)
}
