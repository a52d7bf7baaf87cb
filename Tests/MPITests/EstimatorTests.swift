import Foundation
import NPY
import Testing

/// `landscape top`, `density` and `trace` from the command line: against the exact spectrum of
/// `landscape spectrum` on the same model, data and point; the same numbers on 1–4 ranks; every
/// bad input refused with one line and nothing written; a signal checkpoints and --resume continues.
extension MPIJobs {
@Suite struct Estimators {
    /// A tanh MLP on clusters, M = 20·12 + 12·9 + 9·4 + 25 = 409… small enough for LAPACK, smooth.
    static let model = ["--data", "clusters", "--samples", "60", "--classes", "4", "--dimension", "20", "--layers", "12,9",
                        "--activation", "tanh", "--seed", "3", "--at", "init", "--quiet"]

    static func summary(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    @Test func estimatesMatchTheExactSpectrumOnEveryRankCount() throws {
        let directory = try MPITestSupport.temporaryDirectory("estimators")
        defer { try? FileManager.default.removeItem(at: directory) }
        let exact = directory.appendingPathComponent("exact").path
        let spectrum = try MPITestSupport.run(np: 2, ["spectrum"] + Self.model + ["--ggn", "--out", exact])
        try #require(spectrum.status == 0, "\(spectrum.stderr)")
        let h = try NPYArray(contentsOf: exact + "/eigenvalues.npy").values.sorted()
        let g = try NPYArray(contentsOf: exact + "/ggn_eigenvalues.npy").values.sorted()
        let norm = max(abs(h.first!), abs(h.last!))
        var first: (top: [Double], nodes: [Double], trace: Double)? = nil
        for np in 1...4 {
            let top = directory.appendingPathComponent("top\(np)").path
            let run = try MPITestSupport.run(np: np, ["top"] + Self.model + ["--k", "4", "--which", "both", "--tolerance", "1e-11",
                                                                              "--compare", exact + "/eigenvalues.npy", "--out", top])
            try #require(run.status == 0, "np \(np): \(run.stderr)")
            let θ = try NPYArray(contentsOf: top + "/eigenvalues.npy").values
            let reference = [h[h.count - 1], h[h.count - 2], h[h.count - 3], h[h.count - 4], h[0], h[1], h[2], h[3]]
            #expect(zip(θ, reference).allSatisfy { abs($0 - $1) <= 1e-10 * norm }, "np \(np): \(θ) vs \(reference)")
            let s = try Self.summary(top)
            #expect((s["converged"] as? [Bool])?.allSatisfy { $0 } == true)
            #expect(((s["comparison"] as? [String: Any])?["maxRelativeError"] as? Double ?? 1) < 1e-9)
            let vectors = try NPYArray(contentsOf: top + "/eigenvectors.npy")
            #expect(vectors.shape == [h.count, 8])

            let density = directory.appendingPathComponent("density\(np)").path
            let d = try MPITestSupport.run(np: np, ["density"] + Self.model + ["--probes", "4", "--lanczos-steps", "20",
                                                                               "--compare", exact + "/eigenvalues.npy", "--out", density])
            try #require(d.status == 0, "np \(np): \(d.stderr)")
            let nodes = try NPYArray(contentsOf: density + "/quadrature_nodes.npy").values
            let weights = try NPYArray(contentsOf: density + "/quadrature_weights.npy").values
            #expect(abs(weights.reduce(0, +) - 1) < 1e-12)
            // Against the exact spectrum: 4 probes × 20 steps put the measure within a few % of it.
            let w1 = (try Self.summary(density)["comparison"] as? [String: Any])?["wasserstein"] as? Double ?? 1
            #expect(w1 < 0.05, "np \(np): W1/(λmax − λmin) = \(w1)")
            // The quadrature's support lies inside the spectrum (Ritz values interlace).
            #expect(nodes.allSatisfy { $0 >= h.first! - 1e-10 * norm && $0 <= h.last! + 1e-10 * norm })

            let trace = directory.appendingPathComponent("trace\(np)").path
            let t = try MPITestSupport.run(np: np, ["trace"] + Self.model + ["--operator", "gauss-newton", "--method", "hutch++", "--max-matvecs", "60",
                                                                             "--tolerance", "0", "--compare", exact + "/ggn_eigenvalues.npy", "--out", trace])
            try #require(t.status == 0, "np \(np): \(t.stderr)")
            let estimate = try Self.summary(trace)["estimate"] as? Double ?? .nan
            #expect(abs(estimate - g.reduce(0, +)) / g.reduce(0, +) < 0.2, "hutch++ far from tr G: \(estimate)")
            if let first {
                #expect(MPITestSupport.maxRelativeDifference(θ, first.top) < 1e-10, "top differs on \(np) ranks")
                #expect(MPITestSupport.maxRelativeDifference(nodes, first.nodes) < 1e-10, "density differs on \(np) ranks")
                #expect(abs(estimate - first.trace) / abs(first.trace) < 1e-10, "trace differs on \(np) ranks")
            } else {
                first = (θ, nodes, estimate)
            }
        }
        // Groups of ranks run probes in parallel: the same quadrature as one group.
        let grouped = directory.appendingPathComponent("grouped").path
        let run = try MPITestSupport.run(np: 4, ["density"] + Self.model + ["--probes", "4", "--lanczos-steps", "20", "--group-size", "2", "--out", grouped])
        try #require(run.status == 0, "\(run.stderr)")
        let nodes = try NPYArray(contentsOf: grouped + "/quadrature_nodes.npy").values
        #expect(MPITestSupport.maxRelativeDifference(nodes, first!.nodes) < 1e-10)
    }

    @Test(arguments: [
        (["top", "--k", "0"], "--k = 0 must be ≥ 1"),
        (["top", "--k", "5000"], "k must be < M"),
        (["top", "--operator", "hessain"], "'hessain' is not one of hessian, gauss-newton, residual"),
        (["top", "--basis", "3"], "a thick restart needs at least"),
        (["top", "--memory-per-rank", "20M"], "not enough memory"),
        (["density", "--lanczos-steps", "1"], "must be ≥ 2"),
        (["density", "--probes", "0"], "--probes = 0 must be ≥ 1"),
        (["density", "--group-size", "3"], "must divide the number of ranks"),
        (["density", "--memory-per-rank", "20M"], "not enough memory"),
        (["trace", "--power", "3"], "--power = 3 must be 1"),
        (["trace", "--method", "hutch"], "'hutch' is not one of hutchinson, hutch++"),
        (["trace", "--compare", "/nonexistent/eigenvalues.npy"], "no such file"),
    ])
    func badInputIsRefused(arguments: [String], message: String) throws {
        let directory = try MPITestSupport.temporaryDirectory("estimator-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, arguments + Self.model + ["--out", out])
        #expect(run.status == 2, "\(arguments): status \(run.status)\n\(run.stderr)")
        let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1 && errors[0].contains(message), "\(arguments): \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out), "\(arguments) wrote \(out)")
    }

    @Test func aCompareFileOfTheWrongLengthIsRefused() throws {
        let directory = try MPITestSupport.temporaryDirectory("estimator-compare")
        defer { try? FileManager.default.removeItem(at: directory) }
        let wrong = directory.appendingPathComponent("short.npy").path
        try NPYArray(shape: [7], values: [1, 2, 3, 4, 5, 6, 7]).write(to: wrong)
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["top"] + Self.model + ["--compare", wrong, "--out", out])
        #expect(run.status == 2 && run.stderr.contains("holds 7 values") && run.stderr.contains("409 × 409"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// SIGUSR1 during `trace`: its samples are saved (exit 3) and --resume ends with exactly the
    /// estimate of an uninterrupted run.
    @Test func aSignalCheckpointsAndResumeContinues() throws {
        let directory = try MPITestSupport.temporaryDirectory("estimator-signal")
        defer { try? FileManager.default.removeItem(at: directory) }
        // N = 2000: each product takes milliseconds, so the run is still going when the signal comes.
        let model = Self.model.filter { $0 != "--quiet" }.map { $0 == "60" ? "2000" : $0 }
        let args = ["trace"] + model + ["--tolerance", "0", "--max-matvecs", "6000", "--block-size", "4"]
        let out = directory.appendingPathComponent("out").path, reference = directory.appendingPathComponent("reference").path
        _ = try SignalledSpectra.interrupt(args + ["--out", out], in: directory) { $0.contains("trace: 4 matvecs") }
        #expect(FileManager.default.fileExists(atPath: out + "/checkpoint/trace.json"))
        #expect(!FileManager.default.fileExists(atPath: out + "/summary.json"))
        let resumed = try MPITestSupport.run(np: 2, args + ["--out", out, "--resume"], timeout: 300)
        try #require(resumed.status == 0, "\(resumed.stderr)")
        let whole = try MPITestSupport.run(np: 2, args + ["--out", reference], timeout: 300)
        try #require(whole.status == 0, "\(whole.stderr)")
        let a = try Self.summary(out), b = try Self.summary(reference)
        #expect(a["estimate"] as? Double == b["estimate"] as? Double && a["matvecs"] as? Int == 6000)
        #expect(!FileManager.default.fileExists(atPath: out + "/checkpoint"))
    }

    /// SIGUSR1 during `density` on 2 ranks in groups of one: its finished probes are saved (exit 3),
    /// and --resume in one group of two ranks — another grouping, which changes no probe beyond
    /// rounding — keeps them and ends at the quadrature of an uninterrupted run: the nodes to
    /// 1e-10, and the measure's moments Σ wᵢλᵢᵖ (p ≤ 5) to 1e-10. Not the weights one by one: the
    /// nodes of all probes are stored sorted, and where two are nearly equal rounding can swap them
    /// and the weights they carry (2 % measured between 1 and 2 ranks, uninterrupted), while the
    /// moments stay put.
    @Test func aStoppedDensityResumesInAnotherGrouping() throws {
        let directory = try MPITestSupport.temporaryDirectory("density-signal")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = Self.model.filter { $0 != "--quiet" }.map { $0 == "60" ? "2000" : $0 }
        let args = ["density"] + model + ["--probes", "400", "--lanczos-steps", "30", "--block-size", "1"]
        let out = directory.appendingPathComponent("out").path, reference = directory.appendingPathComponent("reference").path
        _ = try SignalledSpectra.interrupt(args + ["--group-size", "1", "--out", out], in: directory) { $0.contains("probes, ETA") }
        #expect(FileManager.default.fileExists(atPath: out + "/checkpoint"))
        let resumed = try MPITestSupport.run(np: 2, args + ["--group-size", "2", "--out", out, "--resume"], timeout: 300)
        try #require(resumed.status == 0, "\(resumed.stderr)")
        #expect((resumed.stdout + resumed.stderr).contains("resuming with"), "\(resumed.stdout)")
        let whole = try MPITestSupport.run(np: 2, args + ["--out", reference], timeout: 300)
        try #require(whole.status == 0, "\(whole.stderr)")
        func quadrature(_ directory: String) throws -> (nodes: [Double], moments: [Double]) {
            let nodes = try NPYArray(contentsOf: directory + "/quadrature_nodes.npy").values
            let weights = try NPYArray(contentsOf: directory + "/quadrature_weights.npy").values
            return (nodes, (0...5).map { p in nodes.indices.reduce(0.0) { $0 + weights[$1] * Foundation.pow(nodes[$1], Double(p)) } })
        }
        let a = try quadrature(out), b = try quadrature(reference)
        #expect(MPITestSupport.maxRelativeDifference(a.nodes, b.nodes) < 1e-10)
        #expect(MPITestSupport.maxRelativeDifference(a.moments, b.moments) < 1e-10)
    }

    /// SIGUSR1 during `top` on 2 ranks, whose Lanczos basis is sharded by rows: the checkpoint
    /// holds whole vectors (gathered), --resume on 2 ranks ends with exactly the eigenvalues of an
    /// uninterrupted run, and the same checkpoint resumed on 3 ranks (other rows per rank) with
    /// the same eigenvalues up to rounding.
    @Test func aStoppedTopResumesOnTwoAndOnThreeRanks() throws {
        let directory = try MPITestSupport.temporaryDirectory("top-signal")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = Self.model.filter { $0 != "--quiet" }.map { $0 == "60" ? "2000" : $0 }
        // A tolerance below rounding: the run uses its whole budget, so both runs stop at the same matvec.
        let args = ["top"] + model + ["--k", "3", "--which", "both", "--tolerance", "1e-16", "--max-matvecs", "1500", "--block-size", "2", "--basis", "16"]
        let out = directory.appendingPathComponent("out").path, reference = directory.appendingPathComponent("reference").path
        let three = directory.appendingPathComponent("three").path
        _ = try SignalledSpectra.interrupt(args + ["--out", out], in: directory) { $0.contains("matvecs (") }
        let basis = try NPYArray(contentsOf: out + "/checkpoint/basis.npy")
        #expect(basis.shape.count == 2 && basis.shape[1] == 409, "\(basis.shape)")
        try FileManager.default.copyItem(atPath: out, toPath: three)
        let resumed = try MPITestSupport.run(np: 2, args + ["--out", out, "--resume"], timeout: 300)
        try #require(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("resuming") || resumed.stderr.contains("resuming"), "\(resumed.stdout)")
        let other = try MPITestSupport.run(np: 3, args + ["--out", three, "--resume"], timeout: 300)
        try #require(other.status == 0, "\(other.stderr)")
        let whole = try MPITestSupport.run(np: 2, args + ["--out", reference], timeout: 300)
        try #require(whole.status == 0, "\(whole.stderr)")
        let a = try NPYArray(contentsOf: out + "/eigenvalues.npy").values, b = try NPYArray(contentsOf: reference + "/eigenvalues.npy").values
        let c = try NPYArray(contentsOf: three + "/eigenvalues.npy").values
        #expect(a == b, "resumed \(a) vs uninterrupted \(b)")
        let norm = b.map(abs).max()!
        #expect(zip(c, b).allSatisfy { abs($0 - $1) <= 1e-10 * norm }, "3 ranks \(c) vs \(b)")
        #expect(try Self.summary(out)["matvecs"] as? Int == Self.summary(reference)["matvecs"] as? Int)
    }
}
}
