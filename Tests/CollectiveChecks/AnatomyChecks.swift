import Cluster
import DistributedLinearAlgebra
import Foundation
import Krylov

/// `ColumnAnatomy` on every grid shape against the same numbers computed here from the whole
/// matrix: block masses (summing to 1), inverse participation (1 for a unit vector, 1/M for a
/// uniform one), and the fractions inside a subspace; and the orthonormal span of dependent vectors
/// as anatomy takes it (Krylov's `orthonormalSpan`).
func registerAnatomyChecks(_ suite: inout CheckSuite) throws {
    let world = suite.world
    let (m, k) = (31, 5)
    // Columns: a unit vector, a uniform one, then three pseudo-random ones.
    func entry(_ i: Int, _ j: Int) -> Double {
        switch j {
        case 0: return i == 7 ? 1 : 0
        case 1: return 1 / Double(m).squareRoot()
        default: return sin(Double(3 * i + 7 * j) + 0.3) + 0.1 * Double(j)
        }
    }
    let partition = [0..<4, 4..<13, 13..<14, 14..<31]
    // A 3-dimensional subspace spanned by 4 vectors (the last a combination of the first two).
    var spanning = [Double](repeating: 0, count: m * 4)
    for i in 0..<m {
        spanning[i] = cos(Double(i)); spanning[m + i] = Double(i % 5) - 2; spanning[2 * m + i] = i < 10 ? 1 : 0
        spanning[3 * m + i] = 2 * spanning[i] - 0.5 * spanning[m + i]
    }
    let (basis, r) = orthonormalSpan(spanning, length: m, count: 4)
    try suite.check("anatomy.basis-rank", tolerance: 0) { r == 3 ? 0 : 1 }
    try suite.check("anatomy.basis-orthonormal", tolerance: 1e-14) {
        var worst = 0.0
        for s in 0..<r { for t in 0..<r {
            let dot = (0..<m).reduce(0.0) { $0 + basis[s * m + $1] * basis[t * m + $1] }
            worst = max(worst, abs(dot - (s == t ? 1 : 0)))
        } }
        return worst
    }
    for shape in gridShapes(world.size) {
        try suite.check("anatomy.columns.\(shape.rows)x\(shape.columns)", tolerance: 1e-13) {
            let grid = ProcessGrid(communicator: world, rows: shape.rows, columns: shape.columns)
            defer { grid.release() }
            var z = try BlockCyclicMatrix(grid: grid, rows: m, columns: k + 2, blockSize: 3)
            z.fill { i, j in j < k ? entry(i, j) : 99 }   // columns past `count` must not count
            let anatomy = try ColumnAnatomy.measure(z, count: k, partition: partition, basis: basis, basisCount: r)
            var worst = abs(anatomy.inverseParticipation[0] - 1) + abs(anatomy.inverseParticipation[1] - 1 / Double(m))
            for j in 0..<k {
                let column = (0..<m).map { entry($0, j) }, norm = column.reduce(0) { $0 + $1 * $1 }
                worst = max(worst, abs(anatomy.masses[j].reduce(0, +) - 1))
                for (b, range) in partition.enumerated() {
                    worst = max(worst, abs(anatomy.masses[j][b] - range.reduce(0.0) { $0 + column[$1] * column[$1] } / norm))
                }
                worst = max(worst, abs(anatomy.inverseParticipation[j] - column.reduce(0) { $0 + pow($1, 4) } / (norm * norm)))
                let inside = (0..<r).reduce(0.0) { acc, t in
                    let c = (0..<m).reduce(0.0) { $0 + basis[t * m + $1] * column[$1] }
                    return acc + c * c
                }
                worst = max(worst, abs(anatomy.inSpan![j] - inside / norm))
            }
            return worst
        }
    }
}
