import CScaLAPACK

extension BlockCyclicMatrix {
    /// The diagonal block A[range, range] as a matrix of its own on the same grid and block size
    /// (collective). PDGEMR2D redistributes the sub-matrix piece by piece between the ranks that
    /// hold it and the ranks that will: no rank ever holds more than its share of either.
    public func diagonalBlock(_ range: Range<Int>) throws -> BlockCyclicMatrix {
        try diagonalBlock([range])
    }

    /// The principal sub-matrix A[I, I] for the index set I = ranges₁ ∪ ranges₂ ∪ … (disjoint, in
    /// the order given), as a matrix of its own: one PDGEMR2D per pair of ranges (a, b) moves
    /// A[range_a, range_b] to its place in the block (collective) — a group of parameter blocks
    /// that are not adjacent in θ (all weight matrices, say) is one diagonal block all the same.
    public func diagonalBlock(_ ranges: [Range<Int>]) throws -> BlockCyclicMatrix {
        precondition(rows == columns && !ranges.isEmpty && ranges.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= rows && !$0.isEmpty })
        let n = ranges.reduce(0) { $0 + $1.count }
        var block = try BlockCyclicMatrix(grid: grid, rows: n, columns: n, blockSize: min(blockSize, n))
        var offsets: [Int] = [], offset = 0
        for range in ranges { offsets.append(offset); offset += range.count }
        var context = grid.context
        for (a, rowRange) in ranges.enumerated() {
            for (b, columnRange) in ranges.enumerated() {
                var (m, k) = (Int32(rowRange.count), Int32(columnRange.count))
                var (ia, ja) = (Int32(rowRange.lowerBound + 1), Int32(columnRange.lowerBound + 1))
                var (ib, jb) = (Int32(offsets[a] + 1), Int32(offsets[b] + 1))
                local.withUnsafeBufferPointer { source in
                    block.local.withUnsafeMutableBufferPointer { target in
                        pdgemr2d_(&m, &k, source.baseAddress, &ia, &ja, descriptor, target.baseAddress, &ib, &jb, block.descriptor, &context)
                    }
                }
            }
        }
        return block
    }

    /// ‖A − blockdiag(A)‖_F: the entries whose row and column fall in different `blocks` (or
    /// outside every block), summed on each rank's piece and added with one allreduce — exact,
    /// where ‖A‖² − Σ‖A_bb‖² would cancel (collective).
    public func offBlockDiagonalNorm(_ blocks: [Range<Int>]) throws -> Double {
        try offBlockDiagonalNorm(blocks.map { [$0] })
    }

    /// The same for blocks that are unions of ranges (`diagonalBlock(_ ranges:)`).
    public func offBlockDiagonalNorm(_ blocks: [[Range<Int>]]) throws -> Double {
        var owner = [Int](repeating: -1, count: rows)
        for (b, ranges) in blocks.enumerated() { for range in ranges { for i in range { owner[i] = b } } }
        var sum = [0.0]
        for c in 0..<localColumns {
            let j = owner[globalColumn(c)]
            for r in 0..<localRows where j < 0 || owner[globalRow(r)] != j {
                let x = local[c * leadingDimension + r]
                sum[0] += x * x
            }
        }
        try grid.communicator.allreduce(&sum, .sum)
        return sum[0].squareRoot()
    }
}
