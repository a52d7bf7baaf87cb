import CScaLAPACK
import Testing
@testable import DistributedLinearAlgebra

@Suite struct BlockCyclicIndexMaps {
    static let sizes = [0, 1, 2, 5, 7, 63, 64, 65, 130, 257]
    static let blocks = [1, 2, 3, 16, 64]

    /// Every global index maps to exactly one (process, local) slot and back, local slots are
    /// dense 0..<localCount on each process, and the counts agree with ScaLAPACK's own NUMROC.
    @Test(arguments: 1...4, blocks)
    func axisRoundTripAgainstNUMROC(processes: Int, blockSize: Int) {
        for n in Self.sizes {
            let axis = BlockCyclicAxis(count: n, blockSize: blockSize, processes: processes)
            var seen = Array(repeating: Set<Int>(), count: processes)
            for g in 0..<n {
                let p = axis.owner(of: g), l = axis.localIndex(of: g)
                #expect(axis.globalIndex(local: l, process: p) == g)
                #expect(!seen[p].contains(l))
                seen[p].insert(l)
            }
            var total = 0
            for p in 0..<processes {
                var n32 = Int32(n), nb = Int32(blockSize), ip = Int32(p), src: Int32 = 0, np = Int32(processes)
                let reference = Int(numroc_(&n32, &nb, &ip, &src, &np))
                #expect(axis.localCount(process: p) == reference, "n=\(n) nb=\(blockSize) P=\(processes) p=\(p)")
                #expect(seen[p] == Set(0..<reference))
                total += reference
            }
            #expect(total == n)
        }
    }

    @Test(arguments: [(1, 1), (1, 2), (2, 1), (2, 2), (1, 3), (3, 1), (2, 3), (3, 3), (4, 4)])
    func matrixOwnershipPartitionsEveryEntry(rows: Int, columns: Int) {
        for nb in Self.blocks {
            let layout = BlockCyclicLayout(rows: 37, columns: 29, rowBlock: nb, columnBlock: nb,
                                           processRows: rows, processColumns: columns)
            var count = Array(repeating: Array(repeating: 0, count: columns), count: rows)
            for i in 0..<37 { for j in 0..<29 {
                let (pr, pc) = layout.owner(row: i, column: j)
                let (lr, lc) = layout.localPosition(row: i, column: j)
                #expect(lr < layout.localRows(processRow: pr) && lc < layout.localColumns(processColumn: pc))
                count[pr][pc] += 1
            } }
            for pr in 0..<rows { for pc in 0..<columns {
                #expect(count[pr][pc] == layout.localRows(processRow: pr) * layout.localColumns(processColumn: pc))
            } }
        }
    }

    @Test func squarestGrids() {
        #expect(ProcessGrid.squarestShape(for: 1) == (1, 1))
        #expect(ProcessGrid.squarestShape(for: 2) == (1, 2))
        #expect(ProcessGrid.squarestShape(for: 4) == (2, 2))
        #expect(ProcessGrid.squarestShape(for: 6) == (2, 3))
        #expect(ProcessGrid.squarestShape(for: 7) == (1, 7))
        #expect(ProcessGrid.squarestShape(for: 64) == (8, 8))
    }

    @Test func gridParsing() throws {
        #expect(try ProcessGrid.parseShape("2x3", processes: 6) == (2, 3))
        #expect(try ProcessGrid.parseShape("auto", processes: 4) == (2, 2))
        #expect(throws: (any Error).self) { try ProcessGrid.parseShape("2x2", processes: 3) }
        #expect(throws: (any Error).self) { try ProcessGrid.parseShape("2by2", processes: 4) }
        #expect(throws: (any Error).self) { try ProcessGrid.parseShape("0x4", processes: 4) }
    }

    @Test func selections() throws {
        #expect(try EigenvectorSelection(parsing: "top:3") == .top(3))
        #expect(try EigenvectorSelection(parsing: "bottom:1") == .bottom(1))
        #expect(try EigenvectorSelection(parsing: "none") == EigenvectorSelection.none)
        #expect(throws: (any Error).self) { try EigenvectorSelection(parsing: "top:0") }
        #expect(EigenvectorSelection.top(3).indexRange(n: 10) == 8...10)
        #expect(EigenvectorSelection.top(30).indexRange(n: 10) == 1...10)
    }
}

@Suite struct KnownSpectrum {
    /// The Householder test matrix has exactly the advertised spectrum: LAPACK agrees.
    @Test(arguments: [1, 2, 9, 60])
    func householderSpectrumMatchesLAPACK(n: Int) {
        let t = HouseholderTestMatrix(size: n, seed: 3)
        var a = [Double](repeating: 0, count: n * n)
        for j in 0..<n { for i in 0..<n { a[j * n + i] = t.entry(i, j) } }
        for j in 0..<n { for i in 0..<n { #expect(a[j * n + i] == a[i * n + j]) } }
        var w = [Double](repeating: 0, count: n)
        let info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 78 /* N */, 76 /* L */, Int32(n), &a, Int32(n), &w)
        #expect(info == 0)
        let scale = t.eigenvalues.map(abs).max()!
        for (x, y) in zip(w, t.eigenvalues) { #expect(abs(x - y) <= 1e-12 * scale) }
    }

    @Test func countsUseTheStatedTolerance() {
        let counts = SpectrumCounts(eigenvalues: [-2, -1e-20, 0, 1e-20, 3], dimension: 5)
        #expect(counts.negative == 1 && counts.nearZero == 3 && counts.positive == 1)
        #expect(counts.zeroTolerance == 5 * Double.ulpOfOne * 3)
    }

    /// The bulk at |λ| ≤ τ·max|λ| against NumPy on the same spectrum:
    /// th = t*abs(l).max(); (l < -th).sum(), (abs(l) <= th).sum(), (l > th).sum()
    /// gives 3 / 3 / 5 at τ = 1e-4 and 2 / 6 / 3 at τ = 1e-3.
    @Test func relativeInertiaCountsTheBulkAsNumPyDoes() {
        let λ = [-0.5, -2e-3, -5e-4, -5e-5, 0, 3e-5, 2e-4, 9e-4, 1.5e-3, 0.3, 1]
        let fine = RelativeInertia(eigenvalues: λ, relativeTolerance: 1e-4)
        #expect((fine.negative, fine.bulk, fine.positive) == (3, 3, 5))
        #expect(fine.threshold == 1e-4 && fine.bulkFraction == 3.0 / 11)
        let coarse = RelativeInertia(eigenvalues: λ, relativeTolerance: 1e-3)
        #expect((coarse.negative, coarse.bulk, coarse.positive) == (2, 6, 3))
        // The scale is max|λ|: a spectrum led by a negative eigenvalue (R = H − G) is measured by it.
        let led = RelativeInertia(eigenvalues: [-4, -1e-3, 3e-3, 2], relativeTolerance: 1e-3)
        #expect(led.threshold == 4e-3 && (led.negative, led.bulk, led.positive) == (1, 2, 1))
        // On the threshold counts as bulk (|λ| ≤ τ·λmax), as in the absolute inertia.
        let edge = RelativeInertia(eigenvalues: [-0.25, 0.25, 1], relativeTolerance: 0.25)
        #expect((edge.negative, edge.bulk, edge.positive) == (0, 2, 1))
        #expect(RelativeInertia(eigenvalues: [], relativeTolerance: 1e-3).bulkFraction == 0)
    }
}
