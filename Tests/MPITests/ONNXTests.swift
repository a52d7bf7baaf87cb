import Foundation
import NPY
import Testing

extension MPIJobs {
/// `model.onnx` through the commands: graphs written with the `onnx` Python helper (no PyTorch),
/// checked against an independent NumPy interpreter of the same graph (Tests/ONNXReference:
/// hand-written backpropagation, Hessian-vector products by complex-step differentiation of it),
/// on 1–4 ranks; the spectrum against NumPy's eigvalsh; export → import bit for bit; refusals.
@Suite struct ONNXImport {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ONNXReference/onnx_reference.py").path

    /// Runs the reference script; its last line of output is JSON.
    static func python(_ arguments: [String]) throws -> [String: Any] {
        let run = try MPITestSupport.execute(["python3", reference] + arguments, timeout: 120)
        try #require(run.status == 0, "onnx_reference.py \(arguments.first ?? ""): \(run.stderr)")
        let line = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return (try JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
    }

    /// A model of `kind` and N samples fitting it (NCHW images for the convnets, rows for the MLP),
    /// labels i mod 3, and two random directions.
    static func fixture(_ kind: String, dtype: String = "float64", in directory: URL) throws -> (model: String, data: [String], v: String) {
        let model = directory.appendingPathComponent("\(kind)-\(dtype).onnx").path
        _ = try MPITestSupport.execute(["python3", reference, "make", model, kind, dtype, "1"], timeout: 60)
        try #require(FileManager.default.fileExists(atPath: model), "make \(kind)")
        let x = directory.appendingPathComponent("X-\(kind).npy").path, y = directory.appendingPathComponent("y.npy").path
        let v = directory.appendingPathComponent("V-\(kind).npy").path
        let (shape, m) = kind == "mlp" ? ([12, 4], 51) : ([12, 1, 6, 6], 85)
        var state: UInt64 = 7
        func next() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) * 0x1p-53 * 2 - 1 }
        try NPYArray(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in next() }).write(to: x)
        try NPYArray(shape: [12], values: (0..<12).map { Double($0 % 3) }).write(to: y)
        try NPYArray(shape: [2, m], values: (0..<(2 * m)).map { _ in next() }).write(to: v)
        return (model, ["--data", "npy", "--x", x, "--y", y, "--onnx", model], v)
    }

    @Test func lossGradientAndHessianProductsEqualNumPyOnOneToFourRanks() throws {
        let directory = try MPITestSupport.temporaryDirectory("onnx-numpy")
        defer { try? FileManager.default.removeItem(at: directory) }
        // convnet-external: the same graph with its weights in a side file, as the dynamo exporter writes.
        for kind in ["convnet", "mlp", "convnet-external"] {
            let (model, flags, v) = try Self.fixture(kind, in: directory)
            var products: [[Double]] = []
            for np in kind == "convnet" ? [1, 2, 3, 4] : [1, 2] {
                let out = directory.appendingPathComponent("\(kind)-np\(np)").path
                let run = try MPITestSupport.run(np: np, ["evaluate"] + flags + ["--gradient", "--products", v, "--out", out])
                try #require(run.status == 0, "\(kind) np \(np): \(run.stderr)")
                let numpy = try Self.python(["check", model, flags[3], flags[5], v, out])
                for key in ["loss_difference", "gradient_difference", "products_difference"] {
                    let difference = try #require(numpy[key] as? Double, "\(kind): \(numpy)")
                    #expect(difference <= 1e-12, "\(kind) np \(np): \(key) \(difference)")
                }
                #expect((numpy["symmetry"] as? Double ?? 1) <= 1e-12, "\(kind) np \(np): uᵀHv ≠ vᵀHu: \(numpy)")
                products.append(try NPYArray(contentsOf: out + "/products.npy").values)
            }
            for (np, p) in products.enumerated().dropFirst() {
                #expect(MPITestSupport.maxRelativeDifference(p, products[0]) <= 1e-10, "\(kind): \(np + 1) ranks differ from 1")
            }
        }
    }

    @Test func spectrumOfAnImportedConvnetEqualsNumPyOnThreeRanks() throws {
        let directory = try MPITestSupport.temporaryDirectory("onnx-spectrum")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (model, flags, _) = try Self.fixture("convnet", in: directory)
        let out = directory.appendingPathComponent("spectrum").path
        let run = try MPITestSupport.run(np: 3, ["spectrum", "--at", "init", "--block", "8", "--out", out, "--quiet"] + flags)
        try #require(run.status == 0, "\(run.stderr)")
        let numpy = try Self.python(["eigenvalues", model, flags[3], flags[5]])
        let expected = try #require(numpy["eigenvalues"] as? [Double])
        let eigenvalues = try NPYArray(contentsOf: out + "/eigenvalues.npy").values
        #expect(eigenvalues.count == 85 && MPITestSupport.maxRelativeDifference(eigenvalues, expected) <= 1e-10)
        let summary = try String(contentsOfFile: out + "/summary.json", encoding: .utf8)
        #expect(summary.contains("the initialisers of model.onnx"), "θ₀ is the file's initialisers")
    }

    @Test func exportThenImportIsBitIdentical() throws {
        let directory = try MPITestSupport.temporaryDirectory("onnx-export")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (model, flags, _) = try Self.fixture("convnet", in: directory)
        let train = directory.appendingPathComponent("train").path
        var run = try MPITestSupport.run(np: 2, ["train"] + flags + ["--steps", "20", "--learning-rate", "0.5", "--out", train, "--quiet"])
        try #require(run.status == 0, "train: \(run.stderr)")
        let exported = directory.appendingPathComponent("trained.onnx").path
        run = try MPITestSupport.run(np: 2, ["export", "onnx", "--config", train + "/config.toml", "--params", train + "/params.npy", "--out", exported])
        try #require(run.status == 0, "export: \(run.stderr)")
        #expect(run.stdout.contains("8 initialisers of '\(model)' replaced"), "\(run.stdout)")
        // The exported file, imported again, starts at the trained θ bit for bit: evaluate at its
        // θ₀ and at params.npy under the original graph agree exactly, and the file passes
        // onnx.checker with the trained values in its initialisers.
        let probe = directory.appendingPathComponent("probe").path
        run = try MPITestSupport.run(np: 1, ["evaluate"] + flags.dropLast(2) + ["--onnx", exported, "--gradient", "--out", probe])
        try #require(run.status == 0, "evaluate exported: \(run.stderr)")
        let check = try MPITestSupport.execute(["python3", "-c", """
            import sys, numpy as np, onnx
            sys.path.insert(0, sys.argv[1])
            from onnx_reference import layout, flatten
            from onnx import numpy_helper
            m = onnx.load(sys.argv[2]); onnx.checker.check_model(m)
            t = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
            theta = flatten(layout(m.graph), t)
            print(np.array_equal(theta.view(np.uint64), np.load(sys.argv[3]).view(np.uint64)))
            """, (Self.reference as NSString).deletingLastPathComponent, exported, train + "/params.npy"], timeout: 60)
        #expect(check.stdout.contains("True"), "exported initialisers ≠ params.npy: \(check.stdout) \(check.stderr)")
        let summary = try String(contentsOfFile: probe + "/summary.json", encoding: .utf8)
        let original = directory.appendingPathComponent("original").path
        run = try MPITestSupport.run(np: 1, ["evaluate"] + flags + ["--params", train + "/params.npy", "--gradient", "--out", original])
        try #require(run.status == 0)
        let gradients = (try NPYArray(contentsOf: probe + "/gradient.npy").values, try NPYArray(contentsOf: original + "/gradient.npy").values)
        #expect(gradients.0 == gradients.1, "the exported file's θ₀ is not the trained θ")
        func loss(_ text: String) -> Substring? { text.split(separator: "\n").first { $0.contains("\"loss\"") } }
        let originalSummary = try String(contentsOfFile: original + "/summary.json", encoding: .utf8)
        #expect(loss(summary) != nil && loss(summary) == loss(originalSummary))

        // float32 initialisers: θ₀ exported again gives the file's own values; trained values round.
        let (model32, flags32, _) = try Self.fixture("convnet", dtype: "float32", in: directory)
        let same = directory.appendingPathComponent("same32.onnx").path
        let point = directory.appendingPathComponent("theta0").path
        run = try MPITestSupport.run(np: 1, ["evaluate"] + flags32 + ["--gradient", "--out", point])
        try #require(run.status == 0, "float32 import: \(run.stderr)")
        // θ₀ of the float32 file (its initialisers widened to float64) as a params.npy:
        let theta0 = directory.appendingPathComponent("theta0.npy").path
        let widen = try MPITestSupport.execute(["python3", "-c", """
            import sys, numpy as np, onnx
            sys.path.insert(0, sys.argv[1])
            from onnx_reference import layout, flatten
            from onnx import numpy_helper
            m = onnx.load(sys.argv[2])
            np.save(sys.argv[3], flatten(layout(m.graph), {i.name: numpy_helper.to_array(i).astype(np.float64) for i in m.graph.initializer}))
            """, (Self.reference as NSString).deletingLastPathComponent, model32, theta0], timeout: 60)
        try #require(widen.status == 0, "\(widen.stderr)")
        run = try MPITestSupport.run(np: 1, ["export", "onnx", "--onnx", model32, "--params", theta0, "--out", same])
        try #require(run.status == 0, "export float32: \(run.stderr)")
        #expect(run.stdout.contains("float32 initialisers: θ rounded, largest relative change 0.00e+00"), "\(run.stdout)")
        let equal = try MPITestSupport.execute(["python3", "-c", """
            import sys, onnx
            a, b = onnx.load(sys.argv[1]).graph.initializer, onnx.load(sys.argv[2]).graph.initializer
            from onnx import numpy_helper
            print(all(numpy_helper.to_array(x).tobytes() == numpy_helper.to_array(y).tobytes() and x.data_type == y.data_type for x, y in zip(a, b)))
            """, model32, same], timeout: 60)
        #expect(equal.stdout.contains("True"), "float32 round trip: \(equal.stdout) \(equal.stderr)")
    }

    @Test func refusesWhatItCannotImportInOneLine() throws {
        let directory = try MPITestSupport.temporaryDirectory("onnx-refusals")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, flags, _) = try Self.fixture("convnet", in: directory)
        let garbage = directory.appendingPathComponent("garbage.onnx").path
        try Data("this is not a protocol buffer\n".utf8).write(to: URL(fileURLWithPath: garbage))
        var cases: [(model: String, expected: String)] = [(garbage, "is not an ONNX model")]
        for (kind, expected) in [("convnet-bad-op", "node 'elu2' (Elu): operator Elu is not supported"),
                                 ("convnet-mixed-bias", "node 'conv2' (Conv) has no bias but node 'conv1' (Conv) has one"),
                                 ("convnet-branch", "node 'flatten' (Flatten) does not take the previous node's output 'p2'"),
                                 ("convnet-wrong-size", "weight 'd1.w' has shape [5, 4], but the layer takes 3 inputs"),
                                 ("convnet-softmax", "operator Softmax is not supported; Landscape applies model.loss"),
                                 ("convnet-two-outputs", "has 2 graph outputs ('logits', 'a1'); Landscape imports graphs with exactly one output"),
                                 ("mlp", "takes d = 4 inputs per sample, but the data have d = 36")] {
            cases.append((try Self.fixture(kind, in: directory).model, expected))
        }
        for (model, expected) in cases {
            let out = directory.appendingPathComponent("out").path
            let run = try MPITestSupport.run(np: 2, ["train"] + flags.dropLast(2) + ["--onnx", model, "--steps", "1", "--out", out])
            let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(run.status == 2 && lines.count == 1 && lines[0].contains("--onnx") && lines[0].contains(expected), "\(model): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(model): wrote \(out)")
        }
        // Export needs a run on an imported model, and a parameter vector of its M.
        let params = directory.appendingPathComponent("short.npy").path
        try NPYArray(shape: [3], values: [1, 2, 3]).write(to: params)
        for (arguments, expected) in [(["--params", params], "model.onnx is not set"),
                                      (["--onnx", flags[7], "--params", params], "--params '\(params)' holds 3 values (shape [3]) but the model has M = 85")] {
            let out = directory.appendingPathComponent("x.onnx").path
            let run = try MPITestSupport.run(np: 1, ["export", "onnx"] + arguments + ["--out", out])
            #expect(run.status == 2 && run.stderr.contains(expected), "\(arguments): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }
}
}
