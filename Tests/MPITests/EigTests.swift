import Foundation
import NPY
import Testing

/// `landscape eig` under `mpirun -np 1…4` against single-process LAPACK `dsyevd`.
/// Serialized: MPI jobs on 2 cores must not compete with each other.
extension MPIJobs {
@Suite struct DistributedEigensolver {
    static let layouts: [(np: Int, grid: String)] = [(1, "1x1"), (2, "1x2"), (2, "2x1"), (4, "2x2"), (3, "1x3"), (3, "3x1")]

    /// Solves with eigenvectors and checks eigenvalues against LAPACK (1e-10‖A‖), residuals
    /// ‖Av − λv‖ ≤ 1e-9‖A‖ and orthonormality (1e-9).
    func solveAndCheck(_ a: SymmetricTestMatrix, np: Int, extra: [String], vectors: String = "all",
                       descr: String = "<f8", fortranOrder: Bool = false,
                       sourceEntries: [Double]? = nil) throws {
        let directory = try MPITestSupport.temporaryDirectory("eig")
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("A.npy").path
        let out = directory.appendingPathComponent("out").path
        try a.write(to: input, descr: descr, fortranOrder: fortranOrder, entries: sourceEntries)
        let run = try MPITestSupport.run(np: np, ["eig", "--matrix", input, "--vectors", vectors, "--out", out, "--quiet"] + extra)
        try #require(run.status == 0, "landscape eig \(extra) failed: \(run.stderr)")

        let n = a.n
        let reference = a.referenceEigenvalues()
        let norm = max(reference.map(abs).max() ?? 0, 1e-300)
        let eigenvalues = try NPYArray(contentsOf: out + "/eigenvalues.npy").values
        let range: ClosedRange<Int>
        switch vectors.split(separator: ":").first {
        case "top": range = (n - min(Int(vectors.split(separator: ":")[1])!, n))...(n - 1)
        case "bottom": range = 0...(min(Int(vectors.split(separator: ":")[1])!, n) - 1)
        default: range = 0...(n - 1)
        }
        try #require(eigenvalues.count == range.count)
        for (k, index) in range.enumerated() {
            #expect(abs(eigenvalues[k] - reference[index]) <= 1e-10 * norm, "λ[\(index)] \(extra)")
        }
        guard vectors != "none" else { return }
        let z = try NPYArray(contentsOf: out + "/eigenvectors.npy")
        try #require(z.shape == [n, range.count])
        let k = range.count
        for c in 0..<k {
            var residual = 0.0
            for i in 0..<n {
                var av = 0.0
                for j in 0..<n { av += a.entries[j * n + i] * z.values[j * k + c] }
                residual = max(residual, abs(av - eigenvalues[c] * z.values[i * k + c]))
            }
            #expect(residual <= 1e-9 * norm, "residual of vector \(c) \(extra)")
            for d in 0...c {
                var dot = 0.0
                for i in 0..<n { dot += z.values[i * k + c] * z.values[i * k + d] }
                #expect(abs(dot - (c == d ? 1 : 0)) <= 1e-9, "orthonormality (\(c), \(d)) \(extra)")
            }
        }
    }

    @Test(arguments: layouts.indices, [1, 7, 64])
    func allEigenpairsMatchLAPACK(layout: Int, block: Int) throws {
        let (np, grid) = Self.layouts[layout]
        // 50 is a multiple of neither 7 nor 64: the last block of each axis is partial.
        try solveAndCheck(SymmetricTestMatrix(n: 50, seed: 11), np: np, extra: ["--grid", grid, "--block", "\(block)"])
    }

    @Test(arguments: [(1, 2, "1x2", 64), (1, 4, "2x2", 1), (2, 4, "2x2", 7), (2, 3, "3x1", 1), (3, 4, "2x2", 1)])
    func tinyMatricesIncludingSmallerThanTheGrid(n: Int, np: Int, grid: String, block: Int) throws {
        try solveAndCheck(SymmetricTestMatrix(n: n, seed: 5), np: np, extra: ["--grid", grid, "--block", "\(block)"])
    }

    /// PDSYEVD where it is reliable (M ≥ 4·NB·max(Pr, Pc)), on every layout.
    @Test(arguments: layouts.indices)
    func divideAndConquerEigenpairs(layout: Int) throws {
        let (np, grid) = Self.layouts[layout]
        try solveAndCheck(SymmetricTestMatrix(n: 97, seed: 12), np: np,
                          extra: ["--grid", grid, "--block", "8", "--solver", "pdsyevd"])
    }

    @Test(arguments: ["pdsyev", "pdsyevr"], layouts.indices)
    func eigenvaluesOnlySolvers(solver: String, layout: Int) throws {
        let (np, grid) = Self.layouts[layout]
        try solveAndCheck(SymmetricTestMatrix(n: 45, seed: 2), np: np, extra: ["--grid", grid, "--block", "7", "--solver", solver],
                          vectors: "none")
    }

    /// LAPACK's DSYEVD_2STAGE on one process, in place on the 1 × 1 local piece (ld = M, and a
    /// block size that divides nothing); refused with eigenvectors or on several ranks.
    @Test func twoStageOnOneProcess() throws {
        for (n, block) in [(45, 7), (130, 64)] {
            try solveAndCheck(SymmetricTestMatrix(n: n, seed: 5), np: 1, extra: ["--block", "\(block)", "--solver", "dsyevd_2stage"], vectors: "none")
        }
        for (np, vectors) in [(2, "none"), (1, "top:3")] {
            let out = try MPITestSupport.temporaryDirectory("eig-2stage").appendingPathComponent("out").path
            let run = try MPITestSupport.run(np: np, ["eig", "--test-matrix", "householder:200", "--vectors", vectors, "--solver", "dsyevd_2stage", "--out", out])
            let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(run.status == 2 && lines.count == 1 && lines[0].contains("eigenvalues only, on one process"), "np \(np) \(vectors): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test(arguments: ["top:4", "bottom:3", "top:100"], ["pdsyevr", "elpa1", "elpa2"])
    func subsetsByIndex(vectors: String, solver: String) throws {
        try solveAndCheck(SymmetricTestMatrix(n: 40, seed: 9), np: 3, extra: ["--grid", "1x3", "--block", "7", "--solver", solver], vectors: vectors)
        try solveAndCheck(SymmetricTestMatrix(n: 40, seed: 9), np: 4, extra: ["--grid", "2x2", "--block", "16", "--solver", solver], vectors: vectors)
    }

    /// ELPA (1-stage with eigenvectors, 2-stage for eigenvalues only) on the same BLACS layouts.
    @Test(arguments: [(1, "1x1"), (2, "1x2"), (2, "2x1"), (4, "2x2"), (3, "1x3")], [16, 64])
    func elpaMatchesLAPACK(layout: (np: Int, grid: String), block: Int) throws {
        let a = SymmetricTestMatrix(n: 200, seed: 21)    // 200 is a multiple of neither 16 nor 64
        try solveAndCheck(a, np: layout.np, extra: ["--grid", layout.grid, "--block", "\(block)", "--solver", "elpa1"])
        for stage in ["elpa1", "elpa2"] {
            try solveAndCheck(a, np: layout.np, extra: ["--grid", layout.grid, "--block", "\(block)", "--solver", stage], vectors: "none")
        }
    }

    /// Eigenvalues only, ELPA is asked for one eigenvector column (`nev` = 1; its tridiagonal
    /// divide and conquer still yields every eigenvalue). A rank-12 matrix makes most merges
    /// deflate, the case a Hessian's bulk at zero produces.
    @Test(arguments: [(1, "1x1"), (2, "1x2"), (3, "3x1"), (4, "2x2")])
    func elpaEigenvaluesOfADegenerateSpectrum(layout: (np: Int, grid: String)) throws {
        let a = SymmetricTestMatrix(n: 150, rank: 12, seed: 5)
        for stage in ["elpa1", "elpa2"] {
            try solveAndCheck(a, np: layout.np, extra: ["--grid", layout.grid, "--block", "16", "--solver", stage], vectors: "none")
        }
        try solveAndCheck(a, np: layout.np, extra: ["--grid", layout.grid, "--block", "16", "--solver", "elpa1"])
    }

    /// With ELPA hidden, `auto` falls back to ScaLAPACK with a one-line note; `elpa` is refused.
    @Test func withoutELPA() throws {
        let directory = try MPITestSupport.temporaryDirectory("noelpa")
        defer { try? FileManager.default.removeItem(at: directory) }
        let hidden = ["LANDSCAPE_DISABLE_ELPA": "1"]
        let auto = try MPITestSupport.run(np: 2, ["eig", "--test-matrix", "householder:64", "--vectors", "all",
                                                  "--out", directory.appendingPathComponent("a").path, "--quiet"], environment: hidden)
        #expect(auto.status == 0, "\(auto.stderr)")
        #expect(auto.stderr.split(separator: "\n").filter { $0.hasPrefix("note: ELPA is not available") }.count == 1)
        #expect(auto.stdout.contains("pdsyev"))
        let out = directory.appendingPathComponent("b").path
        let elpa = try MPITestSupport.run(np: 2, ["eig", "--test-matrix", "householder:64", "--solver", "elpa", "--out", out],
                                          environment: hidden)
        #expect(elpa.status == 2)
        #expect(elpa.stderr.contains("apt-get install libelpa-dev"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// Fortran order, big-endian float64 and float32 files give the same spectrum (float32: that
    /// of the float32-rounded matrix, which is what the file holds).
    @Test(arguments: [("<f8", true), (">f8", false), (">f8", true), ("<f4", false), (">f4", true)])
    func fileVariants(descr: String, fortranOrder: Bool) throws {
        var a = SymmetricTestMatrix(n: 33, seed: 4)
        if descr.hasSuffix("f4") { a.entries = a.entries.map { Double(Float($0)) } }
        try solveAndCheck(a, np: 2, extra: ["--block", "8"], descr: descr, fortranOrder: fortranOrder)
    }

    @Test func symmetrizeUsesTheSymmetricPart() throws {
        let a = SymmetricTestMatrix(n: 30, seed: 8)
        var skewed = a.entries
        for j in 0..<30 { for i in 0..<30 where i != j { skewed[j * 30 + i] += (i > j ? 1e-3 : -1e-3) } }
        // (A + E + (A + E)ᵀ)/2 = A for antisymmetric E: the spectrum must be A's.
        try solveAndCheck(a, np: 4, extra: ["--grid", "2x2", "--block", "4", "--symmetrize"], sourceEntries: skewed)
    }

    @Test func eigenvectorFileLoadsWithNumPy() throws {
        let directory = try MPITestSupport.temporaryDirectory("numpy")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["eig", "--test-matrix", "householder:120:7", "--vectors", "top:6",
                                                 "--block", "16", "--out", out, "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", """
            import json, numpy as np
            v = np.load('\(out)/eigenvectors.npy'); w = np.load('\(out)/eigenvalues.npy')
            s = json.load(open('\(out)/summary.json'))
            assert v.shape == (120, 6) and v.dtype == np.float64, v.shape
            assert np.allclose(w, [10, 20, 30, 40, 50, 1.0]) or np.allclose(sorted(w)[-5:], [10, 20, 30, 40, 50])
            assert abs(v.T @ v - np.eye(6)).max() < 1e-9
            assert s['knownSpectrumMaxError'] < 1e-10 and s['dimension'] == 120
            """]
        try check.run()
        check.waitUntilExit()
        #expect(check.terminationStatus == 0)
        #expect(run.stdout.contains("max |λ − λ_exact|"))
    }
}
}
