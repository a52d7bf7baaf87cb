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

    @Test func eigDoesNotOverwriteAnotherRunsResults() throws {
        let directory = try MPITestSupport.temporaryDirectory("lock-overwrite")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out").path
        let spectrum = try MPITestSupport.run(np: 2, ["spectrum", "--at", "init", "--samples", "20", "--classes", "2", "--dimension", "3",
                                                      "--layers", "", "--block", "2", "--out", out, "--quiet"])
        try #require(spectrum.status == 0, "\(spectrum.stderr)")
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/eigenvalues.npy"))
        let eig = try MPITestSupport.run(np: 2, ["eig", "--test-matrix", "householder:20", "--out", out])
        #expect(eig.status == 2 && eig.stderr.contains("already holds results"), "\(eig.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/eigenvalues.npy")) == before)
    }
}
}
