import CBLAS

/// C ← α·op(A)·op(B) + β·C on row-major matrices (op(A) is m × k, op(B) is k × n), through
/// OpenBLAS `cblas_dgemm`. All batched work in this module goes through here. Its 32-bit casts
/// cannot trap: every dimension is a layer width or a sample tile, both ≤ M ≤ `maximumParameterCount`.
@inline(__always)
package func gemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
          alpha: Double = 1, _ a: UnsafePointer<Double>, lda: Int, _ b: UnsafePointer<Double>, ldb: Int,
          beta: Double, _ c: UnsafeMutablePointer<Double>, ldc: Int) {
    guard m > 0 && n > 0 else { return }
    if k == 0 {
        if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } } }
        return
    }
    cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// A zero-filled scratch matrix owned by one call (row-major), with its pointer at hand.
final class Buffer {
    let pointer: UnsafeMutablePointer<Double>
    let count: Int
    /// Zeroed storage; `zeroed: false` leaves it to the caller to write every entry before reading
    /// (the forward pass's z_l and a_l, which are overwritten whole: a memset less per layer and pass).
    init(_ count: Int, zeroed: Bool = true) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: max(count, 1)) }
    }
    deinit { pointer.deallocate() }
    func zero() { pointer.update(repeating: 0, count: count) }
}

/// Direction j's rows of a block of cotangents n × B × k (row (i, j), as `transposedJacobianProduct`
/// takes them): rows `first ..< first + n` into `seed` (n × k), the seed of one backward pass.
func gatherDirection(_ u: UnsafePointer<Double>, firstRow first: Int, rows n: Int, direction j: Int, directions B: Int,
                     outputs k: Int, into seed: UnsafeMutablePointer<Double>) {
    for i in 0..<n { (seed + i * k).update(from: u + ((first + i) * B + j) * k, count: k) }
}
