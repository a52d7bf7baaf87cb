import CScaLAPACK
import Curvature
import Foundation
import Networks
import NPY
import Testing
import Samples

extension MPIJobs {
/// `landscape spectrum` under mpirun -np 1…4 on several grids and block sizes: the assembled H
/// equals the serial sample-GEMM Hessian (itself checked against Hessian-vector products in
/// CurvatureTests), its eigenvalues equal LAPACK's, and the Gauss–Newton split behaves.
@Suite struct DistributedSpectrum {
    static let widths = [5, 6, 5, 2]          // M = 83: a multiple of neither 8 nor 64
    static let samples = 10                   // N·k = 20 < M: G must have ≥ M − 20 zero eigenvalues

    /// Data files and the serial reference, made once.
    final class Fixture: @unchecked Sendable {
        let directory: URL
        let x: String, y: String
        let hessian: [Double], gaussNewton: [Double], eigenvalues: [Double]
        init(activation: Activation, loss: Loss) throws {
            directory = try MPITestSupport.temporaryDirectory("spectrum-data")
            x = directory.appendingPathComponent("X.npy").path
            y = directory.appendingPathComponent("y.npy").path
            let d = DistributedSpectrum.widths.first!, k = DistributedSpectrum.widths.last!, n = DistributedSpectrum.samples
            var state: UInt64 = 99
            func next() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) * 0x1p-53 * 2 - 1 }
            let inputs = (0..<(n * d)).map { _ in next() }
            try NPYArray(shape: [n, d], values: inputs).write(to: x)
            var targets = [Double](repeating: 0, count: n * k)
            if loss == .crossEntropy {
                let labels = (0..<n).map { Double($0 % k) }
                try NPYArray(shape: [n], values: labels).write(to: y)
                for i in 0..<n { targets[i * k + i % k] = 1 }
            } else {
                targets = (0..<(n * k)).map { _ in next() }
                try NPYArray(shape: [n, k], values: targets).write(to: y)
            }
            let network = MultilayerPerceptron(widths: DistributedSpectrum.widths, activation: activation, loss: loss)
            let θ = Initialization.heNormal.parameters(for: network, seed: 3)
            let batch = SampleBatch(inputs: inputs, inputDimension: d, targets: targets, targetDimension: k)
            hessian = ExactHessian(network: network).dense(θ, batch: batch)
            gaussNewton = ExactHessian(network: network).dense(θ, batch: batch, part: .gaussNewton)
            let m = network.parameterCount
            var a = hessian, w = [Double](repeating: 0, count: m)
            precondition(LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 78, 76, Int32(m), &a, Int32(m), &w) == 0)
            eigenvalues = w
        }
    }
    static let tanhMSE = Result { try Fixture(activation: .tanh, loss: .meanSquaredError) }
    static let reluCE = Result { try Fixture(activation: .relu, loss: .crossEntropy) }

    func run(_ fixture: Fixture, np: Int, grid: String, block: Int, activation: String, loss: String,
             extra: [String] = []) throws -> (eigenvalues: [Double], ggn: [Double], hessian: [Double], summary: [String: Any],
                                              timings: [String: Any], files: [String]) {
        let out = try MPITestSupport.temporaryDirectory("spectrum").appendingPathComponent("run").path
        defer { try? FileManager.default.removeItem(atPath: (out as NSString).deletingLastPathComponent) }
        let run = try MPITestSupport.run(np: np, [
            "spectrum", "--at", "init", "--seed", "3", "--init", "he-normal", "--data", "npy", "--x", fixture.x, "--y", fixture.y,
            "--layers", "6,5", "--activation", activation, "--loss", loss, "--grid", grid, "--block", "\(block)",
            "--ggn", "--save-hessian", "--out", out, "--quiet"] + extra)
        try #require(run.status == 0, "spectrum \(grid) block \(block): \(run.stderr)")
        func json(_ name: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: URL(fileURLWithPath: out + "/" + name))) as! [String: Any]
        }
        return (try NPYArray(contentsOf: out + "/eigenvalues.npy").values,
                try NPYArray(contentsOf: out + "/ggn_eigenvalues.npy").values,
                try NPYArray(contentsOf: out + "/hessian.npy").values, try json("summary.json"), try json("timings.json"),
                try FileManager.default.contentsOfDirectory(atPath: out))
    }

    @Test(arguments: [(1, "1x1"), (2, "1x2"), (2, "2x1"), (3, "1x3"), (4, "2x2"), (4, "1x4"), (4, "4x1")], [8, 64])
    func hessianAndSpectrumMatchTheSerialReference(layout: (np: Int, grid: String), block: Int) throws {
        for (fixture, activation, loss) in [(try Self.tanhMSE.get(), "tanh", "mse"), (try Self.reluCE.get(), "relu", "cross-entropy")] {
            let r = try run(fixture, np: layout.np, grid: layout.grid, block: block, activation: activation, loss: loss)
            let norm = fixture.eigenvalues.map(abs).max()!
            let matrixError = zip(r.hessian, fixture.hessian).map { abs($0 - $1) }.max()!
            #expect(matrixError <= 1e-12 * norm, "H \(layout.grid) block \(block) \(activation): \(matrixError)")
            let valueError = zip(r.eigenvalues, fixture.eigenvalues).map { abs($0 - $1) }.max()!
            #expect(valueError <= 1e-10 * norm, "λ \(layout.grid) block \(block) \(activation): \(valueError)")
            // Gauss–Newton: positive semi-definite, rank ≤ N·k, and Σλ(H) − Σλ(G) = tr R from the
            // diagonals (both eigensolvers against the assembled matrices). R itself is not
            // decomposed without --residual, and timings.json names each eigensolve's method.
            let gNorm = r.ggn.map(abs).max()!
            #expect(r.ggn.min()! >= -1e-10 * gNorm)
            #expect(r.ggn.filter { $0 > 1e-10 * gNorm }.count <= Self.samples * 2)
            let residualTrace = try #require(r.summary["residualTrace"] as? Double)
            let traceH = r.eigenvalues.reduce(0, +)
            #expect(abs(traceH - r.ggn.reduce(0, +) - residualTrace) <= 1e-10 * abs(traceH))
            #expect(r.summary["residual"] == nil && r.summary["splitTraceDefect"] == nil)
            #expect(!r.files.contains("residual_eigenvalues.npy"))
            let solves = (r.timings["phases"] as! [[String: Any]]).filter { ($0["name"] as! String).hasPrefix("eigensolve") }
            #expect(solves.map { $0["name"] as! String } == ["eigensolve H", "eigensolve G"])
            #expect(solves.allSatisfy { ($0["method"] as? String)?.isEmpty == false })
            // The assembly's exchange on one host (`auto`: the partial panels allreduced through
            // shared memory), counted in the code: every rank hands the same row panels to the
            // allreduces, which cover at least the upper triangle of H and at most all of it; one
            // rank reduces nothing. (The exchange to owners is measured across test hosts.)
            let m = Double(fixture.eigenvalues.count)
            let reduce = try #require((r.timings["phases"] as! [[String: Any]]).first { ($0["name"] as! String) == "reduce hessian" })
            let bytes = try #require(reduce["bytes"] as? [Double])
            #expect(bytes.count == layout.np && Set(bytes).count == 1, "\(bytes)")
            if layout.np == 1 {
                #expect(bytes == [0])
            } else {
                #expect(bytes[0] >= 8 * m * (m + 1) / 2 && bytes[0] <= 8 * m * m, "\(bytes[0]) for M = \(m)")
            }
        }
    }

    @Test func elpaGivesTheSameSpectrum() throws {
        let fixture = try Self.tanhMSE.get()
        let r = try run(fixture, np: 4, grid: "2x2", block: 8, activation: "tanh", loss: "mse", extra: ["--solver", "elpa"])
        let norm = fixture.eigenvalues.map(abs).max()!
        #expect(zip(r.eigenvalues, fixture.eigenvalues).map { abs($0 - $1) }.max()! <= 1e-10 * norm)
    }

    /// The generic assembler (batched curvature products against unit directions) gives the
    /// spectrum of the sample-GEMM fast path and of the serial reference.
    @Test(arguments: [(3, "1x3"), (2, "2x1")])
    func operatorColumnAssemblyGivesTheSameSpectrum(np: Int, grid: String) throws {
        let fixture = try Self.reluCE.get()
        let r = try run(fixture, np: np, grid: grid, block: 8, activation: "relu", loss: "cross-entropy",
                        extra: ["--assembly", "operator-columns"])
        let norm = fixture.eigenvalues.map(abs).max()!
        #expect(zip(r.eigenvalues, fixture.eigenvalues).map { abs($0 - $1) }.max()! <= 1e-10 * norm)
        // The assembled matrix itself (hessian.npy, written before symmetrisation) against the
        // serial sample-GEMM reference (symmetric, so the file's column-major order does not matter).
        let hNorm = fixture.hessian.map(abs).max()!
        #expect(zip(r.hessian, fixture.hessian).map { abs($0 - $1) }.max()! <= 1e-12 * hNorm)
    }

    /// Softmax regression (no hidden layer) and linear regression: the residual R = H − G is 0.
    @Test(arguments: [("cross-entropy", "linear"), ("mse", "linear")])
    func noHiddenLayerMeansNoResidual(loss: String, activation: String) throws {
        let fixture = loss == "mse" ? try Self.tanhMSE.get() : try Self.reluCE.get()
        let out = try MPITestSupport.temporaryDirectory("residual").appendingPathComponent("run").path
        let run = try MPITestSupport.run(np: 2, ["spectrum", "--at", "init", "--data", "npy", "--x", fixture.x, "--y", fixture.y,
                                                 "--layers", "", "--activation", activation, "--loss", loss, "--block", "4",
                                                 "--residual", "--out", out, "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        let h = try NPYArray(contentsOf: out + "/eigenvalues.npy").values
        let r = try NPYArray(contentsOf: out + "/residual_eigenvalues.npy").values
        #expect(r.map(abs).max()! <= 1e-14 * max(1, h.map(abs).max()!))
    }

    /// The bulk at relative thresholds in summary.json equals a count on the LAPACK spectrum
    /// (|λ| ≤ τ·max|λ|, as NumPy would count it), for H, G and R; the plots are well-formed SVG,
    /// split.svg one panel per matrix.
    @Test func summaryCarriesTheBulkAtRelativeThresholds() throws {
        let fixture = try Self.tanhMSE.get()
        let out = try MPITestSupport.temporaryDirectory("bulk").appendingPathComponent("run").path
        defer { try? FileManager.default.removeItem(atPath: (out as NSString).deletingLastPathComponent) }
        let run = try MPITestSupport.run(np: 2, [
            "spectrum", "--at", "init", "--seed", "3", "--init", "he-normal", "--data", "npy", "--x", fixture.x, "--y", fixture.y,
            "--layers", "6,5", "--activation", "tanh", "--loss", "mse", "--block", "8", "--ggn", "--residual",
            "--bulk-tolerances", "1e-3,1e-2", "--out", out, "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as! [String: Any]
        let hessian = summary["hessian"] as! [String: Any]
        let bulk = try #require(hessian["bulk"] as? [[String: Any]])
        #expect(bulk.map { $0["relativeTolerance"] as! Double } == [1e-3, 1e-2])
        let λ = fixture.eigenvalues, scale = λ.map(abs).max()!
        for entry in bulk {
            let threshold = (entry["relativeTolerance"] as! Double) * scale
            // Away from the threshold the LAPACK and the distributed spectra count alike.
            #expect(λ.allSatisfy { abs(abs($0) - threshold) > 1e-9 * scale })
            let expected = (λ.filter { $0 < -threshold }.count, λ.filter { abs($0) <= threshold }.count, λ.filter { $0 > threshold }.count)
            #expect((entry["negative"] as! Int, entry["bulk"] as! Int, entry["positive"] as! Int) == expected)
            #expect(abs(entry["bulkFraction"] as! Double - Double(expected.1) / Double(λ.count)) <= 1e-15)
            #expect(abs(entry["threshold"] as! Double - threshold) <= 1e-12 * scale)
        }
        for part in ["gaussNewton", "residual"] {
            let entries = try #require((summary[part] as? [String: Any])?["bulk"] as? [[String: Any]])
            #expect(entries.count == 2 && entries.allSatisfy { ($0["negative"] as! Int) + ($0["bulk"] as! Int) + ($0["positive"] as! Int) == λ.count })
        }
        let svgs = ["histogram.svg", "histogram-symlog.svg", "split.svg"].map { out + "/" + $0 }
        let check = try MPITestSupport.execute(["python3", "-c", "import sys, xml.etree.ElementTree as E; [E.parse(p) for p in sys.argv[1:]]"] + svgs, timeout: 30)
        #expect(check.status == 0, "\(check.stderr)")
        let split = try String(contentsOfFile: out + "/split.svg", encoding: .utf8)
        #expect(split.components(separatedBy: "Eigenvalue histogram of ").count - 1 == 3)
    }

    /// `--blocks`: each diagonal block's spectrum equals LAPACK's on that sub-matrix of the serial
    /// H, on one and several ranks and grids, and ‖H − blockdiag(H)‖_F / ‖H‖_F equals NumPy's on
    /// the written hessian.npy.
    @Test(arguments: [(1, "1x1"), (2, "1x2"), (2, "2x1"), (3, "3x1")], ["layers", "weights-biases"])
    func diagonalBlockSpectraMatchLAPACK(layout: (np: Int, grid: String), partition: String) throws {
        let fixture = try Self.reluCE.get()
        let out = try MPITestSupport.temporaryDirectory("blocks").appendingPathComponent("run").path
        defer { try? FileManager.default.removeItem(atPath: (out as NSString).deletingLastPathComponent) }
        let run = try MPITestSupport.run(np: layout.np, [
            "spectrum", "--at", "init", "--seed", "3", "--init", "he-normal", "--data", "npy", "--x", fixture.x, "--y", fixture.y,
            "--layers", "6,5", "--activation", "relu", "--loss", "cross-entropy", "--grid", layout.grid, "--block", "4",
            "--blocks", partition, "--ggn", "--save-hessian", "--out", out, "--quiet"])
        try #require(run.status == 0, "\(partition) \(layout.grid): \(run.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as! [String: Any]
        let blocks = try #require(summary["blocks"] as? [String: Any])
        let entries = blocks["blocks"] as! [[String: Any]]
        // widths 5-6-5-2: W1 6×5, b1 6, W2 5×6, b2 5, W3 2×5, b3 2 (M = 83).
        let sizes = partition == "layers" ? [36, 35, 12] : [30, 6, 30, 5, 10, 2]
        #expect(entries.map { $0["parameters"] as! Int } == sizes)
        let m = fixture.eigenvalues.count, scale = fixture.eigenvalues.map(abs).max()!
        var masked = fixture.hessian, union: [Double] = []
        for entry in entries {
            let offset = entry["offset"] as! Int, n = entry["parameters"] as! Int
            var a = [Double](repeating: 0, count: n * n), w = [Double](repeating: 0, count: n)
            for i in 0..<n { for j in 0..<n { a[i * n + j] = fixture.hessian[(offset + i) * m + offset + j]; masked[(offset + i) * m + offset + j] = 0 } }
            precondition(LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 78, 76, Int32(n), &a, Int32(n), &w) == 0)
            let path = out + "/" + (entry["eigenvaluesFile"] as! String)
            let got = try NPYArray(contentsOf: path).values
            #expect(got.count == n && zip(got, w).map { abs($0 - $1) }.max()! <= 1e-10 * scale, "\(entry["name"]!) \(layout.grid)")
            union += w
            let trace = (entry["trace"] as! [String: Any])["fromEigenvalues"] as! Double
            #expect(abs(trace - w.reduce(0, +)) <= 1e-10 * scale * Double(n))
        }
        // blockdiag(H)'s spectrum is the union of the blocks': its top 10 against H's.
        let top = zip(union.sorted(by: >).prefix(10), fixture.eigenvalues.sorted(by: >).prefix(10)).map { abs($0 - $1) }.max()! / scale
        #expect(blocks["topCount"] as? Int == 10)
        #expect(abs((blocks["topShift"] as! Double) - top) <= 1e-10)
        let svg = try String(contentsOfFile: out + "/blocks.svg", encoding: .utf8)
        #expect(svg.components(separatedBy: "Diagonal block ").count - 1 == sizes.count)
        let distance = blocks["offDiagonalFraction"] as! Double
        let serial = (masked.map { $0 * $0 }.reduce(0, +) / fixture.hessian.map { $0 * $0 }.reduce(0, +)).squareRoot()
        #expect(abs(distance - serial) <= 1e-12)
        let numpy = try MPITestSupport.execute(["python3", "-c", """
            import json, sys, numpy as np
            H = np.load(sys.argv[1]); blocks = json.load(open(sys.argv[2]))["blocks"]
            mask = np.ones(H.shape, dtype=bool)
            for b in blocks: r = slice(b["offset"], b["offset"] + b["parameters"]); mask[r, r] = False
            print(repr(float(np.linalg.norm(H[mask]) / np.linalg.norm(H))))
            """, out + "/hessian.npy", out + "/blocks/summary.json"], timeout: 60)
        try #require(numpy.status == 0, "\(numpy.stderr)")
        let reference = try #require(Double(numpy.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(numpy.stdout)")
        #expect(abs(distance - reference) <= 1e-12)

        // With --ggn the same for G's blocks (ggn_<name>.npy) against LAPACK on the serial G.
        let gBlocks = try #require(summary["gaussNewtonBlocks"] as? [String: Any])
        let gScale = fixture.gaussNewton.map(abs).max()!
        var gMasked = fixture.gaussNewton
        for entry in gBlocks["blocks"] as! [[String: Any]] {
            let offset = entry["offset"] as! Int, n = entry["parameters"] as! Int
            var a = [Double](repeating: 0, count: n * n), w = [Double](repeating: 0, count: n)
            for i in 0..<n { for j in 0..<n { a[i * n + j] = fixture.gaussNewton[(offset + i) * m + offset + j]; gMasked[(offset + i) * m + offset + j] = 0 } }
            precondition(LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 78, 76, Int32(n), &a, Int32(n), &w) == 0)
            #expect((entry["eigenvaluesFile"] as! String).hasPrefix("blocks/ggn_"))
            let got = try NPYArray(contentsOf: out + "/" + (entry["eigenvaluesFile"] as! String)).values
            #expect(zip(got, w).map { abs($0 - $1) }.max()! <= 1e-10 * gScale, "G \(entry["name"]!) \(layout.grid)")
        }
        let gSerial = (gMasked.map { $0 * $0 }.reduce(0, +) / fixture.gaussNewton.map { $0 * $0 }.reduce(0, +)).squareRoot()
        #expect(abs((gBlocks["offDiagonalFraction"] as! Double) - gSerial) <= 1e-12)
        #expect(FileManager.default.fileExists(atPath: out + "/ggn_blocks.svg"))
    }

    /// `--blocks FILE.toml`: groups of named blocks, not adjacent in θ (all weights; all biases),
    /// each group's spectrum equal to LAPACK's on H[I, I] of the serial H; names the model does
    /// not have, and a block in two groups, refused before any work.
    @Test(arguments: [(2, "2x1"), (3, "1x3")])
    func blockFileGroupsMatchLAPACK(layout: (np: Int, grid: String)) throws {
        let fixture = try Self.reluCE.get()
        let directory = try MPITestSupport.temporaryDirectory("blockfile")
        defer { try? FileManager.default.removeItem(at: directory) }
        func file(_ name: String, _ text: String) throws -> String { try MPITestSupport.write(text, to: name, in: directory) }
        let groups = try file("groups.toml", """
            [blocks]
            weights = ["layer1.weight", "layer2.weight", "layer3.weight"]
            biases = ["layer3.bias", "layer1.bias", "layer2.bias"]
            """)
        let flags = ["spectrum", "--at", "init", "--seed", "3", "--init", "he-normal", "--data", "npy", "--x", fixture.x, "--y", fixture.y,
                     "--layers", "6,5", "--activation", "relu", "--loss", "cross-entropy", "--block", "4"]
        let out = directory.appendingPathComponent("run").path
        let run = try MPITestSupport.run(np: layout.np, flags + ["--grid", layout.grid, "--blocks", groups, "--out", out, "--quiet"])
        try #require(run.status == 0, "\(layout.grid): \(run.stderr)")
        // widths 5-6-5-2: W1 [0, 30), b1 [30, 36), W2 [36, 66), b2 [66, 71), W3 [71, 81), b3 [81, 83).
        let members: [String: [Range<Int>]] = ["weights": [0..<30, 36..<66, 71..<81], "biases": [81..<83, 30..<36, 66..<71]]
        let m = fixture.eigenvalues.count, scale = fixture.eigenvalues.map(abs).max()!
        for (name, ranges) in members {
            let index = ranges.flatMap { Array($0) }, n = index.count
            var a = [Double](repeating: 0, count: n * n), w = [Double](repeating: 0, count: n)
            for (i, p) in index.enumerated() { for (j, q) in index.enumerated() { a[i * n + j] = fixture.hessian[p * m + q] } }
            precondition(LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 78, 76, Int32(n), &a, Int32(n), &w) == 0)
            let got = try NPYArray(contentsOf: out + "/blocks/\(name).npy").values
            #expect(got.count == n && zip(got, w).map { abs($0 - $1) }.max()! <= 1e-10 * scale, "\(name) \(layout.grid)")
        }
        for (text, expected) in [("[blocks]\nhidden = [\"layer1.weight\", \"layer9.bias\"]\n", "group 'hidden' names 'layer9.bias', which"),
                                 ("[blocks]\na = [\"layer1.weight\"]\nb = [\"layer2.bias\", \"layer1.weight\"]\n", "'layer1.weight' is in group 'a' and in group 'b'")] {
            let bad = try file("bad.toml", text), badOut = directory.appendingPathComponent("bad").path
            let refused = try MPITestSupport.run(np: layout.np, flags + ["--blocks", bad, "--out", badOut])
            let lines = refused.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(refused.status == 2 && lines.count == 1 && lines[0].contains("--blocks") && lines[0].contains(expected), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: badOut))
        }
    }

    /// An unknown partition is refused: one line naming --blocks and the choices, exit 2, nothing written.
    @Test func unknownBlockPartitionIsRefused() throws {
        let fixture = try Self.tanhMSE.get()
        let out = try MPITestSupport.temporaryDirectory("badblocks").appendingPathComponent("run").path
        let run = try MPITestSupport.run(np: 1, ["spectrum", "--at", "init", "--data", "npy", "--x", fixture.x, "--y", fixture.y,
                                                 "--layers", "6,5", "--blocks", "rows", "--out", out])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("--blocks") && run.stderr.contains("weights-biases"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// A relative threshold outside (0, 1) is refused: one line naming the setting, exit 2, nothing written.
    @Test(arguments: ["0", "1", "-1e-3", "1e-3,nan"])
    func badBulkToleranceIsRefused(value: String) throws {
        let fixture = try Self.tanhMSE.get()
        let out = try MPITestSupport.temporaryDirectory("badbulk").appendingPathComponent("run").path
        let run = try MPITestSupport.run(np: 1, ["spectrum", "--at", "init", "--data", "npy", "--x", fixture.x, "--y", fixture.y,
                                                 "--layers", "6,5", "--bulk-tolerances", value, "--out", out])
        #expect(run.status == 2, "\(value): \(run.stderr)")
        #expect(run.stderr.contains("--bulk-tolerances"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func oversizeRequestIsRefusedByTheMemoryPlan() throws {
        let out = try MPITestSupport.temporaryDirectory("bigspectrum").appendingPathComponent("run").path
        let run = try MPITestSupport.run(np: 2, ["spectrum", "--at", "init", "--samples", "100", "--dimension", "100",
                                                 "--layers", "1000,1000", "--memory-per-rank", "1G", "--out", out])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("not enough memory"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
}
