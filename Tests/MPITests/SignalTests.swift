import Foundation
import NPY
import Testing

extension MPIJobs {
/// SIGUSR1 — Slurm's warning before a time limit (`--signal=B:USR1@…`) — to a spectrum run:
/// exit status 3 with a checkpoint, and `--resume` ends with results identical to an
/// uninterrupted run's, whether the signal came during training or before an eigensolve.
@Suite struct SignalledSpectra {
    /// M = 1385 (40-30-5, tanh): each eigensolve takes long enough (~0.5 s) for a signal to land.
    static let config = """
        seed = 2
        [data]
        kind = "clusters"
        samples = 200
        classes = 5
        dimension = 40
        [model]
        layers = [30]
        activation = "tanh"
        loss = "cross-entropy"
        [train]
        algorithm = "gd"
        learning-rate = 0.1
        steps = 3000
        record-every = 50
        checkpoint-every = 100
        [hessian]
        block = 32

        """

    static func maxRelativeDifference(_ a: String, _ b: String) throws -> Double {
        MPITestSupport.maxRelativeDifference(try NPYArray(contentsOf: a).values, try NPYArray(contentsOf: b).values)
    }

    /// Starts the job, signals every rank with SIGUSR1 once `ready` holds, and requires exit 3.
    static func interrupt(_ args: [String], in directory: URL, when ready: @escaping (String) -> Bool) throws -> String {
        let log = directory.appendingPathComponent("log-\(UUID().uuidString)")
        let process = try MPITestSupport.start(np: 2, args, log: log)
        func text() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        #expect(MPITestSupport.wait(timeout: 90) { ready(text()) || !process.isRunning }, "never ready: \(text())")
        MPITestSupport.signalRanks(of: process, SIGUSR1)
        try #require(process.terminationStatus == 3, "status \(process.terminationStatus): \(text())")
        return text()
    }

    /// A stopped spectrum run of `Self.config` at θ₀ with `flags`, its `--resume`, and an
    /// uninterrupted run of the same command to compare with (in a fresh directory the caller removes).
    struct StoppedAndResumed {
        let directory: URL, log: String, resumed: MPIRun, out: String, reference: String
    }

    static func stopAndResume(_ flags: [String], name: String, when ready: @escaping (String) -> Bool) throws -> StoppedAndResumed {
        let directory = try MPITestSupport.temporaryDirectory(name)
        let config = directory.appendingPathComponent("run.toml").path
        try Self.config.write(toFile: config, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("out").path, reference = directory.appendingPathComponent("reference").path
        let args = ["spectrum", "--config", config, "--at", "init"] + flags
        let log = try interrupt(args + ["--out", out], in: directory, when: ready)
        let resumed = try MPITestSupport.run(np: 2, args + ["--out", out, "--resume"])
        let whole = try MPITestSupport.run(np: 2, args + ["--out", reference, "--quiet"])
        try #require(whole.status == 0, "\(whole.stderr)")
        return StoppedAndResumed(directory: directory, log: log, resumed: resumed, out: out, reference: reference)
    }

    /// The signal arrives during assembly (or, at the latest, between eigensolves): the matrices
    /// not yet decomposed are saved through MPI-IO and reread; H, G and R spectra come out
    /// bit-for-bit as without the interruption.
    @Test func duringTheSpectrum() throws {
        let run = try Self.stopAndResume(["--ggn", "--residual"], name: "signal-spectrum") { $0.contains("spectrum: assembling") }
        defer { try? FileManager.default.removeItem(at: run.directory) }
        #expect(run.log.contains("stopped: signal before the eigen-decomposition of"), "\(run.log)")
        try #require(run.resumed.status == 0, "\(run.resumed.stderr)")
        #expect(run.resumed.stderr.contains("resuming from"), "\(run.resumed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: run.out + "/checkpoint"))
        for file in ["eigenvalues.npy", "ggn_eigenvalues.npy", "residual_eigenvalues.npy"] {
            let difference = try Self.maxRelativeDifference("\(run.out)/\(file)", "\(run.reference)/\(file)")
            #expect(difference <= 1e-10, "\(file): relative difference \(difference)")
        }
    }

    /// `--blocks`: the signal arrives during H's eigensolve, so the job stops before G's. The
    /// resumed run takes H's block spectra from DIR/blocks (computed before the stop) and G's
    /// from the reread G: every block file and both summaries equal an uninterrupted run's.
    @Test func betweenEigensolvesWithBlocks() throws {
        let run = try Self.stopAndResume(["--ggn", "--blocks", "layers"], name: "signal-blocks") { $0.contains("eigen-decomposition of H") }
        defer { try? FileManager.default.removeItem(at: run.directory) }
        #expect(run.log.contains("stopped: signal before the eigen-decomposition of G"), "\(run.log)")
        try #require(run.resumed.status == 0, "\(run.resumed.stderr)")
        #expect(run.resumed.stderr.contains("spectra done: H"), "\(run.resumed.stderr)")
        let files = ["eigenvalues.npy", "ggn_eigenvalues.npy"] + ["layer1", "layer2"].flatMap { ["blocks/\($0).npy", "blocks/ggn_\($0).npy"] }
        for file in files {
            let difference = try Self.maxRelativeDifference("\(run.out)/\(file)", "\(run.reference)/\(file)")
            #expect(difference <= 1e-10, "\(file): relative difference \(difference)")
        }
        let summary = try String(contentsOfFile: run.out + "/summary.json", encoding: .utf8)
        #expect(summary.contains("\"blocks\"") && summary.contains("\"gaussNewtonBlocks\""))
    }

    /// The signal arrives while `landscape spectrum` trains first: training checkpoints, and the
    /// resumed run trains on from there to the same final parameters and the same spectrum.
    @Test func duringTraining() throws {
        let directory = try MPITestSupport.temporaryDirectory("signal-train")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("run.toml").path
        try Self.config.write(toFile: config, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("out").path, reference = directory.appendingPathComponent("reference").path
        let args = ["spectrum", "--config", config]
        let log = try Self.interrupt(args + ["--out", out], in: directory) { _ in
            ((try? String(contentsOfFile: out + "/train/train.csv", encoding: .utf8))?.split(separator: "\n").count ?? 0) >= 6
        }
        #expect(log.contains("stopped: SIGUSR1 at step"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: out + "/train/params.npy"))

        let resumed = try MPITestSupport.run(np: 2, args + ["--out", out, "--resume", "--quiet"], timeout: 180)
        try #require(resumed.status == 0, "\(resumed.stderr)")
        let whole = try MPITestSupport.run(np: 2, args + ["--out", reference, "--quiet"], timeout: 180)
        try #require(whole.status == 0, "\(whole.stderr)")
        #expect(try Self.maxRelativeDifference(out + "/train/params.npy", reference + "/train/params.npy") <= 1e-10)
        for file in ["init/eigenvalues.npy", "final/eigenvalues.npy"] {
            let difference = try Self.maxRelativeDifference("\(out)/\(file)", "\(reference)/\(file)")
            #expect(difference <= 1e-10, "\(file): relative difference \(difference)")
        }
    }
}
}
