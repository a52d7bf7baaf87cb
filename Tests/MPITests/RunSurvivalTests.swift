import Foundation
import NPY
import Testing

/// Runs that survive what users do to them (issue 34): absurd sizes refused by the memory plan
/// before anything is allocated, a directory where an NPY file belongs, the run directory removed
/// while the job runs, a full disk, --resume where there is nothing to resume, a rerun right after
/// a kill -9, and the history of a resumed estimate. Run with 2 ranks, on tiny models.
extension MPIJobs {
@Suite struct RunSurvival {
    /// 20 samples of 2 clusters in R³, MLP 3-4-2: M = 26.
    static let data = ["--samples", "20", "--classes", "2", "--dimension", "3", "--layers", "4"]
    static let parameterCount = 26

    struct Fixture {
        let directory: URL
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        /// A parameter vector of the tiny model.
        var params: String { path("params.npy") }
        var out: String { path("out") }
    }

    static func fixture(_ tag: String) throws -> Fixture {
        let f = Fixture(directory: try MPITestSupport.temporaryDirectory(tag))
        try NPYArray(shape: [parameterCount], values: (0..<parameterCount).map { 0.1 * sin(Double($0 + 1)) }).write(to: f.params)
        try NPYArray(shape: [parameterCount], values: (0..<parameterCount).map { 0.1 * cos(Double($0 + 1)) }).write(to: f.path("other.npy"))
        try FileManager.default.createDirectory(atPath: f.path("dir"), withIntermediateDirectories: true)
        return f
    }

    /// Exit 2, one `error:` line holding every one of `words` and none of `not`, no --out.
    static func expectRefusal(_ run: MPIRun, _ name: String, _ words: [String], not: [String] = [], out: String) {
        #expect(run.status == 2, "\(name): exit \(run.status), stderr: \(run.stderr)")
        let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1, "\(name): expected one error line, got \(run.stderr)")
        for word in words { #expect(errors.first?.contains(word) == true, "\(name): no '\(word)' in \(errors)") }
        for word in not { #expect(errors.first?.contains(word) == false, "\(name): '\(word)' in \(errors)") }
        #expect(!FileManager.default.fileExists(atPath: out), "\(name): --out was created")
    }

    // MARK: Sizes

    /// Each size alone would allocate gigabytes to exabytes (or overflow a 64-bit count): refused
    /// by the memory plan in about the time mpirun takes to start. The bound is a generous guard
    /// against an allocation, not a timing test.
    static let absurdSizes: [(name: String, args: [String], words: [String], not: [String])] = [
        ("critical starts", ["critical", "--loss", "mse", "--starts", "1000000000", "--iterations", "1"], ["--starts 1000000000", "held in memory"], []),
        ("critical trajectory", ["critical", "--loss", "mse", "--start", "trajectory", "--starts", "10000000000", "--trajectory-every", "10000000000"],
         ["--trajectory-every = 10000000000", "2⁶³"], []),
        ("interpolate line", ["interpolate", "--from", "PARAMS", "--direction", "random", "--range", "0:1:1000000000", "--force"], ["--range", "1000000000 grid points"], []),
        ("interpolate plane", ["interpolate", "--from", "PARAMS", "--direction", "random", "--plane", "--grid", "0:1:100000", "--force"], ["--grid", "10000000000 grid points"], []),
        ("top block", ["top", "--at", "init", "--block-size", "9000000000000000000"], ["--block-size 9000000000000000000"], []),
        ("top k", ["top", "--at", "init", "--k", "9000000000000000000", "--which", "both"], ["--k", "k must be < M"], []),
        ("trace block", ["trace", "--at", "init", "--block-size", "1000000000"], ["--block-size 1000000000"], ["max-matvecs", "--method"]),
        ("trace sketch", ["trace", "--at", "init", "--method", "hutch++", "--max-matvecs", "1000000000000000000"], ["--max-matvecs 1000000000000000000", "--method hutchinson"], []),
        ("density probes", ["density", "--at", "init", "--probes", "1000000000000000000"], ["--probes 1000000000000000000"], []),
        ("density grid", ["density", "--at", "init", "--grid-points", "1000000000000000000"], ["--grid-points 1000000000000000000"], []),
        ("train track-top", ["train", "--steps", "1", "--track-top", "1000000000000"], ["--track-top 1000000000000", "held in memory"], []),
    ]

    @Test(arguments: absurdSizes.indices)
    func anAbsurdSizeIsRefusedBeforeAllocation(index: Int) throws {
        let (name, args, words, not) = Self.absurdSizes[index]
        let f = try Self.fixture("size")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let clock = Date()
        let run = try MPITestSupport.run(np: 2, args.map { $0 == "PARAMS" ? f.params : $0 } + Self.data + ["--out", f.out, "--quiet"], timeout: 60)
        let seconds = Date().timeIntervalSince(clock)
        Self.expectRefusal(run, name, words, not: not, out: f.out)
        #expect(seconds < 10, "\(name): \(seconds) s — was something allocated?")
    }

    // MARK: A directory for a file

    static let directoryFlags: [(flag: String, args: [String])] = [
        ("interpolate --from", ["interpolate", "--from", "DIR", "--direction", "random"]),
        ("interpolate --direction", ["interpolate", "--from", "PARAMS", "--direction", "DIR"]),
        ("path --from", ["path", "--from", "DIR", "--to", "PARAMS"]),
        ("path --to", ["path", "--from", "PARAMS", "--to", "DIR"]),
        ("critical --points", ["critical", "--loss", "mse", "--start", "files", "--points", "PARAMS", "DIR"]),
        ("top --compare", ["top", "--at", "init", "--compare", "DIR"]),
        ("top --checkpoint", ["top", "--checkpoint", "DIR"]),
        ("train --start-from", ["train", "--start-from", "DIR", "--steps", "1"]),
    ]

    @Test(arguments: directoryFlags.indices)
    func aDirectoryIsRefusedWhereAnNPYFileBelongs(index: Int) throws {
        let (flag, args) = Self.directoryFlags[index]
        let f = try Self.fixture("npy-dir")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let run = try MPITestSupport.run(np: 2, args.map { $0 == "DIR" ? f.path("dir") : $0 == "PARAMS" ? f.params : $0 }
                                         + Self.data + ["--out", f.out, "--quiet"])
        Self.expectRefusal(run, flag, ["'\(f.path("dir"))' is a directory, not an .npy file"], out: f.out)
    }

    // MARK: The run directory removed mid-run

    /// Each long command with its run directory removed while it runs: it ends (every rank, non-zero,
    /// within the watchdog) with the message, and does not recreate the directory.
    static let longRuns: [(name: String, args: [String])] = [
        ("critical", ["critical", "--loss", "mse", "--samples", "40", "--classes", "2", "--dimension", "3", "--layers", "4",
                      "--starts", "40", "--iterations", "40", "--group-size", "1"]),
        ("path", ["path", "--from", "PARAMS", "--to", "OTHER", "--method", "neb", "--pivots", "6", "--iterations", "200000",
                  "--tolerance", "1e-12", "--band-checkpoint-every", "20"] + data),
        ("interpolate", ["interpolate", "--from", "PARAMS", "--direction", "random", "--plane", "--grid", "-1:1:120", "--group-size", "1"] + data),
        ("top", ["top", "--at", "init", "--samples", "1000", "--classes", "10", "--dimension", "40", "--layers", "40",
                 "--k", "40", "--which", "both", "--tolerance", "1e-13", "--block-size", "1"]),
    ]

    @Test(arguments: longRuns.indices)
    func aRunDirectoryRemovedMidRunEndsTheJob(index: Int) throws {
        let (name, args) = Self.longRuns[index]
        let f = try Self.fixture("vanish")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let log = f.directory.appendingPathComponent("log")
        let job = try MPITestSupport.start(np: 2, args.map { $0 == "PARAMS" ? f.params : $0 == "OTHER" ? f.path("other.npy") : $0 } + ["--out", f.out],
                                           log: log)
        defer { if job.isRunning { job.terminate() } }
        func text() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        let lock = f.out + "/.landscape.lock"
        try #require(MPITestSupport.wait(timeout: 60) { FileManager.default.fileExists(atPath: lock) || !job.isRunning }, "\(name): no lock: \(text())")
        usleep(300_000)
        try #require(job.isRunning, "\(name): finished before the directory could be removed — make it longer: \(text())")
        // The job writes while the directory is removed: retry until it is gone.
        #expect(MPITestSupport.wait(timeout: 10) { (try? FileManager.default.removeItem(atPath: f.out)) != nil && !FileManager.default.fileExists(atPath: f.out) })
        #expect(MPITestSupport.wait(timeout: 120) { !job.isRunning }, "\(name): still running after its directory was removed")
        job.waitUntilExit()
        #expect(job.terminationStatus != 0, "\(name): exit 0 after its directory was removed: \(text())")
        #expect(text().contains("was removed while this job ran"), "\(name): \(text())")
        let recreated = (try? FileManager.default.contentsOfDirectory(atPath: f.out)) ?? []
        #expect(!FileManager.default.fileExists(atPath: f.out), "\(name): recreated, holding \(recreated)")
    }

    // MARK: Smaller refusals

    @Test func aNegativeToleranceGetsItsRangeNotAParseError() throws {
        let f = try Self.fixture("negative")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let run = try MPITestSupport.run(np: 2, ["critical", "--loss", "mse", "--tolerance", "-1"] + Self.data + ["--out", f.out])
        Self.expectRefusal(run, "--tolerance -1", ["--tolerance = -1.0", "> 0"], not: ["Missing value"], out: f.out)
        let starts = try MPITestSupport.run(np: 2, ["critical", "--loss", "mse", "--starts", "-3"] + Self.data + ["--out", f.out])
        Self.expectRefusal(starts, "--starts -3", ["--starts = -3", "at least 1"], out: f.out)
    }

    /// A comparison spectrum of NaNs, or of integers: refused, naming what is wrong.
    @Test func aCompareSpectrumMustBeFiniteFloats() throws {
        let f = try Self.fixture("compare")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        var values = (0..<Self.parameterCount).map(Double.init)
        values[3] = .nan
        try NPYArray(shape: [Self.parameterCount], values: values).write(to: f.path("nan.npy"))
        let nan = try MPITestSupport.run(np: 2, ["density", "--at", "init", "--compare", f.path("nan.npy")] + Self.data + ["--out", f.out, "--quiet"])
        Self.expectRefusal(nan, "NaN", ["eigenvalue 3 is nan", "finite"], out: f.out)
        var integers = Data(NPYHeader(dataType: .int64, fortranOrder: false, shape: [Self.parameterCount]).encoded())
        for i in 0..<Self.parameterCount { withUnsafeBytes(of: Int64(i).littleEndian) { integers.append(contentsOf: $0) } }
        try integers.write(to: URL(fileURLWithPath: f.path("int.npy")))
        let int = try MPITestSupport.run(np: 2, ["top", "--at", "init", "--compare", f.path("int.npy")] + Self.data + ["--out", f.out, "--quiet"])
        Self.expectRefusal(int, "int64", ["dtype int64"], not: ["holds"], out: f.out)
    }

    @Test func resumeWhereNothingWasRunIsRefused() throws {
        let f = try Self.fixture("resume-missing")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        for args in [["path", "--from", f.params, "--to", f.path("other.npy")], ["critical", "--loss", "mse"],
                     ["interpolate", "--from", f.params, "--direction", "random"], ["trace", "--at", "init"]] {
            let run = try MPITestSupport.run(np: 2, args + Self.data + ["--out", f.out, "--resume", "--quiet"])
            Self.expectRefusal(run, args[0], ["--resume", "does not exist", "drop --resume"], out: f.out)
        }
    }

    /// A full disk at the first write (the run's kind marker): the job fails and leaves no
    /// directory behind, neither --out nor the parent it created.
    @Test func aFullDiskLeavesNoEmptyDirectory() throws {
        let directory = try MPITestSupport.temporaryDirectory("full-first")
        defer { try? FileManager.default.removeItem(at: directory) }
        let mount = try MPITestSupport.execute(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", directory.path], timeout: 30)
        try #require(mount.status == 0, "cannot mount a tmpfs (needs root): \(mount.stderr)")
        defer { _ = try? MPITestSupport.execute(["umount", directory.path], timeout: 30) }
        let run = try MPITestSupport.run(np: 2, ["top", "--at", "init"] + Self.data + ["--out", directory.path + "/runs/out", "--quiet"])
        #expect(run.status != 0 && run.status != -1, "exit \(run.status) on a full disk: \(run.stderr)")
        #expect(run.stderr.contains("cannot write"), "\(run.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(left.isEmpty, "left behind: \(left)")
    }

    /// A finished 6-start run continued with 3 starts: points/ and spectra/ hold exactly the 3
    /// that critical.csv lists.
    @Test func fewerStartsOnResumeLeaveNoStaleFiles() throws {
        let f = try Self.fixture("critical-stale")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let args = ["critical", "--loss", "mse", "--iterations", "3"] + Self.data + ["--out", f.out, "--quiet"]
        let six = try MPITestSupport.run(np: 2, args + ["--starts", "6"])
        try #require(six.status == 0, "\(six.stderr)")
        let three = try MPITestSupport.run(np: 2, args + ["--starts", "3", "--resume"])
        try #require(three.status == 0, "\(three.stderr)")
        for name in ["points", "spectra"] {
            let files = try FileManager.default.contentsOfDirectory(atPath: f.out + "/" + name).sorted()
            #expect(files == ["0.npy", "1.npy", "2.npy"], "\(name): \(files)")
        }
        let rows = try String(contentsOfFile: f.out + "/critical.csv", encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 4, "critical.csv: \(rows)")
    }

    /// kill -9 of the rank that holds the lock, and the same command again at once: the lock of a
    /// dead (or not yet reaped) holder is replaced, and the rerun continues the run.
    @Test func aRerunRightAfterKill9IsNotRefused() throws {
        let f = try Self.fixture("kill9")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let args = Self.longRuns[0].args + ["--out", f.out, "--quiet"]
        let job = try MPITestSupport.start(np: 2, args, log: f.directory.appendingPathComponent("log"))
        defer { if job.isRunning { job.terminate() } }
        let lock = f.out + "/.landscape.lock"
        try #require(MPITestSupport.wait(timeout: 60) { FileManager.default.fileExists(atPath: f.out + "/points/0.npy") || !job.isRunning })
        let holder = try String(contentsOfFile: lock, encoding: .utf8).split(separator: " ")
        let pid = try #require(Int32(holder[2]))
        kill(pid, SIGKILL)
        let rerun = try MPITestSupport.run(np: 2, args + ["--resume", "--iterations", "2", "--starts", "2"], timeout: 120)
        job.waitUntilExit()
        #expect(!rerun.stderr.contains("is in use by"), "\(rerun.stderr)")
        #expect(rerun.stderr.contains("replaced a stale lock"), "\(rerun.stderr)")
    }

    // MARK: History across a resume

    /// SIGUSR1 mid-estimate, then --resume: the summary's history (and so convergence.svg and
    /// trace.svg) starts at the first block, as an uninterrupted run's does, not after the stop.
    static let resumable: [(name: String, args: [String], first: Int)] = [
        ("top", longRuns[3].args, 1),
        ("trace", ["trace", "--at", "init", "--samples", "400", "--classes", "10", "--dimension", "40", "--layers", "40",
                   "--tolerance", "0", "--max-matvecs", "4000", "--block-size", "1"], 1),
    ]

    @Test(arguments: resumable.indices)
    func theHistorySurvivesAResume(index: Int) throws {
        let (name, args, first) = Self.resumable[index]
        let f = try Self.fixture("history")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let log = f.directory.appendingPathComponent("log")
        let job = try MPITestSupport.start(np: 2, args + ["--out", f.out], log: log)
        func text() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        try #require(MPITestSupport.wait(timeout: 60) { text().contains("matvecs") || !job.isRunning }, "\(name): \(text())")
        MPITestSupport.signalRanks(of: job, SIGUSR1)
        try #require(job.terminationStatus == 3, "\(name): exit \(job.terminationStatus): \(text())")
        let resumed = try MPITestSupport.run(np: 2, args + ["--out", f.out, "--resume", "--quiet"], timeout: 180)
        try #require(resumed.status == 0, "\(name): \(resumed.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.out + "/summary.json"))) as? [String: Any])
        let history = try #require(summary["history"] as? [[String: Any]])
        let matvecs = history.compactMap { $0["matvecs"] as? Int }
        #expect(matvecs.first == first, "\(name): the history starts at \(String(describing: matvecs.first)) matvecs")
        #expect(matvecs == matvecs.sorted() && Set(matvecs).count == matvecs.count, "\(name): \(matvecs)")
    }
}
}
