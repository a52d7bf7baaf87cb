import CScaLAPACK
import Cluster

/// How far a distributed matrix is from symmetric, measured before `symmetrize` replaced it.
public struct SymmetryReport: Codable, Sendable {
    /// max |Aᵢⱼ − Aⱼᵢ|.
    public var defect: Double
    /// max |Aᵢⱼ|.
    public var maxAbs: Double
    /// defect / maxAbs (0 for the zero matrix).
    public var relativeDefect: Double { maxAbs > 0 ? defect / maxAbs : 0 }
}

extension BlockCyclicMatrix {
    /// Replaces A by its symmetric part (A + Aᵀ)/2 and reports the defect max|A − Aᵀ| it removed.
    ///
    /// Aᵀ is formed one panel of columns at a time with PDTRAN, so the extra memory is
    /// O(M · panel) rather than a second M × M matrix. Panels start at multiples of
    /// `blockSize × processColumns`, which makes a panel matrix with the same block size align
    /// column-for-column with A's local storage (same owning process column, consecutive local
    /// columns), so the comparison is purely local.
    ///
    /// Two sweeps keep the update in place correct: the first writes the average into the strict
    /// lower triangle only, reading Aⱼᵢ from the upper triangle, which it never touches; the
    /// second copies the (now final) lower triangle into the upper one.
    public mutating func symmetrize(panelWidth requested: Int = 512) throws -> SymmetryReport {
        precondition(rows == columns, "symmetrize needs a square matrix")
        let n = rows
        let stride = blockSize * grid.columns
        let width = max(stride, (requested / stride) * stride)
        var defect = 0.0, maxAbs = 0.0
        for pass in 0..<2 {
            var start = 0
            while start < n {
                let panelColumns = min(width, n - start)
                var panel = try BlockCyclicMatrix(grid: grid, rows: n, columns: panelColumns, blockSize: blockSize)
                try transposeRows(start, count: panelColumns, into: &panel)
                // Local column offset of global column `start` in A (start is a multiple of `stride`).
                let columnOffset = (start / stride) * blockSize
                for c in 0..<panel.localColumns {
                    let j = start + panel.globalColumn(c)
                    let aBase = (columnOffset + c) * leadingDimension
                    let pBase = c * panel.leadingDimension
                    for r in 0..<localRows {
                        let i = globalRow(r)
                        let a = local[aBase + r], transposed = panel.local[pBase + r]
                        if pass == 0 {
                            defect = max(defect, abs(a - transposed))
                            maxAbs = max(maxAbs, abs(a))
                            if i > j { local[aBase + r] = 0.5 * (a + transposed) }
                        } else if i < j {
                            local[aBase + r] = transposed
                        }
                    }
                }
                start += panelColumns
            }
        }
        var both = [defect, maxAbs]
        try grid.communicator.allreduce(&both, .max)
        return SymmetryReport(defect: both[0], maxAbs: both[1])
    }

    /// panel := (rows `first ..< first+count` of self)ᵀ, an n × count matrix (PDTRAN).
    private func transposeRows(_ first: Int, count: Int, into panel: inout BlockCyclicMatrix) throws {
        var m = Int32(rows), k = Int32(count), one: Int32 = 1, ia = Int32(first + 1)
        var alpha = 1.0, beta = 0.0
        local.withUnsafeBufferPointer { a in
            panel.local.withUnsafeMutableBufferPointer { c in
                pdtran_(&m, &k, &alpha, a.baseAddress, &ia, &one, descriptor, &beta, c.baseAddress, &one, &one,
                        panel.descriptor)
            }
        }
    }
}
