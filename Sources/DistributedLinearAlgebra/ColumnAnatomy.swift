/// Where the columns of a distributed matrix of (eigen)vectors live: for each of its first
/// `count` columns z_j, the mass ‖z_j restricted to rows r‖² on each of a partition's row ranges,
/// the inverse participation ratio Σᵢ z_ij⁴ / (Σᵢ z_ij²)² (1 for a unit vector, 1/M for a uniform
/// one: how localised z_j is), and — given an orthonormal basis Q of a subspace, replicated — the
/// fraction ‖Qᵀ z_j‖² / ‖z_j‖² of z_j inside it. Collective: local sums over the rank's piece, one
/// allreduce for the masses and one product Zᵀ Q.
public struct ColumnAnatomy: Sendable, Equatable {
    /// masses[j][b]: the share of column j's squared norm on row range b (rows of a partition).
    public var masses: [[Double]]
    public var inverseParticipation: [Double]
    /// Per column, the fraction inside span(Q); nil without a basis.
    public var inSpan: [Double]?

    public init(masses: [[Double]], inverseParticipation: [Double], inSpan: [Double]?) {
        self.masses = masses
        self.inverseParticipation = inverseParticipation
        self.inSpan = inSpan
    }

    /// The anatomy of columns `first` ..< `first + count` of `z` over the row ranges `partition`
    /// (which must cover 0 ..< z.rows without overlap), and their fractions inside span(`basis`)
    /// (rows × r, column-major, orthonormal columns; r = 0 or nil: none). Result j is column first + j.
    public static func measure(_ z: BlockCyclicMatrix, first: Int = 0, count: Int, partition: [Range<Int>], basis: [Double]?, basisCount r: Int) throws -> ColumnAnatomy {
        precondition(first >= 0 && first + count <= z.columns && partition.reduce(0) { $0 + $1.count } == z.rows, "the partition must cover the rows")
        var owner = [Int](repeating: 0, count: z.rows)
        for (b, range) in partition.enumerated() { for i in range { owner[i] = b } }
        let blocks = partition.count
        // One buffer for one allreduce: count × blocks masses (unnormalised), then count Σz⁴.
        var sums = [Double](repeating: 0, count: count * (blocks + 1))
        for c in 0..<z.localColumns {
            let j = z.globalColumn(c) - first
            guard j >= 0 && j < count else { continue }
            for r in 0..<z.localRows {
                let x = z.local[c * z.leadingDimension + r], square = x * x
                sums[j * blocks + owner[z.globalRow(r)]] += square
                sums[count * blocks + j] += square * square
            }
        }
        try z.grid.communicator.allreduce(&sums, .sum)
        var masses: [[Double]] = [], ipr: [Double] = []
        for j in 0..<count {
            let row = Array(sums[(j * blocks)..<((j + 1) * blocks)]), total = row.reduce(0, +)
            masses.append(row.map { total > 0 ? $0 / total : 0 })
            ipr.append(total > 0 ? sums[count * blocks + j] / (total * total) : 0)
        }
        var inSpan: [Double]?
        if let basis, r > 0 {
            // (Zᵀ Q)[j, t] = z_jᵀ q_t for every column of Z; only the first `count` are read.
            let coordinates = try z.multiplyTransposed(replicated: basis, count: r)
            inSpan = (0..<count).map { j in
                let norm = sums[(j * blocks)..<((j + 1) * blocks)].reduce(0, +)
                let column = first + j
                let inside = (0..<r).reduce(0.0) { $0 + coordinates[$1 * z.columns + column] * coordinates[$1 * z.columns + column] }
                return norm > 0 ? inside / norm : 0
            }
        }
        return ColumnAnatomy(masses: masses, inverseParticipation: ipr, inSpan: inSpan)
    }
}
