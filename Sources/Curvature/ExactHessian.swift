import Networks
import Samples

/// Which curvature matrix to assemble.
public enum CurvaturePart: String, Codable, Sendable, CaseIterable {
    /// H = ∇²L, exact: Gauss–Newton term plus the residual (σ″ and cross) terms.
    case hessian
    /// G = (1/N) Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ, the generalised Gauss–Newton matrix.
    case gaussNewton = "gauss-newton"
}

/// The exact Hessian (or Gauss–Newton matrix) of an MLP's loss as sample-GEMMs
/// (HESSIAN_MATH.md §4–§5).
///
/// For parameters W̄_l[p, q] (row) and W̄_m[r, s] (column), l ≤ m, every Hessian entry is
/// Σᵢ ā_{l−1,i}[q] · T_i[p, (r, s)] with
///   T[p, (r, s)] = Γ^{lm}[p, r] ā_{m−1}[s] + δ_m[r] B^{l,m−1}[p, s]   (the second term only for
///   l < m, s not the bias slot; B^{l,l} = D_l),
/// so the rows {(l, p, q) : q = 0…n_{l−1}} of one output unit p of layer l — a *row block* — are
/// one GEMM  C = Āᵀ T  with inner dimension N: Ā (N × (n_{l−1}+1)) the inputs of layer l with a
/// column of ones, T (N × ncols) the Γ-weighted factor over all columns from W_l[p, 0] onwards.
/// About N·M² flops for the upper triangle, independent of the number of outputs.
///
/// Without biases (`layout.biases == false`) there is no bias slot: Ā is the inputs alone
/// (n_{l−1} columns), a row block has n_{l−1} rows, and T has no b_m segments — the same GEMMs
/// on the weight rows and columns, which are all of θ.
///
/// Samples are processed in tiles so that T stays small (tile × ncols doubles).
public struct ExactHessian: Sendable {
    public let network: MultilayerPerceptron
    public var sampleTile = 256

    public init(network: MultilayerPerceptron) { self.network = network }

    /// One row block of Σᵢ ∇²ℓᵢ (sums, not means), or a window of its columns: global row indices
    /// and the rows × width row-major panel holding columns firstColumn ..< firstColumn + width.
    public struct RowBlock {
        /// The block's place in θ order (an index into `rowBlockGeometry`).
        public let index: Int
        public let rows: [Int]
        public let firstColumn: Int
        public let panel: UnsafeBufferPointer<Double>
        public var width: Int { rows.isEmpty ? 0 : panel.count / rows.count }
    }

    /// A window of one row block's panel: columns `columns` of it (0 = the block's first column),
    /// the unit of work the distributed assembly deals out.
    public struct Piece: Sendable, Equatable {
        public let block: Int
        public let columns: Range<Int>
        public init(block: Int, columns: Range<Int>) { (self.block, self.columns) = (block, columns) }
    }

    /// Row blocks in θ order; together with symmetry they cover every entry of the matrix.
    public var rowBlockCount: Int { network.layout.widths.dropFirst().reduce(0, +) }

    /// Where each row block sits, in θ order: its global rows (the weights W_l[p, ·], then the bias
    /// b_l[p]) and its panel's first column — what `forEachRowBlock` hands over, without the sums.
    public var rowBlockGeometry: [(rows: [Int], firstColumn: Int)] {
        let layout = network.layout, n = layout.widths
        var blocks: [(rows: [Int], firstColumn: Int)] = []
        for l in 1...layout.layerCount {
            for p in 0..<n[l] {
                let c0 = layout.weightOffset(l) + p * n[l - 1]
                var rows = (0..<n[l - 1]).map { c0 + $0 }
                if let bias = layout.biasOffset(l) { rows.append(bias + p) }
                blocks.append((rows, c0))
            }
        }
        return blocks
    }

    /// Bytes of working memory for a batch of `samples`: the per-sample factors (a, σ′, δ, e, Γ^{lm}
    /// for l ≤ m, B^{l,k}) plus the T tile and the C panel.
    public func workingBytes(samples: Int) -> Int {
        let n = Array(network.layout.widths.dropFirst()), L = n.count
        var perSample = 4 * n.reduce(0, +) + network.layout.widths[0]
        for l in 0..<L { for m in l..<L { perSample += n[l] * n[m] } }
        if L > 2 { for l in 0..<(L - 2) { for k in (l + 1)..<(L - 1) { perSample += n[l] * n[k] } } }
        let M = network.layout.count, widest = network.layout.widths.max()! + 1
        return 8 * (samples * perSample + min(sampleTile, max(samples, 1)) * (M + widest) + widest * M)
    }

    /// The rows of a row block of layer l: the n_{l−1} inputs, and the bias slot if there is one.
    private func inputSlots(_ l: Int) -> Int { network.layout.widths[l - 1] + (network.layout.biases ? 1 : 0) }

    /// Flops of the GEMMs for one pass over `samples` samples (the assembly's physical cost).
    public func gemmFlops(samples: Int) -> Double {
        let layout = network.layout
        var flops = 0.0
        for l in 1...layout.layerCount {
            for p in 0..<layout.widths[l] {
                let c0 = layout.weightOffset(l) + p * layout.widths[l - 1]
                flops += 2 * Double(samples) * Double(inputSlots(l)) * Double(layout.count - c0)
            }
        }
        return flops
    }

    /// Calls `body` once per row block (l, p), in θ order, with the block's sums over `batch`.
    /// Every rank of a data-parallel job calls this with its own shard and the same parameters,
    /// so the calls line up one-to-one across ranks (each can be followed by a reduction).
    public func forEachRowBlock(_ θ: [Double], batch: SampleBatch, part: CurvaturePart,
                                _ body: (RowBlock) throws -> Void) rethrows {
        let pieces = rowBlockGeometry.enumerated().map { Piece(block: $0.offset, columns: 0 ..< network.layout.count - $0.element.firstColumn) }
        try forEachPiece(θ, batch: batch, part: part, pieces: pieces, body)
    }

    /// Calls `body` once per piece, in the order given (which must be by block), with the sums
    /// over `batch` of that window of its row block: the T fill and the GEMM cover the window
    /// only, so a block cut into k pieces costs what it costs whole.
    public func forEachPiece(_ θ: [Double], batch: SampleBatch, part: CurvaturePart, pieces: [Piece],
                             _ body: (RowBlock) throws -> Void) rethrows {
        let layout = network.layout
        precondition(θ.count == layout.count)
        precondition(zip(pieces, pieces.dropFirst()).allSatisfy { $0.block <= $1.block }, "pieces in block order")
        let n = layout.widths, L = layout.layerCount, M = layout.count, N = batch.count
        guard !pieces.isEmpty else { return }
        let s = SampleCurvature(network: network, parameters: θ, batch: batch, gaussNewtonOnly: part == .gaussNewton)
        let tile = max(1, min(sampleTile, N))
        let widest = pieces.map(\.columns.count).max()!
        var T = [Double](repeating: 0, count: tile * widest)
        var abar = [Double](repeating: 0, count: tile * (n.max()! + 1))
        var C = [Double](repeating: 0, count: (n.max()! + 1) * widest)
        // Each block's rows and first column (its place in θ), as `rowBlockGeometry` gives them.
        let geometry = rowBlockGeometry
        var next = 0, index = -1
        for l in 1...L {
            let inputs = inputSlots(l), bias = layout.biasOffset(l)
            for p in 0..<n[l] {
                index += 1
                let (rows, c0) = geometry[index]
                while next < pieces.count, pieces[next].block == index {
                    let window = pieces[next].columns
                    next += 1
                    precondition(window.upperBound <= M - c0)
                    let ncols = window.count
                    var start = 0
                    while start < N {
                        let rowsInTile = min(tile, N - start)
                        s.a[l - 1].withUnsafeBufferPointer { inputsOfLayer in
                            abar.withUnsafeMutableBufferPointer { abar in
                                T.withUnsafeMutableBufferPointer { T in
                                    for t in 0..<rowsInTile {
                                        let i = start + t
                                        // Ā row: [a_{l−1,i}, 1] (a_{l−1,i} alone without biases).
                                        let row = abar.baseAddress! + t * inputs
                                        row.update(from: inputsOfLayer.baseAddress! + i * n[l - 1], count: n[l - 1])
                                        if bias != nil { row[n[l - 1]] = 1 }
                                        fillTRow(T.baseAddress! + t * ncols, sample: i, l: l, p: p, s: s, part: part, window: window)
                                    }
                                }
                            }
                        }
                        // C (+)= Āᵀ T  ((n_{l−1}+1) × ncols, inner dimension = samples in the tile): the
                        // first tile overwrites C, so it needs no zeroing.
                        abar.withUnsafeBufferPointer { a in
                            T.withUnsafeBufferPointer { t in
                                C.withUnsafeMutableBufferPointer { c in
                                    gemm(transposeA: true, m: inputs, n: ncols, k: rowsInTile, a.baseAddress!, lda: inputs,
                                         t.baseAddress!, ldb: ncols, beta: start == 0 ? 0 : 1, c.baseAddress!, ldc: ncols)
                                }
                            }
                        }
                        start += rowsInTile
                    }
                    try C.withUnsafeBufferPointer { c in
                        try body(RowBlock(index: index, rows: rows, firstColumn: c0 + window.lowerBound,
                                          panel: UnsafeBufferPointer(rebasing: c[0..<(inputs * ncols)])))
                    }
                }
            }
        }
    }

    /// Columns `window` of row t of T for sample i and row block (l, p), written from `row[0]`:
    /// the full row is the segments W_l[r ≥ p, :], b_l, then W_m, b_m for every later layer m, in
    /// θ order (no b segments without biases); only their parts inside the window are computed,
    /// so a window costs its width plus one test per segment. Written through raw pointers: the
    /// per-segment loops are scaled copies the compiler vectorises (bounds-checked array
    /// subscripts made the fill half as slow as the GEMM it feeds).
    private func fillTRow(_ row: UnsafeMutablePointer<Double>, sample i: Int, l: Int, p: Int,
                          s: SampleCurvature, part: CurvaturePart, window: Range<Int>) {
        let n = s.widths, L = n.count - 1, biases = network.layout.biases
        let (lo, hi) = (window.lowerBound, window.upperBound)
        var j = 0   // the full row's column where the next segment starts
        // The segment [j, j + count) of the full row, cut to the window: (where it starts in
        // `row`, its first element's offset in the segment, length); nil when outside.
        @inline(__always) func cut(_ count: Int) -> (target: UnsafeMutablePointer<Double>, skip: Int, length: Int)? {
            let start = max(j, lo), end = min(j + count, hi)
            return start < end ? (row + (start - lo), start - j, end - start) : nil
        }
        // y = γ·x over the segment's part in the window.
        @inline(__always) func scaled(_ γ: Double, _ x: UnsafePointer<Double>, _ count: Int) {
            if let (y, skip, length) = cut(count) { for q in 0..<length { y[q] = γ * x[skip + q] } }
        }
        @inline(__always) func copied(_ x: UnsafePointer<Double>, _ count: Int) {
            if let (y, skip, length) = cut(count) { y.update(from: x + skip, count: length) }
        }
        // m = l: Γ^{ll}[p, r] a_{l−1}[s] for r ≥ p, then Γ^{ll}[p, r] for the biases.
        s.gamma[l][l].withUnsafeBufferPointer { g in
            s.a[l - 1].withUnsafeBufferPointer { a in
                let gamma = g.baseAddress! + i * n[l] * n[l] + p * n[l], input = a.baseAddress! + i * n[l - 1]
                for r in p..<n[l] {
                    scaled(gamma[r], input, n[l - 1])
                    j += n[l - 1]
                }
                if biases {
                    copied(gamma, n[l])
                    j += n[l]
                }
            }
        }
        guard l < L else { return }
        let cross = part == .hessian
        for m in (l + 1)...L where j < hi {
            s.gamma[l][m].withUnsafeBufferPointer { g in
                s.a[m - 1].withUnsafeBufferPointer { a in
                    s.delta[m].withUnsafeBufferPointer { delta in
                        s.b[l][m - 1].withUnsafeBufferPointer { B in
                            let gamma = g.baseAddress! + i * n[l] * n[m] + p * n[m], input = a.baseAddress! + i * n[m - 1]
                            let slope = s.slope[l][i * n[l] + p]
                            for r in 0..<n[m] {
                                if let (y, skip, length) = cut(n[m - 1]) {
                                    let γ = gamma[r]
                                    for q in 0..<length { y[q] = γ * input[skip + q] }
                                    if cross {
                                        // + δ_m[r] (∂a_{m−1}/∂z_l)[s, p]: diagonal D_l when m − 1 = l.
                                        let d = delta[i * n[m] + r]
                                        if m - 1 == l {
                                            if (skip ..< skip + length).contains(p) { y[p - skip] += d * slope }
                                        } else {
                                            let b = B.baseAddress! + i * n[l] * n[m - 1] + p * n[m - 1] + skip
                                            for q in 0..<length { y[q] += d * b[q] }
                                        }
                                    }
                                }
                                j += n[m - 1]
                            }
                            if biases {
                                copied(gamma, n[m])
                                j += n[m]
                            }
                        }
                    }
                }
            }
        }
    }

    /// The dense M × M matrix (1/N) Σᵢ ∇²ℓᵢ (or G) of one batch, row-major: for tests and small
    /// models. Distributed jobs assemble into a `BlockCyclicMatrix` instead.
    public func dense(_ θ: [Double], batch: SampleBatch, part: CurvaturePart = .hessian) -> [Double] {
        let M = network.layout.count
        var H = [Double](repeating: 0, count: M * M)
        let scale = 1 / Double(batch.count)
        forEachRowBlock(θ, batch: batch, part: part) { block in
            let width = M - block.firstColumn
            for (k, row) in block.rows.enumerated() {
                for j in 0..<width {
                    let v = block.panel[k * width + j] * scale, column = block.firstColumn + j
                    H[row * M + column] = v
                    H[column * M + row] = v
                }
            }
        }
        return H
    }
}
