import CScaLAPACK

extension BlockCyclicMatrix {
    /// The diagonal block A[range, range] as a matrix of its own on the same grid and block size
    /// (collective). PDGEMR2D redistributes the sub-matrix piece by piece between the ranks that
    /// hold it and the ranks that will: no rank ever holds more than its share of either.
    public func diagonalBlock(_ range: Range<Int>) throws -> BlockCyclicMatrix {
        precondition(rows == columns && range.lowerBound >= 0 && range.upperBound <= rows && !range.isEmpty)
        let n = range.count
        var block = try BlockCyclicMatrix(grid: grid, rows: n, columns: n, blockSize: min(blockSize, n))
        var (count, start, one, context) = (Int32(n), Int32(range.lowerBound + 1), Int32(1), grid.context)
        local.withUnsafeBufferPointer { a in
            block.local.withUnsafeMutableBufferPointer { b in
                pdgemr2d_(&count, &count, a.baseAddress, &start, &start, descriptor,
                          b.baseAddress, &one, &one, block.descriptor, &context)
            }
        }
        return block
    }

    /// ‖A − blockdiag(A)‖_F: the entries whose row and column fall in different `blocks` (or
    /// outside every block), summed on each rank's piece and added with one allreduce — exact,
    /// where ‖A‖² − Σ‖A_bb‖² would cancel (collective).
    public func offBlockDiagonalNorm(_ blocks: [Range<Int>]) throws -> Double {
        var owner = [Int](repeating: -1, count: rows)
        for (b, range) in blocks.enumerated() { for i in range { owner[i] = b } }
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
