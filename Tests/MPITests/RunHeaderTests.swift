import Foundation
import Testing

/// The job layer's run header: every command that writes a summary.json writes the same `header`
/// object first — the same keys (null where a command has none), the command's name, this build's
/// version, and values that agree with the run (M and N of the model and data, the ranks, the peaks
/// of every rank). One tiny run of each command on 2 ranks.
extension MPIJobs {
@Suite struct RunHeader {
    static let keys: Set<String> = ["command", "version", "model", "data", "parameters", "samples", "ranks", "grid", "point",
                                    "seconds", "peakResidentBytesPerRank"]
    /// M = 5·4 + 4 + 4·3 + 3 = 39, N = 40.
    static let model = ["--data", "clusters", "--samples", "40", "--classes", "3", "--dimension", "5", "--layers", "4",
                        "--activation", "tanh", "--seed", "2"]

    static func header(_ directory: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json"))
        let summary = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return summary["header"] as? [String: Any] ?? [:]
    }

    @Test func everyCommandWritesTheSameHeader() throws {
        let directory = try MPITestSupport.temporaryDirectory("run-header")
        defer { try? FileManager.default.removeItem(at: directory) }
        func out(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let sweep = try Sweeps.write("""
            seed = 2
            [data]
            kind = "clusters"
            samples = 40
            classes = 3
            dimension = 5
            [model]
            layers = [4]
            activation = "tanh"
            [train]
            steps = 3
            [hessian]
            block = 8
            [sweep]
            "data.classes" = [2, 3]

            """, in: directory)
        let trained = out("train") + "/params.npy", early = out("train") + "/params-2.npy"
        // (command, arguments, M, N: nil where the header has none)
        let runs: [(String, [String], Int?, Int?)] = [
            ("train", Self.model + ["--steps", "6", "--checkpoint-every", "2"], 39, 40),
            ("evaluate", Self.model + ["--params", trained], 39, 40),
            ("spectrum", Self.model + ["--checkpoint", trained, "--block", "8"], 39, 40),
            ("top", Self.model + ["--checkpoint", trained, "--k", "2"], 39, 40),
            ("density", Self.model + ["--checkpoint", trained, "--probes", "2"], 39, 40),
            ("trace", Self.model + ["--checkpoint", trained, "--max-matvecs", "20"], 39, 40),
            ("interpolate", Self.model + ["--from", trained, "--to", early, "--range", "0:1:3"], 39, 40),
            ("path", Self.model + ["--from", early, "--to", trained, "--method", "neb", "--pivots", "2", "--iterations", "3"], 39, 40),
            ("critical", Self.model + ["--loss", "mse", "--starts", "1"], 39, 40),
            ("eig", ["--test-matrix", "householder:20", "--block", "4"], 20, nil),
            ("sweep", ["--config", sweep], nil, nil),
        ]
        for (command, arguments, m, n) in runs {
            let quiet = command == "evaluate" ? [] : ["--quiet"]   // (evaluate prints one line, and has no --quiet)
            let run = try MPITestSupport.run(np: 2, [command] + arguments + quiet + ["--out", out(command)], timeout: 180)
            try #require(run.status == 0, "\(command): exit \(run.status): \(run.stderr)")
            let header = try Self.header(command == "sweep" ? out(command) + "/sweep" : out(command))
            #expect(Set(header.keys) == Self.keys, "\(command): \(header.keys.sorted())")
            #expect(header["command"] as? String == command)
            #expect(header["version"] as? String == "0.1.0", "\(command): \(header["version"] ?? "none")")
            #expect(header["ranks"] as? Int == 2, "\(command)")
            #expect(header["parameters"] as? Int == m && header["samples"] as? Int == n,
                    "\(command): M \(header["parameters"] ?? "null"), N \(header["samples"] ?? "null")")
            let peaks = header["peakResidentBytesPerRank"] as? [Int] ?? []
            #expect(peaks.count == 2 && peaks.allSatisfy { $0 > 1 << 20 }, "\(command): peaks \(peaks)")
            #expect((header["seconds"] as? Double ?? -1) > 0, "\(command)")
            if m != nil && command != "eig" {
                #expect((header["model"] as? String)?.hasPrefix("MLP 5-4-3, tanh") == true, "\(command): \(header["model"] ?? "null")")
                #expect((header["data"] as? String)?.hasPrefix("clusters: 40 samples") == true, "\(command): \(header["data"] ?? "null")")
                #expect(header["point"] is String, "\(command): no point")
            } else {
                #expect(header["model"] is NSNull, "\(command): a model where there is none")
            }
            if command == "spectrum" || command == "eig" { #expect(header["grid"] as? String == "1x2" || header["grid"] as? String == "2x1") }
        }
        // The pairs of `path --minima` carry it too, each naming its own pair.
        let pair = try MPITestSupport.run(np: 2, ["path"] + Self.model + ["--minima", early, trained, out("train") + "/params-4.npy",
                                                                            "--method", "neb", "--pivots", "1", "--iterations", "2", "--out", out("minima")], timeout: 180)
        try #require(pair.status == 0, "path --minima: \(pair.stderr)")
        for name in ["", "/pairs/1-2", "/pairs/2-3"] {
            let header = try Self.header(out("minima") + name)
            #expect(Set(header.keys) == Self.keys && header["command"] as? String == "path", "\(name): \(header)")
        }
        #expect((try Self.header(out("minima") + "/pairs/1-2"))["point"] as? String == "\(early) → \(trained)")
    }
}
}
