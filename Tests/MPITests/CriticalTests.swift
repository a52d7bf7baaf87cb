import Foundation
import NPY
import Testing

/// `landscape critical` from the command line, on a linear network with MSE, whose critical points
/// are known in closed form (Baldi & Hornik 1989): with biases, the data centred, and
/// Σ = Y_cᵀX_c(X_cᵀX_c)⁻¹X_cᵀY_c with eigenvalues μ₁ ≥ … ≥ μ_k, the critical points of a network
/// with h hidden units project onto subsets I of at most h eigenvectors, at energy
/// ε_I = (‖Y_c‖² − Σ_{i∈I} μᵢ) / (2Nk); the one with I = {1, …, h} is the global minimum (index
/// 0) and every other one is a saddle. The tests find such points to ‖∇L‖ ≤ 1e-10 × the start's,
/// check their energies against the closed form and their index, recompute ‖∇L‖ with `landscape
/// evaluate` and the index with `landscape spectrum` at the written points, compare 1–4 ranks and
/// group sizes, and refuse bad input.
extension MPIJobs {
@Suite struct CriticalPoints {
    struct Fixture {
        let directory: URL
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        var model: [String] {
            ["--data", "npy", "--x", path("X.npy"), "--y", path("Y.npy"), "--layers", "2", "--activation", "linear", "--loss", "mse"]
        }
    }

    static let (samples, inputs, outputs, hidden) = (30, 3, 3, 2)
    static var parameterCount: Int { inputs * hidden + hidden + hidden * outputs + outputs }

    static func fixture(_ tag: String) throws -> Fixture {
        let f = Fixture(directory: try MPITestSupport.temporaryDirectory(tag))
        var state: UInt64 = 0xC0FF_EE00_1234
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) * 0x1p-53
        }
        func normal() -> Double { (-2 * Foundation.log(uniform())).squareRoot() * Foundation.cos(2 * Double.pi * uniform()) }
        // Y depends on X (so Σ has distinct, well-separated eigenvalues) plus noise.
        var x: [Double] = [], y: [Double] = []
        for _ in 0..<samples {
            let p = (0..<inputs).map { _ in normal() }
            x += p
            y += [2 * p[0] + 0.3 * normal(), p[1] - 0.5 * p[0] + 0.3 * normal(), 0.4 * p[2] + 0.3 * normal()]
        }
        try NPYArray(shape: [samples, inputs], values: x).write(to: f.path("X.npy"))
        try NPYArray(shape: [samples, outputs], values: y).write(to: f.path("Y.npy"))
        return f
    }

    /// Every subset energy ε_I (|I| ≤ h), by NumPy from the data files.
    static func closedFormEnergies(_ f: Fixture) throws -> [Double] {
        let script = """
            import itertools, json, sys
            import numpy as np
            x, y = np.load(sys.argv[1]), np.load(sys.argv[2])
            xc, yc = x - x.mean(0), y - y.mean(0)
            s = yc.T @ xc @ np.linalg.solve(xc.T @ xc, xc.T @ yc)
            mu = np.linalg.eigvalsh(s)
            n, k, h = y.shape[0], y.shape[1], int(sys.argv[3])
            total = (yc ** 2).sum()
            energies = [(total - sum(mu[list(I)])) / (2 * n * k) for r in range(h + 1) for I in itertools.combinations(range(k), r)]
            print(json.dumps({"energies": energies, "minimum": (total - np.sort(mu)[-h:].sum()) / (2 * n * k)}))
            """
        let run = try MPITestSupport.execute(["python3", "-c", script, f.path("X.npy"), f.path("Y.npy"), "\(hidden)"], timeout: 60)
        try #require(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        return (object["energies"] as! [Double]) + [object["minimum"] as! Double]
    }

    /// The trajectory's starts: early ones near the initialisation, later ones near the global
    /// minimum. Every search converges, quadratically at the end; every energy is a Baldi–Hornik
    /// ε_I; the points at the minimum's energy have index 0 and the others are saddles; and
    /// `evaluate` and `spectrum` confirm ‖∇L‖ and the index at the written points.
    @Test func aLinearNetworkHasBaldiHornikCriticalPointsThatEvaluateAndSpectrumConfirm() throws {
        let f = try Self.fixture("critical-linear")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let energies = try Self.closedFormEnergies(f)
        let minimum = energies.last!
        let out = f.path("out")
        let run = try MPITestSupport.run(np: 2, ["critical"] + f.model + ["--start", "trajectory", "--starts", "5", "--trajectory-every", "40",
                                                                           "--learning-rate", "0.05", "--out", out, "--quiet"], timeout: 300)
        try #require(run.status == 0, "\(run.stderr)")
        let rows = try Paths.rows(out + "/critical.csv")
        try #require(rows.count == 5)
        var sawMinimum = false, sawSaddle = false
        for r in rows {
            let start = r["start"]!
            #expect(r["converged"] == "true", "start \(start): \(r)")
            guard r["converged"] == "true" else { continue }
            let ε = Double(r["loss"]!)!, negative = Int(r["negative"]!)!
            let nearest = energies.map { abs($0 - ε) }.min()!
            #expect(nearest <= 1e-9 * ε, "start \(start): ε = \(ε) is no Baldi–Hornik energy (nearest \(nearest) away)")
            // The index without the zero tolerance's fine print: eigenvalues clearly below zero.
            let λ = try NPYArray(contentsOf: out + "/spectra/\(start).npy").values
            let scale = λ.map(abs).max()!
            #expect(λ.filter { $0 < -1e-6 * scale }.count == negative, "start \(start): index \(negative) vs spectrum \(λ.sorted().prefix(4))")
            if abs(ε - minimum) <= 1e-9 * minimum {
                sawMinimum = true
                #expect(negative == 0, "start \(start) at the global minimum's energy has index \(negative)")
            } else {
                sawSaddle = true
                #expect(negative >= 1, "start \(start) at ε = \(ε) above the minimum \(minimum) is a saddle")
            }
        }
        #expect(sawMinimum, "a start late in the trajectory converges to the global minimum")
        #expect(sawSaddle, "the start at the initialisation converges to a saddle: \(rows.map { $0["loss"]! })")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        let order = try #require(summary["convergenceOrder"] as? Double)
        #expect(order > 1.6, "quadratic convergence in the last steps: order \(order)")
        for file in ["trace.csv", "index-energy.svg", "convergence.svg", "spectra.svg", "report.md", "config.toml"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file)")
        }
        #expect(!FileManager.default.fileExists(atPath: out + "/checkpoint"))
        // Every reported point rechecked by the other commands.
        for r in rows where r["converged"] == "true" {
            let start = r["start"]!, point = out + "/points/\(start).npy"
            let e = try MPITestSupport.run(np: 1, ["evaluate"] + f.model + ["--params", point, "--out", f.path("evaluate-\(start)")])
            try #require(e.status == 0, "\(e.stderr)")
            let gradient = try #require(try Paths.number(f.path("evaluate-\(start)"), "gradientNorm"))
            #expect(gradient <= Double(r["target"]!)!, "start \(start): evaluate's ‖∇L‖ \(gradient) vs the tolerance \(r["target"]!)")
            let spectrum = try MPITestSupport.run(np: 2, ["spectrum"] + f.model + ["--block", "4", "--checkpoint", point, "--out", f.path("spectrum-\(start)"), "--quiet"])
            try #require(spectrum.status == 0, "\(spectrum.stderr)")
            let counts = try #require(((try Paths.summary(f.path("spectrum-\(start)")))["hessian"] as? [String: Any])?["counts"] as? [String: Any])
            #expect(counts["negative"] as? Int == Int(r["negative"]!), "start \(start): spectrum's index vs critical's")
            // The matrix-free path at the same point: one Newton-MR iteration, the index by Lanczos
            // from the 12 smallest eigenvalues ([top] k in --config), equal to the exact one.
            let top = f.path("top-\(start).toml")
            try "[top]\nk = 12\ntolerance = 1e-10\n".write(toFile: top, atomically: true, encoding: .utf8)
            let lanczos = f.path("lanczos-\(start)")
            let again = try MPITestSupport.run(np: 2, ["critical", "--config", top] + f.model + ["--start", "files", "--points", point, "--method", "gauss-newton-mr",
                                                                                                  "--curvature", "lanczos", "--iterations", "1", "--out", lanczos, "--quiet"])
            try #require(again.status == 0, "\(again.stderr)")
            let row = try #require(try Paths.rows(lanczos + "/critical.csv").first)
            #expect(row["curvature"] == "lanczos" && row["index_exact"] == "true" && row["negative"] == r["negative"], "start \(start): \(row) vs \(r)")
        }
    }

    /// The same critical points on 1–4 ranks and every group size: energies to 1e-10, the same
    /// indices, the points to 1e-8 (Newton's last step amplifies the sums' rounding by H's conditioning).
    @Test func theCriticalPointsAreTheSameOnOneToFourRanksAndAnyGroupSize() throws {
        let f = try Self.fixture("critical-ranks")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let args = ["critical"] + f.model + ["--starts", "4", "--scales", "0.5,1", "--quiet"]
        let reference = f.path("r1")
        let one = try MPITestSupport.run(np: 1, args + ["--out", reference], timeout: 120)
        try #require(one.status == 0, "\(one.stderr)")
        let expected = try Paths.rows(reference + "/critical.csv")
        for (np, group) in [(2, 1), (2, 2), (3, 1), (4, 2)] {
            let out = f.path("r\(np)-\(group)")
            let run = try MPITestSupport.run(np: np, args + ["--group-size", "\(group)", "--out", out], timeout: 180)
            try #require(run.status == 0, "np \(np) group \(group): \(run.stderr)")
            let rows = try Paths.rows(out + "/critical.csv")
            try #require(rows.count == expected.count)
            for (r, e) in zip(rows, expected) {
                #expect(r["converged"] == e["converged"] && r["negative"] == e["negative"], "np \(np) group \(group) start \(e["start"]!): \(r) vs \(e)")
                let a = Double(r["loss"]!)!, b = Double(e["loss"]!)!
                #expect(abs(a - b) <= 1e-10 * abs(b), "np \(np) group \(group) start \(e["start"]!): ε \(a) vs \(b)")
                let p = try NPYArray(contentsOf: out + "/points/\(e["start"]!).npy").values
                let q = try NPYArray(contentsOf: reference + "/points/\(e["start"]!).npy").values
                #expect(MPITestSupport.maxRelativeDifference(p, q) < 1e-8, "np \(np) group \(group) start \(e["start"]!)")
            }
        }
    }

    /// SIGUSR1 between rounds: the finished starts are checkpointed, exit 3; --resume finishes the
    /// others and gives the uninterrupted run's critical.csv (the seconds aside) and points.
    @Test func aSignalCheckpointsTheFinishedStartsAndResumeGivesTheUninterruptedRun() throws {
        let f = try Self.fixture("critical-signal")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        // tanh: the searches take their whole budget, so the run lasts long enough to be signalled.
        let args = ["critical", "--data", "npy", "--x", f.path("X.npy"), "--y", f.path("Y.npy"), "--layers", "6", "--activation", "tanh",
                    "--loss", "mse", "--starts", "12", "--scales", "1,2", "--iterations", "60", "--group-size", "1"]
        let out = f.path("out"), reference = f.path("reference"), log = f.directory.appendingPathComponent("log")
        let process = try MPITestSupport.start(np: 2, args + ["--out", out], log: log)
        func text() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        #expect(MPITestSupport.wait(timeout: 120) { text().contains("critical: start") || !process.isRunning }, "never started: \(text())")
        MPITestSupport.signalRanks(of: process, SIGUSR1)
        try #require(process.terminationStatus == 3, "status \(process.terminationStatus): \(text())")
        #expect(FileManager.default.fileExists(atPath: out + "/checkpoint/critical.json"))
        #expect(!FileManager.default.fileExists(atPath: out + "/summary.json"))
        let resumed = try MPITestSupport.run(np: 2, args + ["--out", out, "--resume", "--quiet"], timeout: 300)
        try #require(resumed.status == 0, "\(resumed.stderr)")
        let whole = try MPITestSupport.run(np: 2, args + ["--out", reference, "--quiet"], timeout: 300)
        try #require(whole.status == 0, "\(whole.stderr)")
        func withoutSeconds(_ rows: [[String: String]]) -> [[String: String]] { rows.map { $0.filter { $0.key != "seconds" } } }
        #expect(withoutSeconds(try Paths.rows(out + "/critical.csv")) == withoutSeconds(try Paths.rows(reference + "/critical.csv")))
        for k in 0..<12 {
            #expect(try NPYArray(contentsOf: out + "/points/\(k).npy").values == NPYArray(contentsOf: reference + "/points/\(k).npy").values, "start \(k)")
        }
        #expect(!FileManager.default.fileExists(atPath: out + "/checkpoint"))
    }

    /// The closed-form energies of the full-rank critical points (|I| = h) by index: Baldi & Hornik's
    /// saddle with subset I has one negative direction per pair (i ∈ I, j ∉ I) with μⱼ > μᵢ, so
    /// index k's energy is that of the subsets with k such pairs (one subset per k for k = 3, h = 2).
    static func energiesByIndex(_ f: Fixture) throws -> [Int: Double] {
        let script = """
            import itertools, json, sys
            import numpy as np
            x, y = np.load(sys.argv[1]), np.load(sys.argv[2])
            xc, yc = x - x.mean(0), y - y.mean(0)
            s = yc.T @ xc @ np.linalg.solve(xc.T @ xc, xc.T @ yc)
            mu = np.linalg.eigvalsh(s)[::-1]
            n, k, h = y.shape[0], y.shape[1], int(sys.argv[3])
            total = (yc ** 2).sum()
            out = {}
            for I in itertools.combinations(range(k), h):
                pairs = sum(1 for i in I for j in range(k) if j not in I and mu[j] > mu[i])
                out[str(pairs)] = (total - mu[list(I)].sum()) / (2 * n * k)
            print(json.dumps(out))
            """
        let run = try MPITestSupport.execute(["python3", "-c", script, f.path("X.npy"), f.path("Y.npy"), "\(hidden)"], timeout: 60)
        try #require(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Double])
        return Dictionary(uniqueKeysWithValues: object.map { (Int($0.key)!, $0.value) })
    }

    /// Ground truth (GEOMETRY.md §6b): eigenvector-following aimed at each index k of the linear
    /// network's full-rank critical points, with the affine symmetries GL(2) ⋉ R² deflated, certifies
    /// points of exactly index k at the closed-form energy — quadratically (order ≥ 1.5 measured),
    /// ‖∇L‖ ≤ 1e-10, six symmetry modes and no other zero eigenvalue. Without the deflation the same
    /// searches cannot be certified (the symmetry directions are zero eigenvalues the certificate does
    /// not explain).
    @Test func eigenvectorFollowingCertifiesTheLinearNetworksCriticalPointsOfEachIndex() throws {
        let f = try Self.fixture("critical-ef")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let energies = try Self.energiesByIndex(f)
        try #require(energies.keys.sorted() == [0, 1, 2])
        for k in 0...2 {
            let out = f.path("k\(k)")
            let run = try MPITestSupport.run(np: 2, ["critical"] + f.model + ["--method", "eigenvector-following", "--index", "\(k)", "--project-symmetries",
                                                                               "--starts", "3", "--tolerance", "1e-13", "--group-size", "1", "--out", out, "--quiet"], timeout: 300)
            try #require(run.status == 0, "\(run.stderr)")
            let rows = try Paths.rows(out + "/critical.csv")
            let certified = rows.filter { $0["certified"] == "true" }
            #expect(certified.count >= 2, "index \(k): \(certified.count) of 3 certified: \(rows.map { ($0["class"]!, $0["failures"]!) })")
            for r in certified {
                let ε = Double(r["loss"]!)!
                #expect(r["class"] == "certified" && Int(r["negative"]!) == k && r["target_index"] == "\(k)", "index \(k): \(r)")
                #expect(abs(ε - energies[k]!) <= 1e-9 * energies[k]!, "index \(k): ε = \(ε) vs the closed form \(energies[k]!)")
                #expect(Double(r["gradient_norm"]!)! <= 1e-10 && Double(r["convergence_order"]!)! >= 1.5 && r["symmetry_modes"] == "6", "index \(k): \(r)")
            }
        }
        let plain = f.path("no-deflation")
        let run = try MPITestSupport.run(np: 2, ["critical"] + f.model + ["--method", "eigenvector-following", "--index", "1", "--starts", "2",
                                                                           "--tolerance", "1e-13", "--group-size", "1", "--out", plain, "--quiet"], timeout: 300)
        try #require(run.status == 0, "\(run.stderr)")
        for r in try Paths.rows(plain + "/critical.csv") {
            #expect(r["certified"] == "false" && r["symmetry_modes"] == "0", "without deflation: \(r)")
        }
        // The same certified points on 1–4 ranks and group sizes: ε to 1e-10, the index, the point to 1e-8.
        let args = ["critical"] + f.model + ["--method", "eigenvector-following", "--index", "1", "--project-symmetries", "--starts", "2", "--tolerance", "1e-13", "--quiet"]
        let reference = f.path("ranks-1")
        let one = try MPITestSupport.run(np: 1, args + ["--out", reference], timeout: 300)
        try #require(one.status == 0, "\(one.stderr)")
        let expected = try Paths.rows(reference + "/critical.csv")
        for (np, group) in [(2, 2), (3, 1), (4, 2)] {
            let out = f.path("ranks-\(np)-\(group)")
            let again = try MPITestSupport.run(np: np, args + ["--group-size", "\(group)", "--out", out], timeout: 300)
            try #require(again.status == 0, "np \(np): \(again.stderr)")
            let rows = try Paths.rows(out + "/critical.csv")
            try #require(rows.count == expected.count && expected.contains { $0["certified"] == "true" })
            for (r, e) in zip(rows, expected) {
                #expect(r["certified"] == e["certified"] && r["negative"] == e["negative"], "np \(np) group \(group): \(r) vs \(e)")
                #expect(abs(Double(r["loss"]!)! - Double(e["loss"]!)!) <= 1e-10 * Double(e["loss"]!)!, "np \(np) group \(group)")
                let p = try NPYArray(contentsOf: out + "/points/\(e["start"]!).npy").values
                let q = try NPYArray(contentsOf: reference + "/points/\(e["start"]!).npy").values
                #expect(MPITestSupport.maxRelativeDifference(p, q) < 1e-8, "np \(np) group \(group) start \(e["start"]!)")
            }
        }
    }

    /// `train --weight-decay λ` descends the energy `critical --l2 λ` certifies: its last energy
    /// (train.csv) is critical's start energy at params.npy, and index-0 eigenvector-following from
    /// there (O(2) deflated: the only symmetry the L2 term leaves a linear network) certifies a
    /// minimum near it. `--start trajectory-loss` takes the states of the same training whose
    /// energies lie nearest evenly spaced levels: recomputed here from train.csv.
    @Test func weightDecayTrainsTheEnergyAndTrajectoryLossStartsAreEvenlySpaced() throws {
        let f = try Self.fixture("critical-decay")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let training = ["--weight-decay", "0.05", "--learning-rate", "0.05", "--steps", "400"]
        let trained = f.path("train")
        let run = try MPITestSupport.run(np: 2, ["train"] + f.model + training + ["--record-every", "10", "--out", trained, "--quiet"], timeout: 120)
        let long = f.path("train-long")
        let longRun = try MPITestSupport.run(np: 2, ["train"] + f.model + training + ["--steps", "4000", "--out", long, "--quiet"], timeout: 120)
        try #require(run.status == 0 && longRun.status == 0, "\(run.stderr)\(longRun.stderr)")
        let curve = try Paths.rows(long + "/train.csv")
        let out = f.path("polish")
        let polish = try MPITestSupport.run(np: 2, ["critical"] + f.model + ["--l2", "0.05", "--method", "eigenvector-following", "--index", "0",
                                                                              "--project-symmetries", "--start", "files", "--points", long + "/params.npy",
                                                                              "--tolerance", "1e-14", "--out", out, "--quiet"], timeout: 120)
        try #require(polish.status == 0, "\(polish.stderr)")
        let end = try #require(try Paths.rows(out + "/critical.csv").first)
        let last = Double(curve.last!["loss"]!)!
        #expect(abs(Double(end["start_loss"]!)! - last) <= 1e-12 * last, "train.csv's energy \(last) vs critical's \(end["start_loss"]!)")
        #expect(end["certified"] == "true" && end["negative"] == "0" && end["symmetry_modes"] == "1", "\(end)")
        let moved = MPITestSupport.maxRelativeDifference(try NPYArray(contentsOf: out + "/points/0.npy").values,
                                                         try NPYArray(contentsOf: long + "/params.npy").values)
        #expect(moved < 1e-2, "the trained point is \(moved) from the certified minimum")

        let spaced = f.path("spaced")
        let trajectory = try Paths.rows(trained + "/train.csv")
        let starts = try MPITestSupport.run(np: 2, ["critical"] + f.model + training + ["--l2", "0.05", "--start", "trajectory-loss", "--starts", "5", "--trajectory-every", "10",
                                                                                        "--iterations", "1", "--out", spaced, "--quiet"], timeout: 120)
        try #require(starts.status == 0, "\(starts.stderr)")
        // The selection by hand: levels from the first energy to the lowest, each the nearest untaken state.
        let energies = trajectory.map { (Int($0["step"]!)!, Double($0["loss"]!)!) }.filter { $0.0 % 10 == 0 }
        let (first, lowest) = (energies[0].1, energies.map(\.1).min()!)
        var taken: [Int] = []
        for j in 0..<5 {
            let level = first - Double(j) * (first - lowest) / 4
            let pick = energies.filter { !taken.contains($0.0) }.min { abs($0.1 - level) < abs($1.1 - level) }!
            taken.append(pick.0)
        }
        let rows = try Paths.rows(spaced + "/critical.csv")
        #expect(rows.map { $0["origin"]!.split(separator: " ")[2] }.map { Int($0)! } == taken.sorted(), "\(rows.map { $0["origin"]! }) vs steps \(taken.sorted())")
        for r in rows {
            let step = Int(r["origin"]!.split(separator: " ")[2])!
            let e = energies.first { $0.0 == step }!.1
            #expect(abs(Double(r["start_loss"]!)! - e) <= 1e-12 * e, "step \(step): \(r["start_loss"]!) vs train.csv \(e)")
        }
    }

    /// Min-mode following (matrix-free: the lowest mode by Lanczos on Hessian–vector products) aimed
    /// at index 1 with the exact polish (`--polish 1e-4`: eigenvector-following steps, symmetries
    /// deflated, once ‖∇L‖ fell by 10⁴) certifies the linear network's index-1 saddle at its
    /// closed-form energy, after taking min-mode steps first; and 1 and 2 ranks agree (ε to 1e-10).
    @Test func minModeFollowingWithThePolishCertifiesTheIndexOneSaddle() throws {
        let f = try Self.fixture("critical-minmode")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let energy = try #require(try Self.energiesByIndex(f)[1])
        let args = ["critical"] + f.model + ["--method", "min-mode-following", "--index", "1", "--project-symmetries", "--polish", "1e-4",
                                             "--starts", "3", "--tolerance", "1e-13", "--quiet"]
        var byRanks: [[[String: String]]] = []
        for np in [1, 2] {
            let out = f.path("ranks-\(np)")
            let run = try MPITestSupport.run(np: np, args + ["--out", out], timeout: 300)
            try #require(run.status == 0, "np \(np): \(run.stderr)")
            let rows = try Paths.rows(out + "/critical.csv")
            let certified = rows.filter { $0["certified"] == "true" }
            #expect(certified.count >= 1, "np \(np): \(rows.map { ($0["class"]!, $0["failures"]!) })")
            for r in certified {
                #expect(Int(r["negative"]!) == 1 && r["target_index"] == "1" && r["symmetry_modes"] == "6", "np \(np): \(r)")
                #expect(abs(Double(r["loss"]!)! - energy) <= 1e-9 * energy, "np \(np): ε = \(r["loss"]!) vs the closed form \(energy)")
            }
            let directions = try Paths.rows(out + "/trace.csv").map { $0["direction"]! }
            #expect(directions.contains("min-mode") && directions.first == "min-mode", "np \(np): \(Set(directions))")
            byRanks.append(rows)
        }
        for (a, b) in zip(byRanks[0], byRanks[1]) where a["certified"] == "true" || b["certified"] == "true" {
            #expect(a["certified"] == b["certified"] && a["negative"] == b["negative"], "1 vs 2 ranks: \(a) vs \(b)")
            #expect(abs(Double(a["loss"]!)! - Double(b["loss"]!)!) <= 1e-10 * Double(a["loss"]!)!, "1 vs 2 ranks: \(a["loss"]!) vs \(b["loss"]!)")
        }
    }

    /// One line, exit 2, nothing written.
    @Test func badInputIsRefusedWithOneLineAndNothingWritten() throws {
        let f = try Self.fixture("critical-bad")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let cases: [([String], String)] = [
            (["--tolerance", "0"], "--tolerance"),
            (["--starts", "0"], "--starts"),
            (["--method", "newton", "--memory-per-rank", "1M"], "--method gauss-newton-mr"),
            (["--loss", "cross-entropy", "--data", "clusters", "--classes", "3"], "model.loss = \"mse\""),
            (["--start", "files"], "--points"),
            (["--scales", "1,-2"], "--scales"),
            (["--method", "eigenvector-following", "--index", "-1"], "--index = -1"),
            (["--method", "eigenvector-following", "--index", "\(Self.parameterCount)"], "at most \(Self.parameterCount - 1)"),
            (["--index", "1"], "--method eigenvector-following or min-mode-following"),
            (["--method", "min-mode-following", "--index", "\(Self.parameterCount)"], "at most \(Self.parameterCount - 1)"),
            (["--polish", "1e-4"], "--polish applies to --method min-mode-following"),
            (["--method", "min-mode-following", "--polish", "0"], "--polish = 0"),
            (["--method", "min-mode-following", "--polish", "1e-4", "--memory-per-rank", "1M"], "--polish assembles H"),
            (["--l2", "-0.1"], "--l2 = -0.1"),
            (["--activation", "tanh", "--project-symmetries"], "no continuous symmetry"),
            (["--activation", "relu", "--l2", "0.01", "--project-symmetries"], "the L2 term breaks rescaling"),
        ]
        for (extra, phrase) in cases {
            let out = f.path("out")
            let run = try MPITestSupport.run(np: 2, ["critical"] + f.model + extra + ["--out", out])
            #expect(run.status == 2, "\(extra): status \(run.status) \(run.stderr)")
            #expect(run.stderr.contains(phrase), "\(extra): \(run.stderr)")
            #expect(run.stderr.split(separator: "\n").filter { $0.hasPrefix("error") || $0.hasPrefix("Error") }.count == 1, "\(extra): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(extra) wrote \(out)")
        }
    }
}
}
