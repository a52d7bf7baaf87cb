import Foundation
import Testing

/// Run-directory ownership: one job writes a run directory at a time; a second is refused naming
/// the holder; a stale lock is replaced with a note; results of another run are never overwritten.
extension MPIJobs {
@Suite struct RunDirectoryOwnership {
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer)
    }

    @Test func aSecondTrainingRunIntoTheSameDirectoryIsRefused() throws {
        let directory = try MPITestSupport.temporaryDirectory("lock-train")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out")
        let first = try MPITestSupport.start(np: 2, ["train", "--samples", "40", "--classes", "2", "--dimension", "4", "--layers", "5",
                                                     "--steps", "100000000", "--out", out.path, "--quiet"],
                                             log: directory.appendingPathComponent("first.log"))
        defer { if first.isRunning { first.terminate() } }
        let lock = out.appendingPathComponent(".landscape.lock").path
        #expect(MPITestSupport.wait(timeout: 60) { FileManager.default.fileExists(atPath: out.appendingPathComponent("train.csv").path) })
        let second = try MPITestSupport.run(np: 2, ["train", "--samples", "40", "--classes", "2", "--dimension", "4", "--layers", "5",
                                                    "--steps", "10", "--out", out.path, "--quiet"])
        #expect(second.status == 2, "\(second.stderr)")
        #expect(second.stderr.contains("already holds a training run") || second.stderr.contains("is in use by landscape train"), "\(second.stderr)")
        // The first run is untouched and, stopped by a signal, gives its lock back.
        MPITestSupport.signalRanks(of: first, SIGTERM)
        #expect(MPITestSupport.wait(timeout: 60) { !first.isRunning })
        #expect(first.terminationStatus == 3, "first run: exit \(first.terminationStatus)")
        #expect(!FileManager.default.fileExists(atPath: lock), "the lock outlived its job")
    }

    @Test func aLiveHolderIsNamedAndAStaleOneIsReplaced() throws {
        let directory = try MPITestSupport.temporaryDirectory("lock-eig")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let lock = out.appendingPathComponent(".landscape.lock")
        // Held by a live process of this host (this test runner): refused, the holder named.
        try "spectrum \(Self.hostName()) \(getpid()) 2026-12-01T00:00:00Z\n".write(to: lock, atomically: true, encoding: .utf8)
        let refused = try MPITestSupport.run(np: 2, ["eig", "--test-matrix", "householder:20", "--out", out.path])
        #expect(refused.status == 2 && refused.stderr.contains("is in use by landscape spectrum (PID \(getpid())"), "\(refused.stderr)")
        // Held by a process that has exited: replaced, with a note, and the job runs.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        try "spectrum \(Self.hostName()) \(gone.processIdentifier) 2026-12-01T00:00:00Z\n".write(to: lock, atomically: true, encoding: .utf8)
        let replaced = try MPITestSupport.run(np: 2, ["eig", "--test-matrix", "householder:20", "--out", out.path])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(replaced.stderr.contains("replaced a stale lock"), "\(replaced.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("eigenvalues.npy").path))
        #expect(!FileManager.default.fileExists(atPath: lock.path))
        // Another host's lock cannot be checked: refused, naming it.
        try "train node17 4242 2026-12-01T00:00:00Z\n".write(to: lock, atomically: true, encoding: .utf8)
        let elsewhere = try MPITestSupport.run(np: 1, ["eig", "--test-matrix", "householder:20", "--out", directory.appendingPathComponent("out").path])
        #expect(elsewhere.status == 2 && elsewhere.stderr.contains("PID 4242 on node17"), "\(elsewhere.stderr)")
    }

    /// A run directory holds one command's run: another command into it is refused and leaves it
    /// as it was; evaluate and data export do not overwrite their own earlier results either.
    @Test func aRunDirectoryOfAnotherKindIsRefused() throws {
        let directory = try MPITestSupport.temporaryDirectory("lock-kind")
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = ["--samples", "20", "--classes", "2", "--dimension", "3", "--layers", "", "--quiet"]
        let run = directory.appendingPathComponent("run").path
        let train = try MPITestSupport.run(np: 2, ["train"] + data + ["--steps", "5", "--out", run])
        try #require(train.status == 0, "\(train.stderr)")
        let before = try Data(contentsOf: URL(fileURLWithPath: run + "/summary.json"))
        let quiet = data.filter { $0 != "--quiet" }
        for other in [["spectrum", "--at", "init", "--block", "2"], ["evaluate", "--params", run + "/params.npy"],
                      ["interpolate", "--from", run + "/params.npy", "--direction", "random", "--range", "-1:1:3"]] {
            let refused = try MPITestSupport.run(np: 2, other + quiet + ["--out", run])
            #expect(refused.status == 2 && refused.stderr.contains("holds a `landscape train` run"), "\(other[0]): \(refused.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: run + "/summary.json")) == before)
        let evaluation = directory.appendingPathComponent("evaluation").path
        let first = try MPITestSupport.run(np: 2, ["evaluate", "--params", run + "/params.npy", "--out", evaluation] + quiet)
        try #require(first.status == 0, "\(first.stderr)")
        let second = try MPITestSupport.run(np: 2, ["evaluate", "--params", run + "/params.npy", "--out", evaluation] + quiet)
        #expect(second.status == 2 && second.stderr.contains("already holds an evaluation"), "\(second.stderr)")
        let trainOver = try MPITestSupport.run(np: 2, ["train"] + data + ["--steps", "5", "--out", evaluation])
        #expect(trainOver.status == 2 && trainOver.stderr.contains("holds a `landscape evaluate` run"), "\(trainOver.stderr)")
        let exported = directory.appendingPathComponent("data").path
        let export = try MPITestSupport.run(np: 2, ["data", "export", "--out", exported] + quiet)
        try #require(export.status == 0, "\(export.stderr)")
        let again = try MPITestSupport.run(np: 2, ["data", "export", "--out", exported] + quiet)
        #expect(again.status == 2 && again.stderr.contains("already holds exported data"), "\(again.stderr)")
        #expect(!FileManager.default.fileExists(atPath: exported + "/" + ".landscape.lock"))
        // A directory a job makes inside --out is named as such: `spectrum --out S` trains into S/train.
        let spectrum = directory.appendingPathComponent("spectrum").path
        let inner = try MPITestSupport.run(np: 2, ["data", "export", "--out", spectrum + "/train"] + quiet)
        try #require(inner.status == 0, "\(inner.stderr)")
        let nested = try MPITestSupport.run(np: 2, ["spectrum", "--steps", "5", "--block", "2", "--out", spectrum] + quiet)
        #expect(nested.status == 2 && nested.stderr.contains("'\(spectrum)/train' (inside --out '\(spectrum)') holds a `landscape data` run"), "\(nested.stderr)")
    }

    @Test func eigDoesNotOverwriteAnotherRunsResults() throws {
        let directory = try MPITestSupport.temporaryDirectory("lock-overwrite")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out").path
        let spectrum = try MPITestSupport.run(np: 2, ["spectrum", "--at", "init", "--samples", "20", "--classes", "2", "--dimension", "3",
                                                      "--layers", "", "--block", "2", "--out", out, "--quiet"])
        try #require(spectrum.status == 0, "\(spectrum.stderr)")
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/eigenvalues.npy"))
        let eig = try MPITestSupport.run(np: 2, ["eig", "--test-matrix", "householder:20", "--out", out])
        #expect(eig.status == 2 && eig.stderr.contains("holds a `landscape spectrum` run"), "\(eig.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/eigenvalues.npy")) == before)
    }
}
}
