import CScaLAPACK

// Dense kernels over blocks of long vectors (column-major, column j at `j·n ..< (j+1)·n`, the
// layout `SymmetricOperator.apply` takes), all through OpenBLAS: the M-sized work of every Krylov
// method here is a GEMM against the basis, never a loop over vector entries in Swift.
//
// Every rank runs these on the same replicated vectors and gets the same bits (the operator's
// result is the same on every rank), so no communication happens here.

/// An orthonormal basis of long vectors V = [v₀ … v_{c−1}] ∈ R^{n × c}, in storage reserved for
/// `capacity` columns up front (the memory plan counted it; no reallocation while iterating).
struct Basis {
    let length: Int
    let capacity: Int
    private(set) var count = 0
    var storage: [Double]

    init(length: Int, capacity: Int) {
        self.length = length
        self.capacity = capacity
        storage = [Double](repeating: 0, count: length * capacity)
    }

    /// A basis restored from a checkpoint's storage.
    init(restoring storage: [Double], count: Int, length: Int, capacity: Int) {
        precondition(storage.count == length * capacity && count <= capacity)
        self.length = length
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
    /// second n × k copy.
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

    /// Y = V S for S ∈ R^{count × k} (column-major, leading dimension `ld`): Ritz vectors.
    func combine(_ s: [Double], ld: Int, columns k: Int) -> [Double] {
        var y = [Double](repeating: 0, count: length * k)
        guard count > 0, k > 0 else { return y }
        storage.withUnsafeBufferPointer { v in
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, Int32(length), Int32(k), Int32(count),
                        1, v.baseAddress!, Int32(length), s, Int32(ld), 0, &y, Int32(length))
        }
        return y
    }

    /// Removes from the `k` columns of W their components along the basis, twice (classical
    /// Gram–Schmidt with one re-orthogonalisation: "twice is enough", Giraud et al. 2005), and
    /// returns the coefficients C = Vᵀ W (count × k, column-major) summed over both passes — for
    /// W = A V_new they are the new columns of the projected matrix Vᵀ A V.
    func orthogonalize(_ w: inout [Double], count k: Int) -> [Double] {
        var total = [Double](repeating: 0, count: count * k)
        guard count > 0 else { return total }
        var pass = [Double](repeating: 0, count: count * k)
        let (n, c) = (Int32(length), Int32(count))
        storage.withUnsafeBufferPointer { v in
            for _ in 0..<2 {
                cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, c, Int32(k), n, 1, v.baseAddress!, n, w, n, 0, &pass, c)
                cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, Int32(k), c, -1, v.baseAddress!, n, pass, c, 1, &w, n)
                for i in total.indices { total[i] += pass[i] }
            }
        }
        return total
    }
}

/// ‖x‖₂ of column j of a block.
func columnNorm(_ block: [Double], length n: Int, column j: Int) -> Double {
    block.withUnsafeBufferPointer { cblas_dnrm2(Int32(n), $0.baseAddress! + j * n, 1) }
}

/// xᵀy of column j of two blocks.
func columnDot(_ x: [Double], _ y: [Double], length n: Int, column j: Int) -> Double {
    x.withUnsafeBufferPointer { x in
        y.withUnsafeBufferPointer { y in cblas_ddot(Int32(n), x.baseAddress! + j * n, 1, y.baseAddress! + j * n, 1) }
    }
}

/// Orthonormalises the `k` columns of W against `basis` (already done by the caller if `basis`
/// is nil) and among themselves, column by column with Gram–Schmidt twice: W = Q R. A column
/// whose norm after orthogonalisation falls below `breakdown` × its norm before, or × `scale`
/// (‖A‖, for a W that was already orthogonalised and is mere rounding: the Krylov space became
/// invariant, or the block is rank deficient), is replaced by `replacement(j)` — a fresh
/// random vector, orthogonalised the same way — with a zero row of R, so the basis keeps its
/// size; with no replacement it is dropped. Returns Q's columns, R (k × k, column-major) and
/// which input columns survived.
func orthonormalize(_ w: [Double], length n: Int, count k: Int, against basis: Basis?, breakdown: Double = 1e-10,
                    scale: Double = 0, replacement: ((Int) -> [Double])? = nil) -> (q: [Double], r: [Double], kept: [Int]) {
    var q: [Double] = []
    q.reserveCapacity(n * k)
    var r = [Double](repeating: 0, count: k * k)
    var kept: [Int] = []
    for j in 0..<k {
        var column = Array(w[j * n ..< (j + 1) * n])
        var coefficients = [Double](repeating: 0, count: kept.count)
        func sweep(_ x: inout [Double], into coefficients: inout [Double]) {
            for _ in 0..<2 {
                for (t, _) in kept.enumerated() {
                    let c = q.withUnsafeBufferPointer { q in cblas_ddot(Int32(n), q.baseAddress! + t * n, 1, x, 1) }
                    q.withUnsafeBufferPointer { q in cblas_daxpy(Int32(n), -c, q.baseAddress! + t * n, 1, &x, 1) }
                    coefficients[t] += c
                }
            }
        }
        let before = columnNorm(column, length: n, column: 0)
        sweep(&column, into: &coefficients)
        // Against the basis once more: the division below would magnify what is left of it by
        // before/norm when the column is nearly dependent on the block's earlier ones.
        var norm = columnNorm(column, length: n, column: 0)
        var diagonal = norm
        if !(norm > breakdown * max(before, scale)) || before == 0 {
            guard let replacement else { continue }
            column = replacement(j)
            let fresh = columnNorm(column, length: n, column: 0)
            if let basis { _ = basis.orthogonalize(&column, count: 1) }
            var ignored = [Double](repeating: 0, count: kept.count)
            sweep(&column, into: &ignored)
            norm = columnNorm(column, length: n, column: 0)
            // No room left for a new direction (the basis and block span the space): drop it.
            guard norm > breakdown * fresh else { continue }
            diagonal = 0
        }
        // R's column j: the coefficients against the kept columns, then the norm.
        for (t, _) in kept.enumerated() { r[j * k + t] = coefficients[t] }
        r[j * k + kept.count] = diagonal
        let scale = 1 / norm
        q.append(contentsOf: column.map { $0 * scale })
        kept.append(j)
    }
    return (q, r, kept)
}

/// An orthonormal basis (n × r, column-major) of the span of `count` replicated vectors, and r:
/// `orthonormalize` with no basis to keep them from and no replacements, so a vector within 1e-10
/// of the span of those before it is dropped — for spans outside Krylov (eigenvector anatomy's
/// class means).
package func orthonormalSpan(_ vectors: [Double], length n: Int, count: Int) -> (basis: [Double], count: Int) {
    let span = orthonormalize(vectors, length: n, count: count, against: nil)
    return (span.q, span.kept.count)
}
