import Foundation
import NPY
import Testing

/// `landscape train` / `evaluate` under mpirun: the trajectory does not depend on the number of
/// ranks, a resumed run ends where an uninterrupted one does, divergence is reported.
extension MPIJobs {
@Suite struct TrainRuns {
    static let config = """
        seed = 11
        [data]
        kind = "clusters"
        samples = 61
        classes = 3
        dimension = 5
        [model]
        layers = [7, 6]
        activation = "tanh"
        loss = "cross-entropy"
        [train]
        learning-rate = 0.2
        steps = 100
        record-every = 25
        """

    static func write(_ text: String, in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("run.toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func relativeDifference(_ a: [Double], _ b: [Double]) -> Double {
        var num = 0.0, den = 0.0
        for (x, y) in zip(a, b) { num += (x - y) * (x - y); den += y * y }
        return (num / den).squareRoot()
    }

    /// 100 GD steps and 100 SGD steps (minibatch 16, momentum 0.5) on P = 1…4 ranks: the final
    /// parameters agree to 1e-10 relative (they differ only by the grouping of the allreduce sums).
    @Test(arguments: [["--algorithm", "gd"], ["--algorithm", "sgd", "--batch", "16", "--momentum", "0.5"]])
    func parametersDoNotDependOnTheRankCount(flags: [String]) throws {
        let directory = try MPITestSupport.temporaryDirectory("train-p")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try Self.write(Self.config, in: directory)
        var results: [[Double]] = []
        for np in 1...4 {
            let out = directory.appendingPathComponent("p\(np)").path
            let run = try MPITestSupport.run(np: np, ["train", "--config", config, "--out", out, "--quiet"] + flags)
            try #require(run.status == 0, "np \(np): \(run.stderr)")
            results.append(try NPYArray(contentsOf: out + "/params.npy").values)
        }
        for np in 2...4 {
            let difference = Self.relativeDifference(results[np - 1], results[0])
            #expect(difference <= 1e-10, "\(flags) np \(np): relative difference \(difference)")
        }
        let csv = try String(contentsOfFile: directory.appendingPathComponent("p1/train.csv").path, encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.map { Int($0[0])! } == [0, 25, 50, 75, 100])
        #expect(Double(rows.last![1])! < Double(rows.first![1])! * 0.5, "the loss should fall: \(csv)")
    }

    /// An interrupted run (stopped after 60 of 100 steps, last checkpoint at 50) resumed with
    /// --resume ends with exactly the parameters of the uninterrupted run — SGD with momentum, so
    /// the minibatch schedule and the velocity checkpoint are both exercised.
    @Test func resumeEqualsUninterrupted() throws {
        let directory = try MPITestSupport.temporaryDirectory("train-resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try Self.write(Self.config, in: directory)
        let flags = ["--algorithm", "sgd", "--batch", "10", "--momentum", "0.9", "--learning-rate", "0.05",
                     "--checkpoint-every", "25", "--quiet"]
        let whole = directory.appendingPathComponent("whole").path, part = directory.appendingPathComponent("part").path
        var run = try MPITestSupport.run(np: 2, ["train", "--config", config, "--out", whole] + flags)
        try #require(run.status == 0, "\(run.stderr)")
        run = try MPITestSupport.run(np: 2, ["train", "--config", config, "--out", part, "--steps", "60"] + flags)
        try #require(run.status == 0, "\(run.stderr)")
        // The interruption: the final files of the short run are gone; its last checkpoint is step 50.
        // (A run killed at step 60 would not have written its final files nor the end-of-run checkpoint.)
        for name in ["params.npy", "summary.json", "params-60.npy"] { try FileManager.default.removeItem(atPath: part + "/" + name) }
        run = try MPITestSupport.run(np: 2, ["train", "--resume", part, "--steps", "100", "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("resuming at step 50"))
        let a = try NPYArray(contentsOf: whole + "/params.npy").values, b = try NPYArray(contentsOf: part + "/params.npy").values
        #expect(a == b)
        let csvWhole = try String(contentsOfFile: whole + "/train.csv", encoding: .utf8)
        let csvPart = try String(contentsOfFile: part + "/train.csv", encoding: .utf8)
        let columns = { (text: String) in text.split(separator: "\n").map { $0.split(separator: ",").prefix(4).joined(separator: ",") } }
        #expect(columns(csvWhole) == columns(csvPart))
        // A finished run with checkpoints can be extended: its final step (100) is a checkpoint.
        #expect(FileManager.default.fileExists(atPath: whole + "/params-100.npy"))
    }

    /// A learning rate far too large: the loss overflows; the error names the step, exit 1, and the
    /// checkpoints written before it (all finite) are kept.
    @Test func divergenceIsReportedWithTheStep() throws {
        let directory = try MPITestSupport.temporaryDirectory("train-nan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try Self.write(Self.config, in: directory)
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["train", "--config", config, "--out", out, "--quiet", "--loss", "mse",
                                                 "--activation", "linear", "--learning-rate", "1e6", "--checkpoint-every", "1"])
        #expect(run.status == 1, "\(run.stderr)")
        let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1 && errors[0].contains("training diverged: the loss is") && errors[0].contains("at step"), "\(run.stderr)")
        let kept = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("params-") }
        #expect(!kept.isEmpty)
        for name in kept {
            #expect(try NPYArray(contentsOf: out + "/" + name).values.allSatisfy(\.isFinite))
        }
        #expect(errors.first?.contains("params-") == true)
    }

    /// Held-out samples (20 further clusters samples, standardised with the training statistics)
    /// are evaluated at every record; the numbers are the same on 1 and 3 ranks — including 3 ranks
    /// for a held-out set whose shards are uneven.
    @Test func heldOutDataIsRecorded() throws {
        let directory = try MPITestSupport.temporaryDirectory("train-held")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try Self.write(Self.config, in: directory)
        var tables: [[[Double]]] = []
        for np in [1, 3] {
            let out = directory.appendingPathComponent("p\(np)").path
            let run = try MPITestSupport.run(np: np, ["train", "--config", config, "--out", out, "--steps", "50", "--held-out", "2", "--quiet"])
            try #require(run.status == 0, "\(run.stderr)")
            let csv = try String(contentsOfFile: out + "/train.csv", encoding: .utf8).split(separator: "\n")
            #expect(csv[0] == "step,loss,accuracy,gradient_norm,held_out_loss,held_out_accuracy,held_out_gradient_norm,learning_rate,seconds")
            tables.append(csv.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).prefix(7).map { Double($0)! } })
        }
        #expect(tables[0].count == 3)
        for (a, b) in zip(tables[0].joined(), tables[1].joined()) { #expect(abs(a - b) <= 1e-10 * max(abs(a), 1e-300)) }
        // The held-out loss differs from the training loss (different samples).
        #expect(tables[0][0][4] != tables[0][0][1])
    }

    /// SIGTERM — what Slurm sends every task at the time limit — on ONE rank stops every rank at
    /// the same step (the flag is allreduced), with a checkpoint and exit status 3; --resume then
    /// continues from it. (mpirun itself inherits a blocked signal mask from the test runner, so
    /// the signal goes to a rank directly, as Slurm's would.)
    @Test func signalWritesACheckpointAndResumes() throws {
        let directory = try MPITestSupport.temporaryDirectory("train-signal")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try Self.write(Self.config, in: directory)
        let out = directory.appendingPathComponent("out").path
        let log = directory.appendingPathComponent("log")
        let process = try MPITestSupport.start(np: 2, ["train", "--config", config, "--out", out, "--steps", "100000000",
                                                       "--record-every", "100", "--quiet"], log: log)
        // Wait until training is under way (a few rows in train.csv), then signal one rank.
        MPITestSupport.wait(timeout: 60) {
            ((try? String(contentsOfFile: out + "/train.csv", encoding: .utf8))?.split(separator: "\n").count ?? 0) >= 4
        }
        let ranks = MPITestSupport.ranks(of: process.processIdentifier)
        #expect(ranks.count == 2, "rank processes: \(ranks)")
        if let first = ranks.first { kill(first, SIGTERM) }
        MPITestSupport.wait(timeout: 20) { !process.isRunning }
        if process.isRunning {
            for pid in ranks { kill(pid, SIGKILL) }
            process.terminate()
        }
        process.waitUntilExit()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        try #require(process.terminationStatus == 3, "status \(process.terminationStatus): \(output.replacingOccurrences(of: "\n", with: " | "))")
        #expect(output.contains("stopped: SIGTERM at step"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: out + "/params.npy"))
        let steps = try FileManager.default.contentsOfDirectory(atPath: out).compactMap { name -> Int? in
            name.hasPrefix("params-") ? Int(name.dropFirst(7).dropLast(4)) : nil
        }
        let last = try #require(steps.max())
        #expect(last >= 200)   // the rows of steps 0, 100 and 200 were there before the signal
        let run = try MPITestSupport.run(np: 2, ["train", "--resume", out, "--steps", "\(last + 5)", "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("resuming at step \(last)"))
        #expect(FileManager.default.fileExists(atPath: out + "/params.npy"))
    }

    /// A loss target stops GD at the first step whose full-data loss is at or below it (GD checks
    /// every step), with a train.csv row for that step; the step schedule is echoed per row.
    @Test func targetLossStopsEarly() throws {
        let directory = try MPITestSupport.temporaryDirectory("train-target")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try Self.write(Self.config, in: directory)
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["train", "--config", config, "--out", out, "--steps", "5000", "--target-loss", "0.1",
                                                 "--decay-every", "100", "--decay-factor", "0.9", "--record-every", "1000", "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        struct Summary: Decodable { var loss: Double; var step: Int; var stopReason: String }
        let summary = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json")))
        #expect(summary.stopReason == "target-loss" && summary.loss <= 0.1 && summary.step > 100 && summary.step < 5000)
        let rows = try String(contentsOfFile: out + "/train.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.map { Int($0[0])! } == [0, summary.step])
        let eta = 0.2 * pow(0.9, Double(summary.step / 100))
        #expect(abs(Double(rows.last![7])! - eta) <= 1e-15 * eta)
    }

    /// `evaluate` on the trained parameters reproduces the final loss of the run, on any P.
    @Test func evaluateReproducesTheRunSummary() throws {
        let directory = try MPITestSupport.temporaryDirectory("train-eval")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try Self.write(Self.config, in: directory)
        let out = directory.appendingPathComponent("out").path, eval = directory.appendingPathComponent("eval").path
        var run = try MPITestSupport.run(np: 1, ["train", "--config", config, "--out", out, "--steps", "20", "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        run = try MPITestSupport.run(np: 3, ["evaluate", "--config", config, "--params", out + "/params.npy", "--out", eval])
        try #require(run.status == 0, "\(run.stderr)")
        struct Summary: Decodable { var loss: Double; var accuracy: Double?; var gradientNorm: Double }
        let trained = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json")))
        let evaluated = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: URL(fileURLWithPath: eval + "/summary.json")))
        #expect(abs(trained.loss - evaluated.loss) <= 1e-12 * trained.loss)
        #expect(abs(trained.gradientNorm - evaluated.gradientNorm) <= 1e-10 * trained.gradientNorm)
        #expect(trained.accuracy == evaluated.accuracy)
        #expect(run.stdout.contains("loss "))
    }

    /// `[model] bias = false` (Pennington & Bahri's 16-16-16: M = 512, not 544): train reports
    /// and writes M = 512 and `bias = false` in config.toml, spectrum decomposes the 512 × 512
    /// Hessian of its params.npy; a params.npy of the other bias setting is refused, exit 2, one
    /// line naming model.bias, nothing written — both ways (spectrum --checkpoint, train --start-from).
    @Test func biasFreeModel() throws {
        let directory = try MPITestSupport.temporaryDirectory("train-nobias")
        defer { try? FileManager.default.removeItem(at: directory) }
        let biased = Self.config.replacingOccurrences(of: "classes = 3\n", with: "classes = 16\n")
            .replacingOccurrences(of: "dimension = 5", with: "dimension = 16").replacingOccurrences(of: "layers = [7, 6]", with: "layers = [16]")
            .replacingOccurrences(of: "steps = 100", with: "steps = 20")
        let withBias = try Self.write(biased, in: directory)
        let free = directory.appendingPathComponent("nobias.toml").path
        try biased.replacingOccurrences(of: "layers = [16]", with: "layers = [16]\nbias = false").write(toFile: free, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("free").path, other = directory.appendingPathComponent("biased").path
        var run = try MPITestSupport.run(np: 2, ["train", "--config", free, "--out", out])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("MLP 16-16-16, tanh, cross-entropy, no bias, M = 512;"), "\(run.stdout)")
        #expect(try NPYArray(contentsOf: out + "/params.npy").values.count == 512)
        #expect(try String(contentsOfFile: out + "/config.toml", encoding: .utf8).contains("\nbias = false\n"))
        run = try MPITestSupport.run(np: 2, ["spectrum", "--config", free, "--checkpoint", out + "/params.npy",
                                             "--out", directory.appendingPathComponent("spectrum").path, "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(try NPYArray(contentsOf: directory.appendingPathComponent("spectrum/eigenvalues.npy").path).values.count == 512)
        // The same run with biases (the flag overriding the file): M = 544, and no bias line.
        run = try MPITestSupport.run(np: 2, ["train", "--config", free, "--bias", "true", "--out", other, "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(try NPYArray(contentsOf: other + "/params.npy").values.count == 544)
        #expect(try !String(contentsOfFile: other + "/config.toml", encoding: .utf8).contains("bias"))
        for (arguments, message) in [
            (["spectrum", "--config", free, "--checkpoint", other + "/params.npy"],
             "holds 544 values, the M of this model with model.bias = true, but this run has model.bias = false (M = 512); set model.bias = true"),
            (["train", "--config", withBias, "--start-from", out + "/params.npy"],
             "holds 512 values, the M of this model with model.bias = false, but this run has model.bias = true (M = 544); set model.bias = false"),
        ] {
            let refused = directory.appendingPathComponent("refused").path
            let run = try MPITestSupport.run(np: 2, arguments + ["--out", refused])
            #expect(run.status == 2, "\(arguments[0]): exit \(run.status), \(run.stderr)")
            let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors.count == 1 && errors[0].contains(message), "\(arguments[0]): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: refused), "\(arguments[0]) wrote \(refused)")
        }
    }
}
}
