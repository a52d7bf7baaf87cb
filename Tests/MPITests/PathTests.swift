import Foundation
import NPY
import Testing

/// `landscape path` from the command line, on a teacher–student problem whose minima are known
/// exactly: the data are labelled by a tanh network 2-2-1 (the teacher), so the teacher is a
/// minimum with L = 0 and ∇L = 0, and so are its copies with the two hidden units swapped or a
/// unit's signs flipped (the same function). NEB lowers the straight line's barrier between them,
/// the climbing image converges to an index-1 saddle that `landscape evaluate` and `landscape
/// spectrum` confirm, the reported losses equal `landscape evaluate` at every pivot, the band is the
/// same on 1–4 ranks and any group size, SIGUSR1 + --resume gives the uninterrupted band, and bad
/// input is refused.
extension MPIJobs {
@Suite struct Paths {
    struct Fixture {
        let directory: URL
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        var a: String { path("A.npy") }
        var b: String { path("B.npy") }
        var c: String { path("C.npy") }
        var model: [String] {
            ["--data", "npy", "--x", path("X.npy"), "--y", path("y.npy"), "--layers", "2", "--activation", "tanh", "--loss", "mse"]
        }

        /// `study connectivity`'s --config on these data: GD with momentum to the minima for `steps`,
        /// then the `[study]` table's lines.
        func connectivityStudy(steps: Int = 1000, study: String, band: String) -> String {
            """
            [data]
            kind = "npy"
            x = "\(path("X.npy"))"
            y = "\(path("y.npy"))"
            [model]
            layers = [2]
            activation = "tanh"
            loss = "mse"
            init = "glorot-normal"
            [train]
            learning-rate = 0.1
            momentum = 0.9
            steps = \(steps)
            [study]
            \(study)
            [path]
            \(band)

            """
        }
    }

    static let parameterCount = 2 * 2 + 2 + 2 + 1

    /// Data X (N × 2, seeded standard normal) labelled by the teacher; A = the teacher, B = its hidden units
    /// swapped, C = its first unit's signs flipped (tanh is odd).
    static func fixture(_ tag: String, samples: Int = 40) throws -> Fixture {
        let f = Fixture(directory: try MPITestSupport.temporaryDirectory(tag))
        var state: UInt64 = 0x51ed_2701
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) * 0x1p-53
        }
        // Standard normal inputs (Box–Muller).
        func next() -> Double {
            let r = (-2 * Foundation.log(uniform())).squareRoot()
            return r * Foundation.cos(2 * Double.pi * uniform())
        }
        let w1 = [[1.0, 0.5], [-0.7, 1.2]], b1 = [0.1, -0.2], w2 = [1.0, -0.8], b2 = 0.05
        var x: [Double] = [], y: [Double] = []
        for _ in 0..<samples {
            let p = [next(), next()]
            x += p
            y.append((0..<2).map { u in w2[u] * Foundation.tanh(w1[u][0] * p[0] + w1[u][1] * p[1] + b1[u]) }.reduce(b2, +))
        }
        try NPYArray(shape: [samples, 2], values: x).write(to: f.path("X.npy"))
        try NPYArray(shape: [samples, 1], values: y).write(to: f.path("y.npy"))
        func θ(_ units: [Int], sign: [Double]) -> [Double] {
            var θ: [Double] = []
            for k in units.indices { θ += w1[units[k]].map { sign[k] * $0 } }
            for k in units.indices { θ.append(sign[k] * b1[units[k]]) }
            for k in units.indices { θ.append(sign[k] * w2[units[k]]) }
            return θ + [b2]
        }
        try NPYArray(shape: [parameterCount], values: θ([0, 1], sign: [1, 1])).write(to: f.a)
        try NPYArray(shape: [parameterCount], values: θ([1, 0], sign: [1, 1])).write(to: f.b)
        try NPYArray(shape: [parameterCount], values: θ([0, 1], sign: [-1, 1])).write(to: f.c)
        return f
    }

    static func summary(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// A number of summary.json exactly as written (JSONSerialization may round the last digit).
    static func number(_ directory: String, _ key: String, indent: Int = 2) throws -> Double? {
        let text = try String(contentsOfFile: directory + "/summary.json", encoding: .utf8)
        guard let range = text.range(of: "\n" + String(repeating: " ", count: indent) + "\"\(key)\" : ") else { return nil }
        return Double(text[range.upperBound...].prefix { !",\n".contains($0) })
    }

    static func rows(_ path: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return lines.dropFirst().map { line in
            Dictionary(uniqueKeysWithValues: zip(header, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
        }
    }

    /// The permuted minima have equal loss (0) and a clear barrier on the straight line between
    /// them; NEB converges (every |F⊥| below tolerance) to a path far below it, and the loss it
    /// reports at every pivot is `landscape evaluate`'s at that pivot, to the last bit.
    @Test func nebLowersTheBarrierBetweenPermutedMinimaAndEveryPivotEqualsEvaluate() throws {
        let f = try Self.fixture("path-neb")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let out = f.path("neb")
        let run = try MPITestSupport.run(np: 2, ["path"] + f.model + ["--from", f.a, "--to", f.b, "--method", "neb", "--pivots", "5",
                                                                       "--tolerance", "1e-3", "--iterations", "20000", "--out", out, "--quiet"], timeout: 300)
        try #require(run.status == 0, "\(run.stderr)")
        let s = try Self.summary(out)
        #expect(s["reason"] as? String == "target-gradient-norm")
        #expect(s["converged"] as? Bool == true)
        let barrier = try #require(s["barrier"] as? Double), straight = try #require(s["straightLineBarrier"] as? Double)
        #expect(straight > 0.3, "the straight line between permuted minima has a barrier: \(straight)")
        #expect(barrier < 0.5 * straight, "NEB barrier \(barrier) vs straight line \(straight)")
        let pivots = try NPYArray(contentsOf: out + "/pivots.npy")
        #expect(pivots.shape == [7, Self.parameterCount])
        // Both ends are A and B bit for bit, and every pivot's loss is evaluate's.
        #expect(Array(pivots.values[0..<Self.parameterCount]) == (try NPYArray(contentsOf: f.a).values))
        let profile = try Self.rows(out + "/profile.csv").filter { $0["kind"] == "pivot" }
        #expect(profile.count == 7)
        for p in 0..<7 {
            let file = f.path("pivot-\(p).npy")
            try NPYArray(shape: [Self.parameterCount], values: Array(pivots.values[(p * Self.parameterCount)..<((p + 1) * Self.parameterCount)])).write(to: file)
            let e = try MPITestSupport.run(np: 2, ["evaluate"] + f.model + ["--params", file, "--out", f.path("evaluate-\(p)")])
            try #require(e.status == 0, "\(e.stderr)")
            let loss = try #require(try Self.number(f.path("evaluate-\(p)"), "loss"))
            #expect(Double(profile[p]["train_loss"]!) == loss, "pivot \(p): \(profile[p]["train_loss"]!) vs evaluate \(loss)")
        }
        for file in ["profile.csv", "convergence.csv", "convergence.svg", "path.svg", "curvature.csv", "highest.npy", "config.toml"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file)")
        }
        #expect(!FileManager.default.fileExists(atPath: out + "/checkpoint"))
    }

    /// With the climbing image the highest pivot converges to a critical point: its ‖∇L‖ (reported,
    /// and recomputed by `landscape evaluate`) is below the tolerance, and its exact index is what
    /// `landscape spectrum` counts at the written point.
    @Test func theClimbingImageConvergesToASaddleWhoseIndexSpectrumConfirms() throws {
        let f = try Self.fixture("path-climb")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let out = f.path("climb")
        let run = try MPITestSupport.run(np: 2, ["path"] + f.model + ["--from", f.a, "--to", f.b, "--method", "autoneb", "--climb",
                                                                       "--tolerance", "1e-5", "--iterations", "20000", "--out", out, "--quiet"], timeout: 300)
        try #require(run.status == 0, "\(run.stderr)")
        let s = try Self.summary(out)
        // Converged: the climbing pivot's |F| = |∇L| (the reflection keeps the norm) is within tolerance too.
        #expect(s["reason"] as? String == "target-gradient-norm")
        let top = try #require((s["highestPivot"] as? [String: Any])?["pivot"] as? Int)
        let sites = try #require(s["curvature"] as? [[String: Any]])
        // The top and both end points (minima: no negative curvature at the exact teacher).
        #expect(Set(sites.compactMap { $0["pivot"] as? Int }).isSuperset(of: [0, top]))
        #expect(sites.first { $0["pivot"] as? Int == 0 }?["negative"] as? Int == 0)
        let curvature = try #require(sites.first { $0["pivot"] as? Int == top })
        let gradient = try #require(curvature["gradientNorm"] as? Double)
        #expect(gradient <= 1e-5, "the climbing pivot's ‖∇L‖ = \(gradient)")
        let index = try #require(curvature["negative"] as? Int)
        #expect(index >= 1, "the top of a path between two minima has a direction down to them")
        #expect((s["verdict"] as? String)?.contains("a saddle") == true, "\(s["verdict"] ?? "")")
        let e = try MPITestSupport.run(np: 1, ["evaluate"] + f.model + ["--params", out + "/highest.npy", "--out", f.path("evaluate")])
        try #require(e.status == 0, "\(e.stderr)")
        #expect(try #require(try Self.number(f.path("evaluate"), "gradientNorm")) <= 1e-5)
        let spectrum = try MPITestSupport.run(np: 2, ["spectrum"] + f.model + ["--block", "4", "--checkpoint", out + "/highest.npy", "--out", f.path("spectrum"), "--quiet"])
        try #require(spectrum.status == 0, "\(spectrum.stderr)")
        let counts = try #require(((try Self.summary(f.path("spectrum")))["hessian"] as? [String: Any])?["counts"] as? [String: Any])
        #expect(counts["negative"] as? Int == index)
    }

    /// AutoNEB's band is the same on 1–4 ranks and every group size (groups of ranks take pivots,
    /// data-parallel inside): only the data-parallel sums' rounding may differ.
    @Test func theBandIsTheSameOnOneToFourRanksAndAnyGroupSize() throws {
        let f = try Self.fixture("path-ranks", samples: 48)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let args = ["path"] + f.model + ["--from", f.a, "--to", f.b, "--method", "autoneb", "--pivots", "3", "--cycles", "2",
                                         "--cycle-iterations", "150", "--iterations", "100", "--insert-threshold", "0", "--index-every", "3", "--quiet"]
        let reference = f.path("r1")
        let one = try MPITestSupport.run(np: 1, args + ["--out", reference])
        try #require(one.status == 0, "\(one.stderr)")
        let expected = try NPYArray(contentsOf: reference + "/pivots.npy")
        #expect(expected.shape[0] > 5, "AutoNEB inserted pivots: \(expected.shape)")
        for (np, group) in [(2, 1), (2, 2), (3, 1), (3, 3), (4, 2)] {
            let out = f.path("r\(np)-\(group)")
            let run = try MPITestSupport.run(np: np, args + ["--group-size", "\(group)", "--out", out], timeout: 180)
            try #require(run.status == 0, "np \(np) group \(group): \(run.stderr)")
            let pivots = try NPYArray(contentsOf: out + "/pivots.npy")
            try #require(pivots.shape == expected.shape, "np \(np) group \(group): \(pivots.shape)")
            let difference = MPITestSupport.maxRelativeDifference(pivots.values, expected.values)
            #expect(difference < 1e-10, "np \(np) group \(group): \(difference)")
            // Not bit for bit even with groups of one rank: the band is sharded by rows over the
            // ranks, so its lengths, tangents and FIRE's power are sums of per-rank partial sums.
            let s = try Self.summary(out)
            #expect(s["groups"] as? Int == np / group)
        }
    }

    /// SIGUSR1 during the band: a checkpoint and exit 3; --resume ends at the very band of an
    /// uninterrupted run, and on another rank count at the same band to 1e-10.
    @Test func aSignalCheckpointsTheBandAndResumeContinuesToTheSamePath() throws {
        let f = try Self.fixture("path-signal", samples: 4000)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let args = ["path"] + f.model + ["--from", f.a, "--to", f.b, "--method", "autoneb", "--pivots", "4", "--cycles", "2",
                                         "--cycle-iterations", "150", "--iterations", "300", "--tolerance", "1e-12"]
        let out = f.path("out"), reference = f.path("reference"), log = f.directory.appendingPathComponent("log")
        let process = try MPITestSupport.start(np: 2, args + ["--out", out], log: log)
        func text() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        #expect(MPITestSupport.wait(timeout: 120) { text().contains("iteration") || !process.isRunning }, "never started: \(text())")
        MPITestSupport.signalRanks(of: process, SIGUSR1)
        try #require(process.terminationStatus == 3, "status \(process.terminationStatus): \(text())")
        #expect(FileManager.default.fileExists(atPath: out + "/checkpoint/band.npy"))
        #expect(!FileManager.default.fileExists(atPath: out + "/summary.json"))
        // The checkpoint holds whole pivots, not one rank count's shards: a copy resumes on 3 ranks.
        let other = f.path("other")
        try FileManager.default.copyItem(atPath: out, toPath: other)
        let resumed = try MPITestSupport.run(np: 2, args + ["--out", out, "--resume", "--quiet"], timeout: 300)
        try #require(resumed.status == 0, "\(resumed.stderr)")
        let three = try MPITestSupport.run(np: 3, args + ["--out", other, "--resume", "--quiet"], timeout: 300)
        try #require(three.status == 0, "\(three.stderr)")
        let whole = try MPITestSupport.run(np: 2, args + ["--out", reference, "--quiet"], timeout: 300)
        try #require(whole.status == 0, "\(whole.stderr)")
        let expected = try NPYArray(contentsOf: reference + "/pivots.npy").values
        #expect(try NPYArray(contentsOf: out + "/pivots.npy").values == expected)
        let onThree = try NPYArray(contentsOf: other + "/pivots.npy").values
        #expect(onThree.count == expected.count && MPITestSupport.maxRelativeDifference(onThree, expected) < 1e-10)
        #expect(try Self.number(out, "barrier") == Self.number(reference, "barrier"))
        let history = try Self.rows(out + "/convergence.csv"), full = try Self.rows(reference + "/convergence.csv")
        #expect(history.count == full.count)
    }

    /// Dynamic string sampling: above the straight line's maximum the string is the line itself
    /// (converged, normalised length 1); at a level between the minima and that maximum, trained
    /// points make a string whose every point and segment sample is below the level.
    @Test func dynamicStringSamplingConnectsBelowTheLevel() throws {
        let f = try Self.fixture("path-string")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let high = f.path("high"), low = f.path("low")
        let base = ["path"] + f.model + ["--from", f.a, "--to", f.b, "--method", "string", "--quiet"]
        let first = try MPITestSupport.run(np: 2, base + ["--level", "5", "--out", high])
        try #require(first.status == 0, "\(first.stderr)")
        let h = try #require(try Self.summary(high)["string"] as? [String: Any])
        #expect(h["converged"] as? Bool == true)
        #expect(h["normalizedGeodesicLength"] as? Double == 1)
        let straight = try #require(try Self.summary(high)["straightLineMaximum"] as? [String: Any])["loss"] as? Double
        let level = 0.25 * (straight ?? 0)
        let second = try MPITestSupport.run(np: 2, base + ["--level", "\(level)", "--group-size", "1", "--learning-rate", "0.2",
                                                           "--string-steps", "4000", "--out", low], timeout: 300)
        try #require(second.status == 0, "\(second.stderr)")
        let s = try Self.summary(low), string = try #require(s["string"] as? [String: Any])
        #expect(string["converged"] as? Bool == true, "\(string)")
        #expect(try #require(string["normalizedGeodesicLength"] as? Double) > 1)
        #expect(try #require(s["pivots"] as? Int) >= 1)
        for row in try Self.rows(low + "/profile.csv") {
            #expect(Double(row["train_loss"]!)! <= level, "\(row)")
        }
        #expect((string["note"] as? String)?.contains("proves nothing") == true)
    }

    /// Three equivalent minima: every pair connected, the minimum spanning tree keeps two paths, and
    /// no pair is connected higher through the tree than by its own path.
    @Test func manyMinimaGiveTheMinimumSpanningTreeOfSaddles() throws {
        let f = try Self.fixture("path-minima")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let out = f.path("tree")
        let run = try MPITestSupport.run(np: 2, ["path"] + f.model + ["--minima", f.a, f.b, f.c, "--method", "neb", "--pivots", "4",
                                                                       "--iterations", "800", "--group-size", "1", "--out", out, "--quiet"], timeout: 300)
        try #require(run.status == 0, "\(run.stderr)")
        let pairs = try Self.rows(out + "/pairs.csv"), tree = try Self.rows(out + "/tree.csv")
        #expect(pairs.count == 3)
        #expect(tree.count == 2)
        for p in pairs {
            #expect(Double(p["tree_saddle"]!)! <= Double(p["direct_saddle"]!)!, "\(p)")
            #expect(FileManager.default.fileExists(atPath: out + "/pairs/\(p["a"]!)-\(p["b"]!)/pivots.npy"))
        }
        // The tree's largest saddle is the lowest saddle at which all three are connected.
        let saddles = pairs.map { Double($0["direct_saddle"]!)! }.sorted()
        #expect(tree.map { Double($0["saddle"]!)! }.sorted() == Array(saddles.prefix(2)))
        #expect(FileManager.default.fileExists(atPath: out + "/disconnectivity.svg"))
    }

    /// `study connectivity` end to end on the fixture's data: minima of three seeds for two widths,
    /// every pair connected, report.md; the same command again reuses every part; changed training
    /// settings are refused for the finished parts.
    @Test func theConnectivityStudyConnectsTheMinimaOfEveryWidth() throws {
        let f = try Self.fixture("path-study")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let config = f.path("study.toml"), out = f.path("study")
        try f.connectivityStudy(study: """
            seeds = [1, 2, 3]
            widths = [[2], [3]]
            """, band: """
            cycles = 2
            cycle-iterations = 100
            iterations = 200
            group-size = 1
            """).write(toFile: config, atomically: true, encoding: .utf8)
        let first = try MPITestSupport.run(np: 2, ["study", "connectivity", "--config", config, "--out", out, "--quiet"], timeout: 300)
        try #require(first.status == 0, "\(first.stderr)")
        let report = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        #expect(report.contains("| [2] | 9 |") && report.contains("| [3] | 13 |"), "\(report)")
        for width in ["2", "3"] {
            for seed in 1...3 { #expect(FileManager.default.fileExists(atPath: out + "/\(width)/minimum-\(seed)/params.npy")) }
            #expect(try Self.rows(out + "/\(width)/paths/pairs.csv").count == 3)
        }
        let stamp = try FileManager.default.attributesOfItem(atPath: out + "/3/paths/pairs/1-2/summary.json")[.modificationDate] as? Date
        let again = try MPITestSupport.run(np: 2, ["study", "connectivity", "--config", config, "--out", out, "--quiet"], timeout: 300)
        try #require(again.status == 0, "\(again.stderr)")
        #expect(try FileManager.default.attributesOfItem(atPath: out + "/3/paths/pairs/1-2/summary.json")[.modificationDate] as? Date == stamp)
        let changed = try MPITestSupport.run(np: 2, ["study", "connectivity", "--config", config, "--learning-rate", "0.05", "--out", out])
        #expect(changed.status == 2 && changed.stderr.contains("was run with other settings"), "\(changed.stderr)")
    }

    /// Memorisation data for `--polish`: X (24 × 3) and y (24 × 1) seeded standard normal, a tanh
    /// 3-3-1 network (M = 16 < N = 24: isolated minima with L > 0), and two GD runs from seeds 1 and 3
    /// that stop near two different minima — trained points, not minima.
    static func memorisation(_ tag: String) throws -> (fixture: Fixture, model: [String], a: String, b: String) {
        let f = Fixture(directory: try MPITestSupport.temporaryDirectory(tag))
        var state: UInt64 = 0x0b5e_55ed
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) * 0x1p-53
        }
        func normal() -> Double { (-2 * Foundation.log(uniform())).squareRoot() * Foundation.cos(2 * Double.pi * uniform()) }
        try NPYArray(shape: [24, 3], values: (0..<72).map { _ in normal() }).write(to: f.path("X.npy"))
        try NPYArray(shape: [24, 1], values: (0..<24).map { _ in normal() }).write(to: f.path("y.npy"))
        let model = ["--data", "npy", "--x", f.path("X.npy"), "--y", f.path("y.npy"), "--layers", "3", "--activation", "tanh", "--loss", "mse"]
        for seed in [1, 3] {
            let run = try MPITestSupport.run(np: 1, ["train"] + model + ["--seed", "\(seed)", "--learning-rate", "0.2", "--momentum", "0.9",
                                                                         "--steps", "3000", "--out", f.path("train-\(seed)"), "--quiet"])
            try #require(run.status == 0, "\(run.stderr)")
        }
        return (f, model, f.path("train-1/params.npy"), f.path("train-3/params.npy"))
    }

    /// `--polish --l2`: both trained end points are polished to certified minima of L + λ‖θ‖²/2
    /// (index 0, ‖∇E‖ ≤ 1e-10), the band runs between the polished points (its ends are
    /// ends/a.npy and ends/b.npy bit for bit), and the band's top is refined to a certified index-1
    /// saddle no higher than the band's top and above both minima; on 1 and 2 ranks the polished
    /// ends and the saddle agree.
    @Test func polishedEndsAreCertifiedMinimaAndTheRefinedTopACertifiedSaddle() throws {
        let (f, model, a, b) = try Self.memorisation("path-polish")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let args = ["path"] + model + ["--from", a, "--to", b, "--method", "autoneb", "--climb", "--cycles", "2", "--cycle-iterations", "100",
                                       "--iterations", "500", "--polish", "--l2", "1e-3", "--quiet"]
        var energies: [[Double]] = []
        for np in [1, 2] {
            let out = f.path("polish-\(np)")
            let run = try MPITestSupport.run(np: np, args + ["--out", out], timeout: 120)
            try #require(run.status == 0, "\(run.stderr)")
            let s = try Self.summary(out)
            let ends = try #require(s["ends"] as? [[String: Any]])
            try #require(ends.count == 2)
            for end in ends {
                #expect(end["certified"] as? Bool == true && end["class"] as? String == "certified", "\(end)")
                #expect(end["index"] as? Int == 0 && end["targetIndex"] as? Int == 0, "\(end)")
                #expect(try #require(end["gradientNorm"] as? Double) <= 1e-10, "\(end)")
                #expect(try #require(end["moved"] as? Double) > 0, "a trained point is not yet the minimum: \(end)")
            }
            let saddle = try #require(s["saddle"] as? [String: Any]), point = try #require(saddle["point"] as? [String: Any])
            #expect(point["certified"] as? Bool == true && point["index"] as? Int == 1, "\(saddle)")
            #expect(try #require(point["gradientNorm"] as? Double) <= 1e-10)
            let e = try #require(point["energy"] as? Double), top = try #require(saddle["bandTopEnergy"] as? Double)
            let minima = ends.compactMap { $0["energy"] as? Double }
            #expect(e <= top + 1e-8, "the refined saddle \(e) vs the band's top \(top)")
            #expect(e > minima.max()!, "the saddle \(e) above both minima \(minima)")
            #expect(abs(try #require(saddle["barrier"] as? Double) - (e - minima.max()!)) <= 1e-15)
            #expect(saddle["isPass"] as? Bool == true, "\(saddle)")
            #expect((s["verdict"] as? String)?.contains("both ends certified minima; refined top: a certified index-1 saddle") == true, "\(s["verdict"] ?? "")")
            // The path runs between the polished points, which are written, as is the saddle.
            let pivots = try NPYArray(contentsOf: out + "/pivots.npy"), m = 16
            #expect(Array(pivots.values[0..<m]) == (try NPYArray(contentsOf: out + "/ends/a.npy").values))
            #expect(Array(pivots.values[(pivots.values.count - m)...]) == (try NPYArray(contentsOf: out + "/ends/b.npy").values))
            #expect(try NPYArray(contentsOf: out + "/saddle.npy").shape == [m])
            #expect((s["endpointLosses"] as? [Double]) == minima)
            energies.append(minima + [e])
        }
        for k in 0..<3 { #expect(abs(energies[0][k] - energies[1][k]) <= 1e-10, "1 vs 2 ranks: \(energies)") }
    }

    /// Without the L2 term the same trained points do not polish to certified minima (the tanh
    /// units saturate: ‖θ‖ runs off, or ∇L lies in H's near-null space), and the summary and the
    /// verdict say so for each end, with its class — never calling it a minimum.
    @Test func anEndThatIsNotACertifiedMinimumIsReportedSo() throws {
        let (f, model, a, b) = try Self.memorisation("path-polish-uncertified")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let out = f.path("out")
        let run = try MPITestSupport.run(np: 2, ["path"] + model + ["--from", a, "--to", b, "--method", "neb", "--pivots", "3", "--iterations", "200",
                                                                     "--polish", "--out", out, "--quiet"], timeout: 120)
        try #require(run.status == 0, "\(run.stderr)")
        let s = try Self.summary(out), verdict = try #require(s["verdict"] as? String)
        let ends = try #require(s["ends"] as? [[String: Any]])
        let failed = ends.filter { $0["certified"] as? Bool == false }
        #expect(!failed.isEmpty, "\(ends)")
        for end in failed {
            let name = try #require(end["name"] as? String), kind = try #require(end["class"] as? String)
            #expect(kind != "certified")
            #expect(verdict.contains("end \(name) not certified: class \(kind)"), "\(verdict)")
        }
        #expect(!verdict.contains("both ends certified minima"), "\(verdict)")
    }

    /// A `[path]` setting is one key whether typed as a flag, written in a --config file or in a
    /// study's file, and a refusal names it as the user wrote it; a study's old [study] path keys
    /// are refused with where they moved.
    @Test func aPathSettingIsNamedAsTheUserWroteIt() throws {
        let f = try Self.fixture("path-named")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let config = f.path("path.toml"), study = f.path("study.toml"), out = f.path("out")
        try "[path]\npivots = 0\n".write(toFile: config, atomically: true, encoding: .utf8)
        let ends = ["--from", f.a, "--to", f.b, "--out", out]
        let fromFile = try MPITestSupport.run(np: 2, ["path"] + f.model + ["--config", config] + ends)
        #expect(fromFile.status == 2 && fromFile.stderr.contains("error: path.pivots = 0: a band needs at least 1 interior pivot"), "\(fromFile.stderr)")
        let typed = try MPITestSupport.run(np: 2, ["path"] + f.model + ["--config", config, "--pivots", "-2"] + ends)
        #expect(typed.status == 2 && typed.stderr.contains("error: --pivots = -2: a band needs at least 1 interior pivot"), "\(typed.stderr)")
        try f.connectivityStudy(study: "seeds = [1, 2]\nwidths = [[2]]", band: "pivots = 0").write(toFile: study, atomically: true, encoding: .utf8)
        let inStudy = try MPITestSupport.run(np: 2, ["study", "connectivity", "--config", study, "--out", out])
        #expect(inStudy.status == 2 && inStudy.stderr.contains("path.pivots = 0: a band needs at least 1 interior pivot"), "\(inStudy.stderr)")
        try f.connectivityStudy(study: "seeds = [1, 2]\nwidths = [[2]]\npivots = 3", band: "").write(toFile: study, atomically: true, encoding: .utf8)
        let moved = try MPITestSupport.run(np: 2, ["study", "connectivity", "--config", study, "--out", out])
        #expect(moved.status == 2 && moved.stderr.contains("study.pivots is now path.pivots: move it from [study] to the [path] table"), "\(moved.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written")
    }

    @Test func badInputIsRefused() throws {
        let f = try Self.fixture("path-bad")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let short = f.path("short.npy"), nan = f.path("nan.npy")
        try NPYArray(shape: [5], values: Array(repeating: 1, count: 5)).write(to: short)
        var values = try NPYArray(contentsOf: f.b).values
        values[2] = .nan
        try NPYArray(shape: [Self.parameterCount], values: values).write(to: nan)
        let cases: [([String], String)] = [
            (["--from", short, "--to", f.b], "holds 5 values"),
            (["--from", f.a, "--to", nan], "must be finite"),
            (["--from", f.a, "--to", f.a], "are the same point"),
            (["--from", f.a, "--to", f.b, "--pivots", "0"], "at least 1 interior pivot"),
            (["--from", f.a, "--to", f.b, "--method", "neb", "--pivots", "2000000", "--memory-per-rank", "100M"], "use at most"),
            (["--from", f.a, "--to", f.b, "--method", "string", "--level", "-1"], "is not above the end points' losses"),
            (["--from", f.a, "--to", f.b, "--method", "string"], "--level is missing"),
            (["--from", f.a, "--to", f.b, "--method", "elastic"], "'elastic' is not one of neb, autoneb, string"),
            (["--from", f.a, "--to", f.b, "--optimizer", "adam"], "'adam' is not one of fire, momentum"),
            (["--from", f.a, "--to", f.b, "--tolerance", "0"], "--tolerance = 0.0: give a finite number > 0"),
            (["--from", f.a], "give --from A.npy --to B.npy"),
            (["--minima", f.a, f.b], "three or more minima"),
            (["--from", f.a, "--to", f.b, "--group-size", "3"], "--group-size = 3 must divide the number of ranks"),
            (["--from", f.a, "--to", f.b, "--l2", "-1"], "--l2 = -1.0: give a finite L2 weight ≥ 0"),
            (["--from", f.a, "--to", f.b, "--method", "string", "--level", "1", "--l2", "0.1"], "--l2 applies to methods neb and autoneb"),
            (["--from", f.a, "--to", f.b, "--polish", "--memory-per-rank", "64M"], "--polish assembles H (M = 9) at every eigenvector-following step"),
        ]
        for (extra, message) in cases {
            let out = f.path("out")
            let run = try MPITestSupport.run(np: 2, ["path"] + f.model + extra + ["--out", out])
            #expect(run.status == 2, "\(extra): status \(run.status), \(run.stderr)")
            #expect(run.stderr.contains(message), "\(extra): \(run.stderr)")
            let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("Error") || $0.hasPrefix("error") }
            #expect(lines.count == 1, "\(extra): one message, not one per rank: \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(extra): nothing written")
        }
        // Cross-entropy has no finite minimum on separable data: --polish needs the L2 term.
        let classes = f.path("classes.npy"), out = f.path("out")
        try NPYArray(shape: [40], values: (0..<40).map { Double($0 % 2) }).write(to: classes)
        let crossEntropy = ["path", "--data", "npy", "--x", f.path("X.npy"), "--y", classes, "--layers", "2", "--activation", "tanh",
                            "--loss", "cross-entropy", "--from", f.a, "--to", f.b, "--polish", "--out", out]
        let refused = try MPITestSupport.run(np: 2, crossEntropy)
        #expect(refused.status == 2 && refused.stderr.contains("--polish with model.loss = \"cross-entropy\" and no L2 term") && refused.stderr.contains("give --l2 λ > 0"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").filter { $0.hasPrefix("Error") || $0.hasPrefix("error") }.count == 1, "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written")
    }
}
}
