import Foundation
import Testing

extension MPIJobs {
/// A failure on one rank only — while appending train.csv, writing a checkpoint, writing
/// eigenvectors, a run directory deleted mid-run, a bad-input verdict wrongly thrown on one rank —
/// ends the whole job within seconds with that rank's message: never a hang, never exit 0.
@Suite struct OneRankFailures {
    static let config = """
        seed = 3
        [data]
        kind = "clusters"
        samples = 60
        classes = 3
        dimension = 5
        [model]
        layers = [6]
        activation = "tanh"
        [train]
        learning-rate = 0.1
        steps = 40
        record-every = 5
        checkpoint-every = 10
        """

    static func train(_ directory: URL, np: Int = 2, steps: Int = 40, environment: [String: String]) throws -> (MPIRun, TimeInterval) {
        let config = directory.appendingPathComponent("run.toml")
        try Self.config.write(to: config, atomically: true, encoding: .utf8)
        let start = Date()
        let run = try MPITestSupport.run(np: np, ["train", "--config", config.path, "--steps", "\(steps)",
                                                  "--out", directory.appendingPathComponent("out").path, "--quiet"],
                                         environment: environment, timeout: 60)
        return (run, Date().timeIntervalSince(start))
    }

    @Test(arguments: ["train-log", "checkpoint"])
    func aFailedWriteOnRankZeroEndsTraining(site: String) throws {
        let directory = try MPITestSupport.temporaryDirectory("fail-\(site)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (run, seconds) = try Self.train(directory, environment: ["LANDSCAPE_INJECT_FAILURE": "\(site)@0"])
        #expect(run.status != 0 && run.status != -1, "status \(run.status)")
        #expect(run.stderr.contains("[rank 0@") && run.stderr.contains("injected failure at \(site) on rank 0"), "\(run.stderr)")
        #expect(seconds < 30)
    }

    @Test(arguments: [0, 1])
    func aFailedMatrixWriteOnOneRankEndsTheJob(rank: Int) throws {
        let directory = try MPITestSupport.temporaryDirectory("fail-vectors")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out").path
        let start = Date()
        let run = try MPITestSupport.run(np: 2, ["eig", "--test-matrix", "householder:200", "--vectors", "all", "--out", out, "--quiet"],
                                         environment: ["LANDSCAPE_INJECT_FAILURE": "matrix-write@\(rank)"], timeout: 60)
        #expect(run.status != 0 && run.status != -1, "status \(run.status)")
        #expect(run.stderr.contains("[rank \(rank)@") && run.stderr.contains("injected failure at matrix-write"), "\(run.stderr)")
        #expect(Date().timeIntervalSince(start) < 30)
        #expect(!FileManager.default.fileExists(atPath: out + "/eigenvectors.npy"))
    }

    /// An InputError thrown on one rank alone (the others go on into a collective) is not a shared
    /// verdict: the exit confirmation times out and the job is aborted with the message.
    @Test func aVerdictOnOneRankOnlyAborts() throws {
        let directory = try MPITestSupport.temporaryDirectory("fail-verdict")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (run, seconds) = try Self.train(directory, np: 3, environment: ["LANDSCAPE_INJECT_FAILURE": "input-error@1",
                                                                           "LANDSCAPE_VERDICT_TIMEOUT": "3"])
        #expect(run.status != 0 && run.status != 2 && run.status != -1, "status \(run.status)")
        #expect(run.stderr.contains("[rank 1@") && run.stderr.contains("injected bad input on rank 1 alone")
                && run.stderr.contains("reached only some ranks"), "\(run.stderr)")
        #expect(seconds < 30)
    }

    /// The run directory removed while training runs: rank 0's next write fails, and every rank ends.
    @Test func aDeletedRunDirectoryEndsTraining() throws {
        let directory = try MPITestSupport.temporaryDirectory("fail-deleted")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("run.toml")
        try Self.config.write(to: config, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("out")
        let log = directory.appendingPathComponent("log")
        let process = try MPITestSupport.start(np: 2, ["train", "--config", config.path, "--steps", "100000000",
                                                       "--out", out.path, "--quiet"], log: log)
        defer { if process.isRunning { process.terminate() } }
        let csv = out.appendingPathComponent("train.csv").path
        #expect(MPITestSupport.wait(timeout: 60) { FileManager.default.fileExists(atPath: csv) }, "training never started")
        // The run writes into the directory while it is removed: retry until it is gone.
        #expect(MPITestSupport.wait(timeout: 10) { (try? FileManager.default.removeItem(at: out)) != nil
                                                   || !FileManager.default.fileExists(atPath: out.path) })
        let deleted = Date()
        let ended = MPITestSupport.wait(timeout: 30) { !process.isRunning }
        #expect(ended, "the job did not end within 30 s of the deletion")
        guard ended else { return }
        #expect(Date().timeIntervalSince(deleted) < 30)
        #expect(process.terminationStatus != 0)
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        // The lock is gone with the directory: the next write says so instead of failing on a
        // missing path (OutputGuard), and nothing is recreated.
        #expect(text.contains("[rank 0@") && text.contains("was removed while this job ran"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "the run directory was recreated")
    }
}
}
