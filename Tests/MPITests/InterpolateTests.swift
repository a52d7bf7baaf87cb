import Foundation
import NPY
import Testing

/// `landscape interpolate` and `landscape study lb-sb` from the command line: the line's ends equal
/// `landscape evaluate` bit for bit; every point of a line and a plane equals an independent NumPy
/// evaluation of the loss at that θ; filter and layer normalisation; the exact parabola of a linear
/// model with MSE against dᵀHd from the assembled Hessian; the same numbers on 1–4 ranks and any
/// group size; --resume recomputes only unfinished points; bad input; the LB → SB preset end to end.
extension MPIJobs {
@Suite struct Interpolation {
    /// A tanh MLP (smooth) on NPY data written by the test, so NumPy can evaluate the same loss.
    static let widths = [5, 7, 3]
    static var parameterCount: Int { 5 * 7 + 7 + 7 * 3 + 3 }

    struct Fixture {
        let directory: URL
        var x: String { directory.appendingPathComponent("X.npy").path }
        var y: String { directory.appendingPathComponent("y.npy").path }
        var a: String { directory.appendingPathComponent("A.npy").path }
        var b: String { directory.appendingPathComponent("B.npy").path }
        var c: String { directory.appendingPathComponent("C.npy").path }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        var model: [String] {
            ["--data", "npy", "--x", x, "--y", y, "--standardize", "false", "--layers", "7", "--activation", "tanh",
             "--loss", "cross-entropy", "--seed", "5"]
        }
    }

    /// Data (N = 40 samples in R⁵, 3 classes) and three points A, B, C, written with seeded values.
    static func fixture(_ tag: String, samples: Int = 40) throws -> Fixture {
        let directory = try MPITestSupport.temporaryDirectory(tag)
        let f = Fixture(directory: directory)
        var state: UInt64 = 0x9e37_79b9
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) * 0x1p-53 * 2 - 1
        }
        try NPYArray(shape: [samples, 5], values: (0..<(samples * 5)).map { _ in next() }).write(to: f.x)
        try NPYArray(shape: [samples], values: (0..<samples).map { Double($0 % 3) }).write(to: f.y)
        for path in [f.a, f.b, f.c] {
            try NPYArray(shape: [parameterCount], values: (0..<parameterCount).map { _ in next() }).write(to: path)
        }
        return f
    }

    static func summary(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// A number of summary.json exactly as written (JSONSerialization may round the last digit),
    /// at the top level or, with `indent` 4, inside the first object that holds `key`.
    static func number(_ directory: String, _ key: String, indent: Int = 2) throws -> Double? {
        let text = try String(contentsOfFile: directory + "/summary.json", encoding: .utf8)
        guard let range = text.range(of: "\n" + String(repeating: " ", count: indent) + "\"\(key)\" : ") else { return nil }
        let rest = text[range.upperBound...]
        return Double(rest.prefix { !",\n".contains($0) })
    }

    /// Rows of a CSV as dictionaries of numbers.
    static func csv(_ path: String) throws -> [[String: Double]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",").map(String.init)
        return lines.dropFirst().map { line in
            var row: [String: Double] = [:]
            for (name, field) in zip(header, line.split(separator: ",", omittingEmptySubsequences: false)) { row[name] = Double(field) }
            return row
        }
    }

    /// NumPy's loss at θ(α) = (1 − α)·A + α·B, and at θ₀ + α·d₁ + β·d₂ for the plane's points.
    static let numpyCheck = """
        import sys, json, numpy as np
        X = np.load(sys.argv[1]); y = np.load(sys.argv[2]).astype(int)
        def loss(t):
            W1 = t[:35].reshape(7, 5); b1 = t[35:42]; W2 = t[42:63].reshape(3, 7); b2 = t[63:66]
            f = np.tanh(X @ W1.T + b1) @ W2.T + b2
            f = f - f.max(axis=1, keepdims=True)
            return float(np.mean(np.log(np.exp(f).sum(axis=1)) - f[np.arange(len(y)), y]))
        A = np.load(sys.argv[3]); B = np.load(sys.argv[4])
        line = [(r['alpha'], r['loss']) for r in json.load(open(sys.argv[5]))]
        worst = max(abs(loss((1 - a) * A + a * B) - l) / abs(l) for a, l in line)
        D = np.load(sys.argv[6]); plane = json.load(open(sys.argv[7]))
        worst_plane = max(abs(loss(A + r['alpha'] * D[:, 0] + r['beta'] * D[:, 1]) - r['loss']) / abs(r['loss']) for r in plane)
        print(json.dumps({"line": worst, "plane": worst_plane}))
        """

    @Test func theLineAndThePlaneEqualEvaluateAndAnIndependentEvaluation() throws {
        let f = try Self.fixture("interpolate-exact")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let line = f.path("line"), plane = f.path("plane")
        let run = try MPITestSupport.run(np: 2, ["interpolate"] + f.model + ["--from", f.a, "--to", f.b, "--range", "-0.5:1.5:21", "--out", line, "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        let rows = try Self.csv(line + "/line.csv")
        #expect(rows.count == 21)
        // α = 0 and α = 1 are on the grid and equal `landscape evaluate` at A and B bit for bit.
        for (alpha, point) in [(0.0, f.a), (1.0, f.b)] {
            let evaluate = try MPITestSupport.run(np: 2, ["evaluate"] + f.model + ["--params", point, "--out", f.path("evaluate\(alpha)")])
            try #require(evaluate.status == 0, "\(evaluate.stderr)")
            let expected = f.path("evaluate\(alpha)")
            let row = try #require(rows.first { $0["alpha"] == alpha })
            let loss = try Self.number(expected, "loss"), norm = try Self.number(expected, "gradientNorm")
            let accuracy = try Self.number(expected, "accuracy")
            #expect(row["loss"] == loss && row["gradient_norm"] == norm && row["accuracy"] == accuracy, "α = \(alpha): \(row)")
        }
        let inside = rows.filter { $0["alpha"]! >= 0 && $0["alpha"]! <= 1 }.map { $0["loss"]! }
        let maximum = try Self.number(line, "maximumOnSegment", indent: 4), barrier = try Self.number(line, "barrierHeight", indent: 4)
        #expect(maximum == inside.max() && barrier == inside.max()! - max(inside.first!, inside.last!), "segment: maximum \(String(describing: maximum)), barrier \(String(describing: barrier)); line \(inside)")

        let planeRun = try MPITestSupport.run(np: 2, ["interpolate"] + f.model + ["--from", f.a, "--direction", "random", "--plane",
                                                                                 "--grid", "-1:1:7,-0.5:0.5:5", "--out", plane, "--quiet"])
        try #require(planeRun.status == 0, "\(planeRun.stderr)")
        let planeRows = try Self.csv(plane + "/plane.csv")
        let grid = try NPYArray(contentsOf: plane + "/plane.npy")
        #expect(grid.shape == [5, 7] && grid.values == planeRows.map { $0["loss"]! })
        // NumPy recomputes every point from A, B and the written directions.
        func json(_ rows: [[String: Double]], _ name: String) throws -> String {
            let path = f.path(name)
            try JSONSerialization.data(withJSONObject: rows).write(to: URL(fileURLWithPath: path))
            return path
        }
        let script = f.path("check.py")
        try Self.numpyCheck.write(toFile: script, atomically: true, encoding: .utf8)
        let check = try MPITestSupport.execute(["python3", script, f.x, f.y, f.a, f.b, try json(rows, "line.json"),
                                                plane + "/directions.npy", try json(planeRows, "plane.json")], timeout: 60)
        try #require(check.status == 0, "\(check.stderr)")
        let worst = try #require(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Double])
        #expect(worst["line"]! <= 1e-12 && worst["plane"]! <= 1e-12, "\(worst)")
    }

    @Test func filterAndLayerNormalisation() throws {
        let f = try Self.fixture("interpolate-normalize")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let θ = try NPYArray(contentsOf: f.a).values
        // (offset, rows, columns) of the two weight matrices; biases at 35..<42 and 63..<66.
        let weights = [(0, 7, 5), (42, 3, 7)], biases = [35..<42, 63..<66]
        func norm(_ v: [Double], _ r: Range<Int>) -> Double { r.map { v[$0] * v[$0] }.reduce(0, +).squareRoot() }
        for how in ["filter", "layer"] {
            let out = f.path(how)
            let run = try MPITestSupport.run(np: 1, ["interpolate"] + f.model + ["--from", f.a, "--direction", "random", "--normalize", how,
                                                                                "--range", "-1:1:3", "--out", out, "--quiet"])
            try #require(run.status == 0, "\(run.stderr)")
            let d = try NPYArray(contentsOf: out + "/directions.npy")
            #expect(d.shape == [Self.parameterCount, 1])
            for (offset, rows, columns) in weights {
                if how == "filter" {
                    for row in 0..<rows {
                        let r = (offset + row * columns)..<(offset + (row + 1) * columns)
                        #expect(abs(norm(d.values, r) - norm(θ, r)) <= 1e-12 * norm(θ, r), "filter \(row) at \(offset)")
                    }
                } else {
                    let r = offset..<(offset + rows * columns)
                    #expect(abs(norm(d.values, r) - norm(θ, r)) <= 1e-12 * norm(θ, r))
                }
            }
            for r in biases {
                if how == "filter" { #expect(r.allSatisfy { d.values[$0] == 0 }, "filter normalisation zeroes the biases") }
                else { #expect(abs(norm(d.values, r) - norm(θ, r)) <= 1e-12 * norm(θ, r)) }
            }
        }
    }

    /// The plane of the top two Hessian eigenvectors, three ways: Lanczos inside interpolate
    /// (`--direction top-eigenvector`), `landscape top`'s eigenvectors.npy (C order, largest first)
    /// and `landscape spectrum --eigenvectors top:2` (Fortran order, ascending: --columns 1,0) —
    /// the same directions up to sign.
    @Test func theTopEigenvectorPlaneFromLanczosTopAndSpectrumAgree() throws {
        let f = try Self.fixture("interpolate-eigenvectors")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let plane = ["--plane", "--grid", "-1:1:3", "--quiet"]
        let lanczos = try MPITestSupport.run(np: 2, ["interpolate"] + f.model + ["--from", f.a, "--direction", "top-eigenvector", "--out", f.path("p1")] + plane)
        try #require(lanczos.status == 0, "\(lanczos.stderr)")
        let top = try MPITestSupport.run(np: 2, ["top"] + f.model + ["--checkpoint", f.a, "--k", "2", "--out", f.path("top"), "--quiet"])
        try #require(top.status == 0, "\(top.stderr)")
        let fromTop = try MPITestSupport.run(np: 2, ["interpolate"] + f.model + ["--from", f.a, "--direction", f.path("top") + "/eigenvectors.npy", "--out", f.path("p2")] + plane)
        try #require(fromTop.status == 0, "\(fromTop.stderr)")
        let spectrum = try MPITestSupport.run(np: 2, ["spectrum"] + f.model + ["--checkpoint", f.a, "--eigenvectors", "top:2", "--block", "8", "--out", f.path("exact"), "--quiet"])
        try #require(spectrum.status == 0, "\(spectrum.stderr)")
        let fromSpectrum = try MPITestSupport.run(np: 2, ["interpolate"] + f.model + ["--from", f.a, "--direction", f.path("exact") + "/eigenvectors.npy",
                                                                                     "--columns", "1,0", "--out", f.path("p3")] + plane)
        try #require(fromSpectrum.status == 0, "\(fromSpectrum.stderr)")
        let m = Self.parameterCount
        func columns(_ name: String) throws -> [[Double]] {
            let d = try NPYArray(contentsOf: f.path(name) + "/directions.npy").values
            return (0..<2).map { j in (0..<m).map { d[$0 * 2 + j] } }
        }
        let reference = try columns("p1")
        for other in [try columns("p2"), try columns("p3")] {
            for j in 0..<2 {
                let dot = zip(reference[j], other[j]).map { $0 * $1 }.reduce(0, +)
                #expect(abs(abs(dot) - 1) <= 1e-8, "direction \(j): |dᵀd′| = \(abs(dot))")
            }
        }
    }

    /// A linear model with MSE: L(θ₀ + αd) is an exact parabola, so its second difference is dᵀHd,
    /// with H assembled by `landscape spectrum --save-hessian`.
    @Test func aLinearModelGivesAnExactParabola() throws {
        let f = try Self.fixture("interpolate-parabola")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let model = ["--data", "npy", "--x", f.x, "--y", f.y, "--standardize", "false", "--layers", "", "--loss", "mse", "--seed", "2"]
        let m = 5 * 3 + 3
        let θ = f.path("theta.npy"), d = f.path("d.npy")
        try NPYArray(shape: [m], values: (0..<m).map { sin(Double($0)) }).write(to: θ)
        let direction = (0..<m).map { cos(1.7 * Double($0)) }
        try NPYArray(shape: [m], values: direction).write(to: d)
        let line = f.path("line")
        let run = try MPITestSupport.run(np: 2, ["interpolate"] + model + ["--from", θ, "--direction", d, "--range", "-1:1:21", "--out", line, "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        let spectrum = try MPITestSupport.run(np: 2, ["spectrum"] + model + ["--checkpoint", θ, "--save-hessian", "--block", "2", "--out", f.path("hessian"), "--quiet"])
        try #require(spectrum.status == 0, "\(spectrum.stderr)")
        let h = try NPYArray(contentsOf: f.path("hessian") + "/hessian.npy").values
        var curvature = 0.0
        for i in 0..<m { for j in 0..<m { curvature += direction[i] * h[i * m + j] * direction[j] } }
        let losses = try Self.csv(line + "/line.csv").map { $0["loss"]! }
        let step = 0.1
        for i in 1..<(losses.count - 1) {
            let second = (losses[i + 1] - 2 * losses[i] + losses[i - 1]) / (step * step)
            #expect(abs(second - curvature) <= 1e-9 * curvature, "at point \(i): \(second) vs dᵀHd = \(curvature)")
        }
    }

    @Test func theSameNumbersOnOneToFourRanksAndAnyGroupSize() throws {
        let f = try Self.fixture("interpolate-ranks", samples: 48)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let planeArgs = ["--from", f.a, "--direction", "random", "--plane", "--grid", "-1:1:9", "--quiet"]
        let lineArgs = ["--from", f.a, "--to", f.b, "--range", "-0.5:1.5:9", "--spectrum-at", "0,0.5", "--quiet"]
        var reference: (plane: [Double], line: [Double], curvature: [Double])? = nil
        for (np, group) in [(1, 0), (2, 0), (2, 1), (3, 1), (3, 0), (4, 2), (4, 1)] {
            let tag = "\(np)-\(group)"
            let plane = try MPITestSupport.run(np: np, ["interpolate"] + f.model + planeArgs + ["--group-size", "\(group)", "--out", f.path("plane" + tag)])
            try #require(plane.status == 0, "\(tag): \(plane.stderr)")
            let line = try MPITestSupport.run(np: np, ["interpolate"] + f.model + lineArgs + ["--group-size", "\(group)", "--out", f.path("line" + tag)])
            try #require(line.status == 0, "\(tag): \(line.stderr)")
            let result = (plane: try NPYArray(contentsOf: f.path("plane" + tag) + "/plane.npy").values,
                          line: try Self.csv(f.path("line" + tag) + "/line.csv").flatMap { [$0["loss"]!, $0["gradient_norm"]!] },
                          curvature: try Self.csv(f.path("line" + tag) + "/curvature.csv").flatMap { [$0["lambda1"]!, $0["negative_fraction"]!] })
            if let reference {
                #expect(MPITestSupport.maxRelativeDifference(result.plane, reference.plane) <= 1e-12, "\(tag) plane")
                #expect(MPITestSupport.maxRelativeDifference(result.line, reference.line) <= 1e-12, "\(tag) line")
                #expect(MPITestSupport.maxRelativeDifference(result.curvature, reference.curvature) <= 1e-10, "\(tag) curvature")
            } else {
                reference = result
            }
            let groups = try Self.summary(f.path("plane" + tag))["groups"] as? Int
            #expect(groups == (group == 0 ? 1 : np / group))
        }
    }

    /// SIGUSR1 during a plane: the finished points are saved (exit 3); --resume computes only the
    /// rest and ends with the plane of an uninterrupted run.
    @Test func aSignalCheckpointsAndResumeRecomputesOnlyUnfinishedPoints() throws {
        let f = try Self.fixture("interpolate-signal", samples: 3000)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let args = ["interpolate"] + f.model + ["--from", f.a, "--direction", "random", "--plane", "--grid", "-1:1:61"]
        let out = f.path("out"), reference = f.path("reference"), log = f.directory.appendingPathComponent("log")
        let process = try MPITestSupport.start(np: 2, args + ["--out", out], log: log)
        func text() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        #expect(MPITestSupport.wait(timeout: 90) { text().contains("points/s, ETA") || !process.isRunning }, "never started: \(text())")
        MPITestSupport.signalRanks(of: process, SIGUSR1)
        try #require(process.terminationStatus == 3, "status \(process.terminationStatus): \(text())")
        #expect(FileManager.default.fileExists(atPath: out + "/checkpoint/points.json"))
        #expect(!FileManager.default.fileExists(atPath: out + "/summary.json"))
        let resumed = try MPITestSupport.run(np: 2, args + ["--out", out, "--resume", "--quiet"], timeout: 300)
        try #require(resumed.status == 0, "\(resumed.stderr)")
        let whole = try MPITestSupport.run(np: 2, args + ["--out", reference, "--quiet"], timeout: 300)
        try #require(whole.status == 0, "\(whole.stderr)")
        let s = try Self.summary(out)
        let restored = try #require(s["pointsFromCheckpoint"] as? Int), computed = try #require(s["pointsComputed"] as? Int)
        #expect(restored > 0 && restored + computed == 61 * 61, "\(restored) restored + \(computed) computed")
        #expect(try NPYArray(contentsOf: out + "/plane.npy").values == NPYArray(contentsOf: reference + "/plane.npy").values)
        #expect(!FileManager.default.fileExists(atPath: out + "/checkpoint"))
    }

    @Test func badInputIsRefused() throws {
        let f = try Self.fixture("interpolate-bad")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let short = f.path("short.npy"), nan = f.path("nan.npy"), wide = f.path("wide.npy"), collinear = f.path("collinear.npy")
        try NPYArray(shape: [7], values: Array(repeating: 1, count: 7)).write(to: short)
        var values = try NPYArray(contentsOf: f.b).values
        values[3] = .nan
        try NPYArray(shape: [Self.parameterCount], values: values).write(to: nan)
        try NPYArray(shape: [Self.parameterCount, 1], values: Array(repeating: 1, count: Self.parameterCount)).write(to: wide)
        let wide2 = f.path("wide2.npy")
        try NPYArray(shape: [Self.parameterCount, 2], values: (0..<(2 * Self.parameterCount)).map { sin(Double($0)) }).write(to: wide2)
        // C = A + 2·(B − A): on the line through A and B.
        let a = try NPYArray(contentsOf: f.a).values, b = try NPYArray(contentsOf: f.b).values
        try NPYArray(shape: [Self.parameterCount], values: zip(a, b).map { $0 + 2 * ($1 - $0) }).write(to: collinear)
        let cases: [([String], String)] = [
            (["--from", short, "--to", f.b], "holds 7 values"),
            (["--from", f.a, "--to", nan], "must be finite"),
            (["--from", f.a, "--to", f.b, "--range", "1:1:5"], "--range is empty"),
            (["--from", f.a, "--to", f.b, "--range", "1:0:5"], "--range is reversed"),
            (["--from", f.a, "--direction", "random", "--plane", "--grid", "-1:1:4000"], "use fewer points per axis, or --force"),
            (["--from", f.a, "--to", f.b, "--through", collinear, "--plane"], "collinear"),
            (["--from", f.a, "--direction", wide, "--plane"], "a plane needs 2"),
            (["--from", f.a, "--direction", short], "it must be (66,) or (66, K)"),
            (["--from", f.a, "--direction", "Random"], "no such file; give random, top-eigenvector"),
            (["--from", f.a, "--to", f.b, "--direction", "random"], "exactly one of --to"),
            (["--from", f.a, "--to", f.b, "--group-size", "3"], "must divide the number of ranks"),
            (["--from", f.a, "--direction", wide2, "--columns", "0,0", "--plane"], "the two directions are parallel"),
            (["--from", f.a, "--direction", "random", "--plane", "--grid", "-1:1:5,0:0:1"], "axis has one point"),
            (["--from", f.a, "--to", f.b, "--range", "0:1:5", "--every", "5"], "--every = 5 reaches only"),
        ]
        for (arguments, message) in cases {
            let out = f.path("out")
            let run = try MPITestSupport.run(np: 2, ["interpolate"] + f.model + arguments + ["--out", out, "--quiet"])
            #expect(run.status == 2, "\(arguments): status \(run.status)\n\(run.stderr)")
            let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors.count == 1 && errors[0].contains(message), "\(arguments): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(arguments) wrote \(out)")
        }
    }

    /// Inside the study, the top eigenvalues' memory refusal names the [top] keys of --config (the
    /// study has no --k or --basis flag); `landscape top` names its flags.
    @Test func theStudysTopMemoryRefusalNamesTheKeysOfItsConfig() throws {
        let directory = try MPITestSupport.temporaryDirectory("lb-sb-top-memory")
        defer { try? FileManager.default.removeItem(at: directory) }
        let preset = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/lb-sb.toml").path
        let config = directory.appendingPathComponent("top.toml").path
        let text = try String(contentsOfFile: preset, encoding: .utf8).replacingOccurrences(of: "spectrum = \"exact\"", with: "spectrum = \"top\"")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("study").path
        let study = try MPITestSupport.run(np: 2, ["study", "lb-sb", "--config", config, "--memory-per-rank", "20M", "--out", out])
        #expect(study.status == 2 && study.stderr.contains("top.k in --config") && study.stderr.contains("top.block-size in --config"), "\(study.stderr)")
        #expect(!study.stderr.contains("--k") && !FileManager.default.fileExists(atPath: out), "\(study.stderr)")
        let top = try MPITestSupport.run(np: 2, ["top", "--data", "clusters", "--layers", "30,30", "--at", "init", "--memory-per-rank", "20M", "--out", out])
        #expect(top.status == 2 && top.stderr.contains("fewer eigenpairs (--k) or a smaller --block-size"), "\(top.stderr)")
    }

    /// The LB → SB preset end to end at a tiny size: both parts (Part II starts from Part I's end
    /// point at step 0), the line, both spectra, and a report with every section.
    @Test func theLargeToSmallBatchStudyRunsEndToEnd() throws {
        let directory = try MPITestSupport.temporaryDirectory("lb-sb")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("study").path
        let preset = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/lb-sb.toml").path
        let run = try MPITestSupport.run(np: 2, ["study", "lb-sb", "--config", preset, "--out", out, "--samples", "120", "--held-out", "60",
                                                "--dimension", "6", "--layers", "8", "--large-batch", "60", "--small-batch", "4",
                                                "--large-steps", "60", "--small-steps", "60", "--record-every", "10", "--quiet"], timeout: 300)
        try #require(run.status == 0, "\(run.stderr)")
        let report = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        for section in ["## Training curves across both parts", "## The line between the two end points", "## The Hessian at both end points",
                        "| training |", "| held out |", "barrier", "λ₁(large batch) / λ₁(small batch)", "Data: clusters"] {
            #expect(report.contains(section), "report.md lacks '\(section)'")
        }
        for file in ["training-loss.svg", "training-accuracy.svg", "line/line.svg", "spectrum-large/eigenvalues.npy", "spectrum-small/eigenvalues.npy"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "no \(file)")
        }
        // Part II is a new run from Part I's end point: its step-0 row is Part I's final loss.
        let partI = try Self.summary(out + "/large"), partII = try Self.csv(out + "/small/train.csv")
        let finalLoss = try Self.number(out + "/large", "loss")
        #expect(partII.first?["step"] == 0 && partII.first?["loss"] == finalLoss, "\(partII.first ?? [:]) vs \(partI)")
        #expect(try Self.summary(out + "/small")["startedFrom"] as? String == out + "/large/params.npy")
        // A study stopped inside Part II (its checkpoints there, no summary): re-running continues it
        // and keeps the finished parts; other settings over the same directory are refused.
        for name in ["small/summary.json", "small/params.npy", "report.md"] { try FileManager.default.removeItem(atPath: out + "/" + name) }
        let again = try MPITestSupport.run(np: 2, ["study", "lb-sb", "--config", preset, "--out", out, "--samples", "120", "--held-out", "60",
                                                  "--dimension", "6", "--layers", "8", "--large-batch", "60", "--small-batch", "4",
                                                  "--large-steps", "60", "--small-steps", "60", "--record-every", "10", "--quiet"], timeout: 300)
        try #require(again.status == 0, "\(again.stderr)")
        let resumedFrom = try Self.summary(out + "/small")["resumedFrom"] as? Int
        #expect(FileManager.default.fileExists(atPath: out + "/report.md") && resumedFrom == 60)
        let other = try MPITestSupport.run(np: 2, ["study", "lb-sb", "--config", preset, "--out", out, "--samples", "120", "--held-out", "60",
                                                  "--dimension", "6", "--layers", "8", "--large-batch", "50", "--small-batch", "4",
                                                  "--large-steps", "60", "--small-steps", "60", "--record-every", "10", "--quiet"], timeout: 300)
        #expect(other.status == 2 && other.stderr.contains("was run with other settings"), "\(other.stderr)")
    }
}
}
