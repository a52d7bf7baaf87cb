import Foundation
import NPY
import Testing

/// NaN/Inf in data, parameters and matrices, a TOML file with a NUL byte, and plans for absurd or
/// empty models: each refused with exit 2, one `error:` line naming the file and the place, and
/// nothing written (the reliability issue's first classes).
extension MPIJobs {
@Suite struct NonFiniteAndMalformedInput {
    static func npy(_ values: [Double], shape: [Int]) throws -> Data {
        var data = Data(NPYHeader(dataType: .float64, fortranOrder: false, shape: shape).encoded())
        values.withUnsafeBufferPointer { data.append(contentsOf: UnsafeRawBufferPointer($0)) }
        return data
    }

    func refused(_ run: MPIRun, _ message: String, out: String) {
        #expect(run.status == 2, "exit \(run.status): \(run.stderr)")
        let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1 && errors.first?.contains(message) == true, "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out), "an output directory was created")
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteDataIsRefusedWithItsSample(value: Double) throws {
        let directory = try MPITestSupport.temporaryDirectory("nan-data")
        defer { try? FileManager.default.removeItem(at: directory) }
        var x = (0..<40).map { Double($0 % 7) / 7 }
        x[2 * 4 + 3] = value   // sample 2, feature 3 (d = 4)
        let xPath = directory.appendingPathComponent("X.npy").path, yPath = directory.appendingPathComponent("y.npy").path
        try Self.npy(x, shape: [10, 4]).write(to: URL(fileURLWithPath: xPath))
        try Self.npy((0..<10).map { Double($0 % 2) }, shape: [10]).write(to: URL(fileURLWithPath: yPath))
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["train", "--data", "npy", "--x", xPath, "--y", yPath, "--layers", "3",
                                                 "--steps", "5", "--out", out, "--quiet"])
        refused(run, "sample 2 has a non-finite value (NaN or ±∞) in input feature 3", out: out)
    }

    @Test func nonFiniteParametersAreRefused() throws {
        let directory = try MPITestSupport.temporaryDirectory("nan-params")
        defer { try? FileManager.default.removeItem(at: directory) }
        // clusters d = 3, k = 2, no hidden layer: M = 2·3 + 2 = 8.
        var θ = [Double](repeating: 0.1, count: 8)
        θ[5] = .nan
        let path = directory.appendingPathComponent("params.npy").path
        try Self.npy(θ, shape: [8]).write(to: URL(fileURLWithPath: path))
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["spectrum", "--checkpoint", path, "--samples", "20", "--classes", "2",
                                                 "--dimension", "3", "--layers", "", "--block", "2", "--out", out, "--quiet"])
        refused(run, "entry 5 is nan", out: out)
    }

    @Test(arguments: ["pdsyev", "pdsyevr", "elpa"])
    func nonFiniteMatricesNeverReachTheSolver(solver: String) throws {
        let directory = try MPITestSupport.temporaryDirectory("nan-matrix")
        defer { try? FileManager.default.removeItem(at: directory) }
        var a = (0..<64).map { i in i % 9 == 0 ? 2.0 : 0.0 }
        a[3 * 8 + 5] = .nan
        a[5 * 8 + 3] = .nan
        let path = directory.appendingPathComponent("A.npy").path
        try Self.npy(a, shape: [8, 8]).write(to: URL(fileURLWithPath: path))
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["eig", "--matrix", path, "--block", "2", "--solver", solver, "--out", out])
        refused(run, "is NaN or ±∞", out: out)
    }

    @Test func aTOMLFileWithANulByteIsRefused() throws {
        let directory = try MPITestSupport.temporaryDirectory("nul")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("run.toml")
        try Data("seed = 1\n[train]\nsteps = 3\0\nlearning-rate = 5.0\n".utf8).write(to: config)
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["train", "--config", config.path, "--out", out, "--quiet"])
        refused(run, "a NUL byte at byte", out: out)
    }

    /// `plan` needs no MPI; these used to trap (exit 132/134) instead of refusing. Each message
    /// names the flag the user typed (the key, when it came from --config: below).
    @Test(arguments: [(["--layers", "0"], "--layers must all be ≥ 1"),
                      (["--layers", "1000000000,1000000000"], "more than 2³¹ − 1 parameters"),
                      // M = 2 · 1073741820 + 2 + 2 · 2 + 2 = 2³¹ exactly: one past BLAS's 32-bit sizes (the
                      // guard every job shares; it used to let 2³¹ itself through).
                      (["--dimension", "1073741820", "--classes", "2", "--layers", "2"], "more than 2³¹ − 1 parameters"),
                      (["--samples", "0"], "--samples must be ≥ 1"),
                      (["--dimension", "0"], "--dimension must be ≥ 1"),
                      (["--classes", "0"], "--classes must be ≥ 2")])
    func planRefusesAbsurdModels(flags: [String], message: String) throws {
        let run = try MPITestSupport.execute([MPITestSupport.landscape, "plan", "--ranks", "2"] + flags, timeout: 30)
        #expect(run.status == 2, "\(flags): exit \(run.status), \(run.stderr)")
        #expect(run.stderr.contains(message), "\(flags): \(run.stderr)")
    }

    /// `plan` reads the data's shape through the loader's own validation: labels that are strings
    /// (NumPy dtype <U1) are bad input, one line and exit 2, as for `train` — it exited 1 with
    /// ArgumentParser's "Error:" before.
    @Test func planRefusesStringLabelsAsTrainDoes() throws {
        let directory = try MPITestSupport.temporaryDirectory("plan-strings")
        defer { try? FileManager.default.removeItem(at: directory) }
        let x = directory.appendingPathComponent("x.npy").path, y = directory.appendingPathComponent("y.npy").path
        try Self.npy((0..<20).map(Double.init), shape: [10, 2]).write(to: URL(fileURLWithPath: x))
        guard case .file(let bytes) = BadInput.npy("{'descr': '<U1', 'fortran_order': False, 'shape': (10,), }", payload: 40) else { return }
        try Data(bytes).write(to: URL(fileURLWithPath: y))
        let flags = ["--data", "npy", "--x", x, "--y", y]
        let plan = try MPITestSupport.execute([MPITestSupport.landscape, "plan", "--ranks", "2"] + flags, timeout: 30)
        #expect(plan.status == 2 && plan.stderr.hasPrefix("error: data.y") && plan.stderr.contains("dtype <U1"), "exit \(plan.status): \(plan.stderr)")
        let out = directory.appendingPathComponent("out").path
        refused(try MPITestSupport.run(np: 2, ["train"] + flags + ["--out", out]), "dtype <U1", out: out)
    }

    /// The same refusals from a --config file name the TOML key, for plan and for an MPI command.
    @Test func aBadKeyFromTheConfigFileIsNamedAsTheKey() throws {
        let directory = try MPITestSupport.temporaryDirectory("bad-key")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("run.toml").path
        try "[data]\ncovariance = -1.0\n[model]\nlayers = [0]\n".write(toFile: config, atomically: true, encoding: .utf8)
        let plan = try MPITestSupport.execute([MPITestSupport.landscape, "plan", "--ranks", "2", "--config", config], timeout: 30)
        #expect(plan.status == 2 && plan.stderr.contains("error: data.covariance must be > 0"), "\(plan.stderr)")
        let out = directory.appendingPathComponent("out").path
        let train = try MPITestSupport.run(np: 2, ["train", "--config", config, "--layers", "4", "--out", out])
        refused(train, "data.covariance must be > 0", out: out)
    }

    /// A generated test matrix is planned before it is generated: M = 10⁸ is refused by the memory
    /// plan at once, without building its O(M) diagonal and reflector (3 GB per rank) first.
    @Test func anAbsurdTestMatrixIsRefusedBeforeItIsGenerated() throws {
        let directory = try MPITestSupport.temporaryDirectory("huge-test-matrix")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out").path
        let start = Date()
        let run = try MPITestSupport.run(np: 2, ["eig", "--test-matrix", "householder:100000000", "--out", out], timeout: 60)
        refused(run, "not enough memory", out: out)
        #expect(Date().timeIntervalSince(start) < 20, "the refusal came only after \(Date().timeIntervalSince(start)) s")
    }

    /// The held-out split is sized before it is allocated.
    @Test func anAbsurdHeldOutSplitIsRefusedBeforeAllocation() throws {
        let directory = try MPITestSupport.temporaryDirectory("held-out")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["train", "--samples", "20", "--held-out", "1000000000000000", "--steps", "1",
                                                 "--out", out, "--quiet"], timeout: 60)
        refused(run, "--held-out = 1000000000000000 samples", out: out)
    }
}
}
