import Foundation
import NPY
import Testing

/// `landscape data export` and the training commands' bad-input contract under mpirun.
extension MPIJobs {
@Suite struct DataRuns {
    static func bigEndian(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// IDX3 images with pixel (i, q) = (5i + q) mod 256, and IDX1 labels i mod 10.
    static func mnist(count: Int, rows: Int, columns: Int, in directory: URL, gzip: Bool = false,
                      imageMagic: [UInt8] = [0, 0, 8, 3], labelMagic: [UInt8] = [0, 0, 8, 1],
                      labelCount: Int? = nil, labels custom: [UInt8]? = nil, truncate: Int = 0) throws -> (String, String) {
        var images = imageMagic + bigEndian(count) + bigEndian(rows) + bigEndian(columns)
        for i in 0..<count { for q in 0..<(rows * columns) { images.append(UInt8((5 * i + q) % 256)) } }
        let labels = custom ?? (0..<(labelCount ?? count)).map { UInt8($0 % 10) }
        let imagePath = directory.appendingPathComponent("train-images-idx3-ubyte").path
        let labelPath = directory.appendingPathComponent("train-labels-idx1-ubyte").path
        try Data(images.dropLast(truncate)).write(to: URL(fileURLWithPath: imagePath))
        try Data(labelMagic + bigEndian(labels.count) + labels).write(to: URL(fileURLWithPath: labelPath))
        guard gzip else { return (imagePath, labelPath) }
        for path in [imagePath, labelPath] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/gzip")
            process.arguments = ["-f", path]
            try process.run()
            process.waitUntilExit()
        }
        return (imagePath + ".gz", labelPath + ".gz")
    }

    static func cifar(labels: [UInt8], to path: String, truncate: Int = 0) throws {
        var bytes: [UInt8] = []
        for (i, label) in labels.enumerated() {
            bytes.append(label)
            for q in 0..<3072 { bytes.append(UInt8((i * 3 + q) % 256)) }
        }
        try Data(bytes.dropLast(truncate)).write(to: URL(fileURLWithPath: path))
    }

    static func npy(_ values: [Double], shape: [Int], descr: String = "<f8", to path: String, truncate: Int = 0) throws {
        var data = Data(NPYHeader(dataType: try NPYDataType(descr: descr), fortranOrder: false, shape: shape).encoded())
        for v in values {
            if descr == "<i8" { withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) } }
            else { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        try data.dropLast(truncate).write(to: URL(fileURLWithPath: path))
    }

    /// The Gaussian clusters exported at P = 1…4 are the same numbers: each rank generated only
    /// its shard, and the global standardisation came from allreduces.
    @Test func clusterNormalisationDoesNotDependOnTheRankCount() throws {
        let directory = try MPITestSupport.temporaryDirectory("data-p")
        defer { try? FileManager.default.removeItem(at: directory) }
        var exports: [[Double]] = [], labels: [[Double]] = [], heldOut: [[Double]] = []
        for np in 1...4 {
            let out = directory.appendingPathComponent("p\(np)").path
            let run = try MPITestSupport.run(np: np, ["data", "export", "--data", "clusters", "--samples", "103", "--classes", "4",
                                                     "--dimension", "6", "--covariance", "0.5", "--seed", "3", "--held-out", "3", "--out", out])
            try #require(run.status == 0, "np \(np): \(run.stderr)")
            let x = try NPYArray(contentsOf: out + "/X.npy")
            #expect(x.shape == [103, 6])
            exports.append(x.values)
            labels.append(try NPYArray(contentsOf: out + "/y.npy").values)
            heldOut.append(try NPYArray(contentsOf: out + "/X_held_out.npy").values + NPYArray(contentsOf: out + "/y_held_out.npy").values)
        }
        for np in 2...4 {
            let worst = zip(exports[np - 1], exports[0]).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-13, "np \(np): max difference \(worst)")
            #expect(labels[np - 1] == labels[0])
            // Held-out samples 103…105 (3 samples on up to 4 ranks: some hold none).
            #expect(zip(heldOut[np - 1], heldOut[0]).allSatisfy { abs($0 - $1) <= 1e-13 })
        }
        #expect(heldOut[0].count == 3 * 6 + 3 && Array(heldOut[0].suffix(3)) == [3, 0, 1])
        #expect(labels[0] == (0..<103).map { Double($0 % 4) })
        for q in 0..<6 {
            let column = (0..<103).map { exports[0][$0 * 6 + q] }
            let mean = column.reduce(0, +) / 103
            let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 103
            #expect(abs(mean) < 1e-13 && abs(variance - 1) < 1e-12, "feature \(q): mean \(mean), variance \(variance)")
        }
    }

    /// MNIST (gzipped, random subset, standardised off), CIFAR-10 and NPY files round-trip through
    /// the loaders on 2 ranks into exactly the numbers the files hold.
    @Test func fileDatasetsExportTheirContents() throws {
        let directory = try MPITestSupport.temporaryDirectory("data-files")
        defer { try? FileManager.default.removeItem(at: directory) }
        // MNIST, gzipped, first 7 of 9 images of 2 × 3.
        let (images, labels) = try Self.mnist(count: 9, rows: 2, columns: 3, in: directory, gzip: true)
        var out = directory.appendingPathComponent("mnist").path
        var run = try MPITestSupport.run(np: 2, ["data", "export", "--data", "mnist", "--images", images, "--labels", labels,
                                                 "--samples", "7", "--out", out])
        try #require(run.status == 0, "\(run.stderr)")
        var x = try NPYArray(contentsOf: out + "/X.npy")
        #expect(x.shape == [7, 6])
        let expected: [Double] = (0..<42).map { (t: Int) -> Double in
            let byte = (5 * (t / 6) + t % 6) % 256
            return Double(byte) / 255
        }
        #expect(x.values == expected)
        #expect(try NPYArray(contentsOf: out + "/y.npy").values == (0..<7).map { Double($0 % 10) })

        // CIFAR-10: a directory of two batches, 3 + 2 records.
        let cifar = directory.appendingPathComponent("cifar")
        try FileManager.default.createDirectory(at: cifar, withIntermediateDirectories: true)
        try Self.cifar(labels: [3, 1, 4], to: cifar.appendingPathComponent("data_batch_1.bin").path)
        try Self.cifar(labels: [9, 0], to: cifar.appendingPathComponent("data_batch_2.bin").path)
        out = directory.appendingPathComponent("cifar-out").path
        run = try MPITestSupport.run(np: 2, ["data", "export", "--data", "cifar10", "--cifar", cifar.path, "--out", out])
        try #require(run.status == 0, "\(run.stderr)")
        x = try NPYArray(contentsOf: out + "/X.npy")
        #expect(x.shape == [5, 3072])
        #expect(try NPYArray(contentsOf: out + "/y.npy").values == [3, 1, 4, 9, 0])
        let record = [0, 1, 2, 0, 1]   // record index within its file
        for i in 0..<5 { #expect(x.values[i * 3072 + 100] == Double((record[i] * 3 + 100) % 256) / 255) }

        // NPY regression targets, standardised inputs.
        let xs = (0..<12).map { Double($0 * $0) }, ys = (0..<8).map { Double($0) - 2.5 }
        try Self.npy(xs, shape: [4, 3], to: directory.appendingPathComponent("X.npy").path)
        try Self.npy(ys, shape: [4, 2], to: directory.appendingPathComponent("y.npy").path)
        out = directory.appendingPathComponent("npy-out").path
        run = try MPITestSupport.run(np: 2, ["data", "export", "--data", "npy", "--x", directory.appendingPathComponent("X.npy").path,
                                             "--y", directory.appendingPathComponent("y.npy").path, "--standardize", "true", "--out", out])
        try #require(run.status == 0, "\(run.stderr)")
        x = try NPYArray(contentsOf: out + "/X.npy")
        let y = try NPYArray(contentsOf: out + "/y.npy")
        #expect(y.shape == [4, 2] && y.values == ys)
        for q in 0..<3 {
            let column = (0..<4).map { x.values[$0 * 3 + q] }
            #expect(abs(column.reduce(0, +)) < 1e-12)
            #expect(abs(column.reduce(0) { $0 + $1 * $1 } / 4 - 1) < 1e-12)
        }
    }

    /// Every bad input of the issue: exit 2, one `error:` line naming the problem, nothing written.
    @Test func badInputsAreRefused() throws {
        let directory = try MPITestSupport.temporaryDirectory("data-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let small = ["--data", "clusters", "--samples", "20", "--classes", "2", "--dimension", "3", "--layers", "4", "--steps", "2"]

        // Files: each case gets its own subdirectory.
        func mnistCase(_ name: String, _ build: (URL) throws -> (String, String)) throws -> [String] {
            let sub = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            let (images, labels) = try build(sub)
            return ["--data", "mnist", "--images", images, "--labels", labels, "--layers", "4", "--steps", "2"]
        }
        let wrongMagic = try mnistCase("magic") { try Self.mnist(count: 4, rows: 2, columns: 2, in: $0, imageMagic: [0, 0, 8, 1]) }
        let truncated = try mnistCase("trunc") { try Self.mnist(count: 4, rows: 2, columns: 2, in: $0, truncate: 2) }
        let counts = try mnistCase("count") { try Self.mnist(count: 4, rows: 2, columns: 2, in: $0, labelCount: 3) }
        let range = try mnistCase("range") { try Self.mnist(count: 4, rows: 2, columns: 2, in: $0, labels: [0, 1, 11, 2]) }
        let labelMagic = try mnistCase("lmagic") { try Self.mnist(count: 4, rows: 2, columns: 2, in: $0, labelMagic: [0, 0, 8, 3]) }
        try Self.cifar(labels: [1, 2], to: path("short.bin"), truncate: 10)
        try Self.cifar(labels: [1, 12], to: path("label.bin"))
        try Self.npy((0..<8).map(Double.init), shape: [4, 2], to: path("X4.npy"))
        try Self.npy([0, 1, 0], shape: [3], descr: "<i8", to: path("y3.npy"))
        try Self.npy([0, 1, 0, 1], shape: [4], descr: "<i8", to: path("y4.npy"))
        try Self.npy((0..<8).map(Double.init), shape: [4, 2], to: path("Xshort.npy"), truncate: 9)
        try Self.npy([0, 1, 0.5], shape: [3], to: path("params.npy"))
        // A string-dtype label file (NumPy's '<U1'), as np.save(['a', 'b', …]) writes it.
        var header = "{'descr': '<U1', 'fortran_order': False, 'shape': (4,), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var strings = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        strings.append(Data(header.utf8))
        for c in "abab".unicodeScalars { withUnsafeBytes(of: c.value.littleEndian) { strings.append(contentsOf: $0) } }
        try strings.write(to: URL(fileURLWithPath: path("ystrings.npy")))
        try "[data]\nkind = \"clusters\"\nsampels = 10\n".write(toFile: path("typo.toml"), atomically: true, encoding: .utf8)
        try "[model]\nactivation = \"gelu\"\n".write(toFile: path("gelu.toml"), atomically: true, encoding: .utf8)

        let cases: [(String, [String], String)] = [
            ("unknown activation", ["train"] + small + ["--activation", "gelu"], "'gelu' is not one of relu, tanh"),
            ("unknown activation in file", ["train", "--config", path("gelu.toml")], "model.activation: 'gelu' is not one of"),
            ("unknown loss", ["train"] + small + ["--loss", "hinge"], "'hinge' is not one of cross-entropy, mse"),
            ("unknown dataset", ["train", "--data", "imagenet"], "'imagenet' is not one of clusters"),
            ("unknown key", ["train", "--config", path("typo.toml")], "unknown configuration key 'data.sampels'"),
            ("zero width", ["train"] + small + ["--layers", "4,0"], "--layers must all be ≥ 1"),
            ("negative steps", ["train"] + small + ["--steps=-3"], "--steps must be ≥ 1 (got -3)"),
            ("zero learning rate", ["train"] + small + ["--learning-rate", "0"], "--learning-rate must be > 0"),
            ("zero batch", ["train"] + small + ["--algorithm", "sgd", "--batch", "0"], "--batch must be ≥ 1"),
            ("batch larger than N", ["train"] + small + ["--algorithm", "sgd", "--batch", "21"], "larger than the 20 samples"),
            ("more ranks than samples", ["train"] + small + ["--samples", "1"], "2 ranks for 1 samples"),
            ("missing IDX", ["train", "--data", "mnist", "--images", path("nope"), "--labels", path("nope2")], "no such file"),
            ("IDX wrong magic", ["train"] + wrongMagic, "not an IDX image file"),
            ("IDX truncated", ["train"] + truncated, "is truncated"),
            ("IDX label count", ["train"] + counts, "holds 3 labels but"),
            ("IDX label range", ["train"] + range, "label 11 of sample 2 is out of range"),
            ("IDX label magic", ["train"] + labelMagic, "not an IDX label file"),
            ("CIFAR truncated", ["train", "--data", "cifar10", "--cifar", path("short.bin")], "not a whole number of 3073-byte records"),
            ("CIFAR label", ["train", "--data", "cifar10", "--cifar", path("label.bin")], "label 12 of record 1"),
            ("NPY lengths", ["train", "--data", "npy", "--x", path("X4.npy"), "--y", path("y3.npy")], "data.x holds 4 samples but data.y holds 3"),
            ("NPY string labels", ["train", "--data", "npy", "--x", path("X4.npy"), "--y", path("ystrings.npy")], "has dtype <U1; integer labels or float targets are required"),
            ("NPY truncated", ["train", "--data", "npy", "--x", path("Xshort.npy"), "--y", path("y4.npy")], "truncated"),
            ("params length", ["evaluate"] + small + ["--params", path("params.npy")], "but the model has M = 26 parameters; use the data and model.layers"),
            ("missing params", ["evaluate"] + small + ["--params", path("nope.npy")], "--params '\(path("nope.npy"))': no such file; give a params.npy"),
            ("random data with cross-entropy", ["train", "--data", "random", "--samples", "10", "--dimension", "3", "--classes", "2"], "needs class labels"),
        ]
        for (name, args, message) in cases {
            let out = directory.appendingPathComponent("out-\(name.replacingOccurrences(of: " ", with: "-"))").path
            let run = try MPITestSupport.run(np: 2, args + ["--out", out])
            #expect(run.status == 2, "\(name): exit \(run.status), stderr: \(run.stderr)")
            let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors.count == 1, "\(name): expected one error line, got \(run.stderr)")
            #expect(errors.first?.contains(message) == true, "\(name): \(errors)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(name): output directory was created")
        }
    }
}
}
