import Foundation
import NPY
import Testing

extension MPIJobs {
/// Eigenvector anatomy (`spectrum --eigenvectors`) and `landscape compare`: the same anatomy on 1
/// and 2 ranks, block masses recomputed from eigenvectors.npy, principal angles against SciPy's
/// `subspace_angles`, and the refusals.
@Suite struct EigenvectorAnatomy {
    static let flags = ["--data", "clusters", "--samples", "60", "--classes", "3", "--dimension", "4", "--layers", "5",
                        "--activation", "tanh", "--eigenvectors", "top:6", "--block", "8", "--quiet"]

    static func anatomy(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/anatomy.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func anatomyAgreesAcrossRanksAndWithTheEigenvectors() throws {
        let directory = try MPITestSupport.temporaryDirectory("anatomy")
        defer { try? FileManager.default.removeItem(at: directory) }
        var runs: [String] = []
        for np in [1, 2] {
            let out = directory.appendingPathComponent("np\(np)").path
            let run = try MPITestSupport.run(np: np, ["spectrum", "--at", "init", "--out", out] + Self.flags)
            try #require(run.status == 0, "np \(np): \(run.stderr)")
            runs.append(out)
        }
        let vectors = try (0..<2).map { try #require(Self.anatomy(runs[$0])["vectors"] as? [[String: Any]]) }
        #expect(vectors[0].count == 6 && vectors[1].count == 6)
        for (u, v) in zip(vectors[0], vectors[1]) {
            let (a, b) = (try #require(u["blockMass"] as? [String: Double]), try #require(v["blockMass"] as? [String: Double]))
            #expect(abs(a.values.reduce(0, +) - 1) <= 1e-12, "block masses sum to 1")
            #expect(a.keys.sorted() == ["layer1.bias", "layer1.weight", "layer2.bias", "layer2.weight"])
            // Eigenvectors are unique up to sign: masses and the class-mean fraction do not see it.
            for key in a.keys { #expect(abs(a[key]! - b[key]!) <= 1e-9, "\(key): 1 and 2 ranks differ") }
            let (f, g) = (try #require(u["classMeanFraction"] as? Double), try #require(v["classMeanFraction"] as? Double))
            #expect(abs(f - g) <= 1e-9 && f >= 0 && f <= 1 + 1e-12)
        }
        // The masses and IPR again, from eigenvectors.npy (M × 6), in NumPy.
        let check = try MPITestSupport.execute(["python3", "-c", """
            import json, sys, numpy as np
            d = sys.argv[1]; z = np.load(d + "/eigenvectors.npy"); a = json.load(open(d + "/anatomy.json"))
            M = z.shape[0]; ranges = {"layer1.weight": (0, 20), "layer1.bias": (20, 25), "layer2.weight": (25, 40), "layer2.bias": (40, 43)}
            assert M == 43, M
            worst = 0.0
            for j, v in enumerate(a["vectors"]):
                col = z[:, j]; n = (col ** 2).sum()
                for name, (lo, hi) in ranges.items(): worst = max(worst, abs(v["blockMass"][name] - (col[lo:hi] ** 2).sum() / n))
                worst = max(worst, abs(v["inverseParticipation"] - (col ** 4).sum() / n ** 2))
            print(worst)
            """, runs[1]], timeout: 60)
        #expect(check.status == 0 && (Double(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1) <= 1e-12, "\(check.stdout) \(check.stderr)")
        let summary = try String(contentsOfFile: runs[0] + "/summary.json", encoding: .utf8)
        #expect(summary.contains("\"anatomy\"") && summary.contains("classMeanOverlap"))
    }

    @Test func compareGivesSciPysPrincipalAnglesAndRefusesMismatches() throws {
        let directory = try MPITestSupport.temporaryDirectory("compare")
        defer { try? FileManager.default.removeItem(at: directory) }
        func spectrum(_ name: String, _ extra: [String]) throws -> String {
            let out = directory.appendingPathComponent(name).path
            let run = try MPITestSupport.run(np: 2, ["spectrum", "--at", "init", "--out", out] + Self.flags + extra)
            try #require(run.status == 0, "\(name): \(run.stderr)")
            return out
        }
        let (a, b, other) = (try spectrum("a", ["--seed", "1"]), try spectrum("b", ["--seed", "2"]), try spectrum("wide", ["--layers", "6"]))
        let same = directory.appendingPathComponent("same").path
        var run = try MPITestSupport.run(np: 1, ["compare", a, a, "--out", same])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("overlap tr(P_A P_B)/k = 1.0000"), "\(run.stdout)")
        let ab = directory.appendingPathComponent("ab").path
        run = try MPITestSupport.run(np: 2, ["compare", a, b, "--k", "4", "--out", ab])
        try #require(run.status == 0, "\(run.stderr)")
        let scipy = try MPITestSupport.execute(["python3", "-c", """
            import json, sys, numpy as np, scipy.linalg as sl
            a, b, out = sys.argv[1:4]
            za, zb = np.load(a + "/eigenvectors.npy")[:, -4:], np.load(b + "/eigenvectors.npy")[:, -4:]
            c = json.load(open(out + "/compare.json"))
            cos = np.sort(np.cos(sl.subspace_angles(za, zb)))[::-1]
            print(max(np.abs(cos - np.array(c["cosines"])).max(), abs((cos ** 2).mean() - c["overlap"])))
            """, a, b, ab], timeout: 60)
        #expect(scipy.status == 0 && (Double(scipy.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1) <= 1e-12, "\(scipy.stdout) \(scipy.stderr)")
        for (arguments, expected) in [([a, other], "compare runs of the same model"),
                                      ([a, b, "--k", "7"], "--k 7 is more than the eigenvectors computed (6 in"),
                                      ([a, directory.path], "has no eigenvectors.npy")] {
            let out = directory.appendingPathComponent("bad").path
            run = try MPITestSupport.run(np: 2, ["compare"] + arguments + ["--out", out])
            let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(run.status == 2 && lines.count == 1 && lines[0].contains(expected), "\(arguments): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(arguments): wrote \(out)")
        }
    }

    /// `--eigenvectors-of H,G,R`: G's and R's eigenpairs against the saved G and H − G (NumPy), their
    /// anatomy files, `compare --matrices` between H and G of one run (G with itself: overlap 1),
    /// and the refusals (G without --ggn, R without --residual, an unknown matrix).
    @Test func eigenvectorsOfGAndRWithTheirAnatomy() throws {
        let directory = try MPITestSupport.temporaryDirectory("anatomy-split")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("run").path
        var run = try MPITestSupport.run(np: 2, ["spectrum", "--at", "init", "--out", out, "--residual", "--save-hessian",
                                                 "--eigenvectors-of", "H,G,R"] + Self.flags)
        try #require(run.status == 0, "\(run.stderr)")
        let check = try MPITestSupport.execute(["python3", "-c", """
            import json, sys, numpy as np
            d = sys.argv[1]; h = np.load(d + "/hessian.npy"); g = np.load(d + "/gauss_newton.npy")
            worst = 0.0
            for prefix, a in (("", h), ("ggn_", g), ("residual_", h - g)):
                z = np.load(d + "/" + prefix + "eigenvectors.npy"); lam = np.load(d + "/" + prefix + "eigenvalues.npy")[-z.shape[1]:]
                a = (a + a.T) / 2; scale = np.abs(np.linalg.eigvalsh(a)).max()
                worst = max(worst, np.abs(a @ z - z * lam).max() / scale, np.abs(z.T @ z - np.eye(z.shape[1])).max())
                assert np.allclose(lam, np.linalg.eigvalsh(a)[-z.shape[1]:], atol=1e-10 * scale)
                masses = [sum(v["blockMass"].values()) for v in json.load(open(d + "/" + prefix + "anatomy.json"))["vectors"]]
                worst = max(worst, max(abs(m - 1) for m in masses))
            print(worst)
            """, out], timeout: 60)
        #expect(check.status == 0 && (Double(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1) <= 1e-10, "\(check.stdout) \(check.stderr)")
        let summary = try String(contentsOfFile: out + "/summary.json", encoding: .utf8)
        #expect(summary.components(separatedBy: "\"classMeanOverlap\"").count - 1 == 3, "an anatomy for H, G and R")

        for (pair, exact) in [("G,G", true), ("H,G", false)] {
            let compared = directory.appendingPathComponent("compare-\(pair)").path
            run = try MPITestSupport.run(np: 1, ["compare", out, out, "--matrices", pair, "--out", compared])
            try #require(run.status == 0, "\(pair): \(run.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: compared + "/compare.json"))) as? [String: Any])
            let overlap = try #require(json["overlap"] as? Double)
            #expect(exact ? abs(overlap - 1) <= 1e-12 : (overlap >= 0 && overlap <= 1), "\(pair): \(overlap)")
        }
        for (arguments, expected) in [(["--eigenvectors-of", "H,G"], "names G, which is computed only with --ggn"),
                                      (["--ggn", "--eigenvectors-of", "R"], "names R, which is decomposed only with --residual"),
                                      (["--ggn", "--eigenvectors-of", "H,X"], "'X' is not a matrix")] {
            let bad = directory.appendingPathComponent("bad").path
            run = try MPITestSupport.run(np: 2, ["spectrum", "--at", "init", "--out", bad] + Self.flags + arguments)
            let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(run.status == 2 && lines.count == 1 && lines[0].contains(expected) && lines[0].contains("--eigenvectors-of"), "\(arguments): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: bad), "\(arguments): wrote \(bad)")
        }
    }

    /// `train --track-top K`: the last tracked row against the exact spectrum and gradient at the
    /// run's final parameters (spectrum --eigenvectors top:K, evaluate --gradient).
    @Test func trackedSubspaceMatchesTheExactOneAtTheEnd() throws {
        let directory = try MPITestSupport.temporaryDirectory("track")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = ["--data", "clusters", "--samples", "60", "--classes", "3", "--dimension", "4", "--layers", "5", "--activation", "tanh", "--seed", "4"]
        let train = directory.appendingPathComponent("train").path
        var run = try MPITestSupport.run(np: 2, ["train"] + data + ["--steps", "30", "--record-every", "5", "--track-top", "3", "--track-every", "10",
                                                                   "--learning-rate", "0.3", "--out", train, "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        let spectrum = directory.appendingPathComponent("spectrum").path, evaluate = directory.appendingPathComponent("evaluate").path
        run = try MPITestSupport.run(np: 2, ["spectrum"] + data + ["--checkpoint", train + "/params.npy", "--eigenvectors", "top:3", "--block", "8",
                                                                   "--out", spectrum, "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        run = try MPITestSupport.run(np: 1, ["evaluate"] + data + ["--params", train + "/params.npy", "--gradient", "--out", evaluate])
        try #require(run.status == 0, "\(run.stderr)")
        let check = try MPITestSupport.execute(["python3", "-c", """
            import csv, sys, numpy as np
            train, spectrum, evaluate = sys.argv[1:4]
            rows = list(csv.DictReader(open(train + "/track.csv")))
            assert [r["step"] for r in rows] == ["0", "10", "20", "30"], [r["step"] for r in rows]
            assert rows[0]["overlap_previous"] == "" and all(0 <= float(r["overlap_previous"]) <= 1 + 1e-12 for r in rows[1:])
            last = rows[-1]
            z, lam, g = np.load(spectrum + "/eigenvectors.npy"), np.load(spectrum + "/eigenvalues.npy"), np.load(evaluate + "/gradient.npy")
            exact = ((z.T @ g) ** 2).sum() / (g @ g)
            ours = [float(last[f"lambda_{i}"]) for i in (1, 2, 3)]
            print(max(abs(float(last["gradient_fraction"]) - exact), np.abs(np.array(ours) - lam[::-1]).max() / abs(lam).max()))
            """, train, spectrum, evaluate], timeout: 60)
        #expect(check.status == 0 && (Double(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1) <= 1e-7, "\(check.stdout) \(check.stderr)")
        // A track-every that is not a multiple of record-every is refused, nothing written.
        let bad = directory.appendingPathComponent("bad").path
        run = try MPITestSupport.run(np: 1, ["train"] + data + ["--steps", "10", "--record-every", "4", "--track-top", "2", "--track-every", "6", "--out", bad])
        #expect(run.status == 2 && run.stderr.contains("--track-every = 6 must be a positive multiple of train.record-every = 4"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: bad))
    }
}
}
