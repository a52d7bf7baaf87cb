import CScaLAPACK
import Foundation
import Networks
import NPY
import Samples
import Testing

extension MPIJobs {
/// `[model] kind = "convnet"` through the commands: the exact spectrum of a tiny convnet on 1 and 2
/// ranks against LAPACK on the Hessian assembled here from Hessian-vector columns, training on the
/// real MNIST digits of launch/mnist-5k, and the layer settings' refusals.
@Suite struct ConvolutionalNetworkRuns {
    static let convolution = ["conv 2 3x3", "avgpool 2", "dense 4"]
    static let (samples, classes) = (12, 3)

    /// N images 1 × 6 × 6 as an N × 1 × 6 × 6 NPY array (NCHW), labels i mod 3.
    static func data(in directory: URL) throws -> (x: String, y: String, inputs: [Double], targets: [Double]) {
        let x = directory.appendingPathComponent("X.npy").path, y = directory.appendingPathComponent("y.npy").path
        var state: UInt64 = 5
        func next() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) * 0x1p-53 * 2 - 1 }
        let inputs = (0..<(samples * 36)).map { _ in next() }
        try NPYArray(shape: [samples, 1, 6, 6], values: inputs).write(to: x)
        try NPYArray(shape: [samples], values: (0..<samples).map { Double($0 % classes) }).write(to: y)
        var targets = [Double](repeating: 0, count: samples * classes)
        for i in 0..<samples { targets[i * classes + i % classes] = 1 }
        return (x, y, inputs, targets)
    }

    /// H = (1/N) Σᵢ ∇²ℓᵢ from M Hessian-vector products against the unit directions, at the
    /// initialisation of seed 3: the reference the distributed assembly must reproduce.
    static func reference(inputs: [Double], targets: [Double]) throws -> (hessian: [Double], eigenvalues: [Double]) {
        var specification = ModelSpecification()
        specification.kind = .convnet
        specification.convolution = convolution
        specification.activation = .tanh
        let model = try specification.model(inputs: 36, shape: [1, 6, 6], outputs: classes)
        let θ = Initialization.heNormal.parameters(for: model, seed: 3), m = model.parameterCount
        var units = [Double](repeating: 0, count: m * m)
        for j in 0..<m { units[j * m + j] = 1 }
        let batch = SampleBatch(inputs: inputs, inputDimension: 36, targets: targets, targetDimension: classes)
        let hessian = model.hessianVectorProduct(θ, on: batch, directions: units, count: m).map { $0 / Double(samples) }
        var a = hessian, w = [Double](repeating: 0, count: m)
        precondition(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 78, 76, Int32(m), &a, Int32(m), &w) == 0)
        return (hessian, w)
    }

    @Test func spectrumEqualsLAPACKOnHessianVectorColumns() throws {
        let directory = try MPITestSupport.temporaryDirectory("convnet-spectrum")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (x, y, inputs, targets) = try Self.data(in: directory)
        let reference = try Self.reference(inputs: inputs, targets: targets)
        let m = reference.eigenvalues.count
        #expect(m == 2 * 9 + 2 + 4 * 8 + 4 + 3 * 4 + 3)
        let scale = reference.eigenvalues.map(abs).max()!
        var spectra: [[Double]] = []
        for np in [1, 2] {
            let out = directory.appendingPathComponent("p\(np)").path
            let run = try MPITestSupport.run(np: np, [
                "spectrum", "--at", "init", "--seed", "3", "--data", "npy", "--x", x, "--y", y, "--model", "convnet",
                "--convolution", Self.convolution.joined(separator: ","), "--activation", "tanh", "--block", "8", "--save-hessian",
                "--out", out, "--quiet"])
            try #require(run.status == 0, "np \(np): \(run.stderr)")
            let eigenvalues = try NPYArray(contentsOf: out + "/eigenvalues.npy").values
            let hessian = try NPYArray(contentsOf: out + "/hessian.npy").values
            #expect(MPITestSupport.maxRelativeDifference(hessian, reference.hessian) <= 1e-12, "np \(np): H")
            #expect(MPITestSupport.maxRelativeDifference(eigenvalues, reference.eigenvalues) <= 1e-10, "np \(np): eigenvalues")
            let config = try String(contentsOfFile: out + "/config.toml", encoding: .utf8)
            #expect(config.contains("kind = \"convnet\"") && config.contains("convolution = [\"conv 2 3x3\", \"avgpool 2\", \"dense 4\"]"))
            spectra.append(eigenvalues)
        }
        #expect(zip(spectra[0], spectra[1]).allSatisfy { abs($0 - $1) <= 1e-10 * scale }, "1 and 2 ranks differ")
    }

    /// A few steps on the real digits (2 ranks), then evaluate; and refusals naming the setting.
    @Test func trainsOnTheMNISTDigitsAndRefusesBadLayers() throws {
        let directory = try MPITestSupport.temporaryDirectory("convnet-mnist")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("digits").path
        let made = try MPITestSupport.execute([MNISTFiveThousand.script, "--out", data], timeout: 300)
        try #require(made.status == 0, "launch/mnist-5k: \(made.stderr)")
        let flags = ["--data", "mnist", "--images", data + "/images-idx3-ubyte", "--labels", data + "/labels-idx1-ubyte",
                     "--samples", "200", "--subset", "random", "--model", "convnet", "--seed", "2"]
        let out = directory.appendingPathComponent("train").path
        var run = try MPITestSupport.run(np: 2, ["train"] + flags + ["--convolution", "conv 4 5x5 stride 2,maxpool 2,dense 16",
                                                                    "--steps", "10", "--out", out, "--quiet"])
        try #require(run.status == 0, "train: \(run.stderr)")
        let rows = try String(contentsOfFile: out + "/train.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        let losses = rows.compactMap { Double($0.split(separator: ",")[1]) }
        #expect(losses.count >= 2 && losses.last! < losses.first!, "losses \(losses)")
        let summary = try String(contentsOfFile: out + "/summary.json", encoding: .utf8)
        #expect(summary.contains("convnet 1×28×28: conv 4 5x5 stride 2, relu, maxpool 2, dense 16, relu, dense 10"))

        for (convolution, expected) in [("conv 4 29x29", "entry 1 'conv 4 29x29': kernel 29x29 is larger than its input 28x28"),
                                        ("conv 0 3x3", "entry 1 'conv 0 3x3' needs ≥ 1 output channels"),
                                        ("maxpool 2 stride 0", "needs a stride ≥ 1"),
                                        ("dense 8,conv 2 3x3", "entry 2 'conv 2 3x3': kernel 3x3 is larger than its input 1x1 (input 8×1×1)")] {
            let bad = directory.appendingPathComponent("bad").path
            run = try MPITestSupport.run(np: 2, ["train"] + flags + ["--convolution", convolution, "--steps", "1", "--out", bad])
            #expect(run.status == 2, "\(convolution): \(run.stderr)")
            let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(lines.count == 1 && lines[0].contains("--convolution") && lines[0].contains(expected), "\(convolution): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: bad), "\(convolution): wrote \(bad)")
        }
        run = try MPITestSupport.run(np: 1, ["train"] + flags + ["--convolution", "dense 4", "--shape", "2,28,28", "--steps", "1",
                                                                 "--out", directory.appendingPathComponent("bad").path])
        #expect(run.status == 2 && run.stderr.contains("--shape 2×28×28 does not describe the data's d = 784 inputs"), "\(run.stderr)")
    }
}
}
