import Foundation
import NPY
import Testing

/// The studies as runs that survive (issue 34): a study stopped by SIGUSR1 continues with the same
/// command to the result of an uninterrupted run, for both studies; a part (or a path) left by a
/// run with other settings is refused, never kept under a report that claims the new ones; a study
/// directory belongs to its study, so another study is refused there with nothing written.
extension MPIJobs {
@Suite struct StudyResume {
    /// Part I long enough (≈ 1.5 s in a debug build) for the signal to land inside it; tiny otherwise.
    static func largeSmallBatch(range: String = "-0.5:1.5:9", largeSteps: Int = 10000, spectrum: String = "exact") -> String {
        """
        seed = 11
        [data]
        kind = "clusters"
        samples = 120
        classes = 4
        dimension = 6
        held-out = 60
        [model]
        layers = [8]
        activation = "tanh"
        loss = "cross-entropy"
        [train]
        learning-rate = 0.1
        record-every = 100
        [study]
        large-batch = 60
        large-steps = \(largeSteps)
        small-batch = 4
        small-steps = 2000
        range = "\(range)"
        spectrum = "\(spectrum)"

        """
    }

    /// Two minima of the teacher–student data (MPIJobs.Paths.fixture), connected by a short AutoNEB.
    static func connectivity(_ f: Paths.Fixture, steps: Int = 1000, pivots: Int = 2, groupSize: Int = 1) -> String {
        f.connectivityStudy(steps: steps, study: """
            seeds = [1, 2]
            widths = [[2]]
            """, band: """
            pivots = \(pivots)
            cycles = 2
            cycle-iterations = 50
            iterations = 100
            group-size = \(groupSize)
            """)
    }

    static func write(_ text: String, to path: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }

    static func values(_ path: String) throws -> [Double] { try NPYArray(contentsOf: path).values }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    static func rows(_ path: String) -> Int { text(path).split(separator: "\n").count }

    /// Starts `args` on 2 ranks, sends SIGUSR1 to every rank once `ready` holds, requires exit 3;
    /// the job's output.
    static func interrupt(_ args: [String], log: URL, when ready: @escaping () -> Bool) throws -> String {
        let process = try MPITestSupport.start(np: 2, args, log: log)
        #expect(MPITestSupport.wait(timeout: 90) { ready() || !process.isRunning }, "never ready: \(text(log.path))")
        MPITestSupport.signalRanks(of: process, SIGUSR1)
        try #require(process.terminationStatus == 3, "status \(process.terminationStatus): \(text(log.path))")
        return text(log.path)
    }

    /// What a training part's summary.json says about how it ended.
    static func finished(_ directory: String) throws -> Bool? {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/summary.json"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["finished"] as? Bool
    }

    /// lb-sb stopped by SIGUSR1 inside Part I (whose summary.json says it did not finish): the same
    /// command continues Part I from its checkpoint and ends with the parameters, line and spectra of
    /// an uninterrupted study, to the last bit.
    @Test func aLargeSmallBatchStudyStoppedInPartIContinuesToTheUninterruptedResult() throws {
        let directory = try MPITestSupport.temporaryDirectory("study-resume-lb-sb")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("study.toml").path, out = directory.appendingPathComponent("out").path
        let reference = directory.appendingPathComponent("reference").path
        try Self.write(Self.largeSmallBatch(), to: config)
        let args = ["study", "lb-sb", "--config", config, "--quiet"]
        let log = try Self.interrupt(args + ["--out", out], log: directory.appendingPathComponent("log")) {
            Self.rows(out + "/large/train.csv") >= 20
        }
        #expect(log.contains("repeat the same study command to continue"), "\(log)")
        try #require(try Self.finished(out + "/large") == false, "the signal did not land in Part I: \(log)")
        #expect(!FileManager.default.fileExists(atPath: out + "/large/params.npy"))

        let again = try MPITestSupport.run(np: 2, args + ["--out", out], timeout: 120)
        try #require(again.status == 0, "\(again.stderr)")
        #expect(try Self.finished(out + "/large") == true)
        let whole = try MPITestSupport.run(np: 2, args + ["--out", reference], timeout: 120)
        try #require(whole.status == 0, "\(whole.stderr)")
        for file in ["large/params.npy", "small/params.npy", "spectrum-large/eigenvalues.npy", "spectrum-small/eigenvalues.npy"] {
            #expect(try Self.values(out + "/" + file) == Self.values(reference + "/" + file), "\(file)")
        }
        #expect(Self.text(out + "/line/line.csv") == Self.text(reference + "/line/line.csv"))
        #expect(Self.text(out + "/large/train.csv").split(separator: "\n").map { $0.split(separator: ",").dropLast() }
                == Self.text(reference + "/large/train.csv").split(separator: "\n").map { $0.split(separator: ",").dropLast() },
                "train.csv rows (but their seconds) as uninterrupted")
    }

    /// connectivity stopped by SIGUSR1 while it trains the second minimum (the first one finished):
    /// the same command continues that minimum, connects both, and ends at the uninterrupted path.
    @Test func aConnectivityStudyStoppedWhileTrainingAMinimumContinuesToTheUninterruptedPath() throws {
        let f = try Paths.fixture("study-resume-connectivity", samples: 1000)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let config = f.path("study.toml"), out = f.path("out"), reference = f.path("reference")
        try Self.write(Self.connectivity(f, steps: 2000), to: config)
        let args = ["study", "connectivity", "--config", config, "--quiet"]
        let log = try Self.interrupt(args + ["--out", out], log: f.directory.appendingPathComponent("log")) {
            Self.rows(out + "/2/minimum-2/train.csv") >= 10
        }
        try #require(try Self.finished(out + "/2/minimum-2") == false, "the signal did not land in minimum-2: \(log)")
        #expect(try Self.finished(out + "/2/minimum-1") == true)

        let again = try MPITestSupport.run(np: 2, args + ["--out", out], timeout: 180)
        try #require(again.status == 0, "\(again.stderr)")
        let whole = try MPITestSupport.run(np: 2, args + ["--out", reference], timeout: 180)
        try #require(whole.status == 0, "\(whole.stderr)")
        for file in ["2/minimum-1/params.npy", "2/minimum-2/params.npy", "2/paths/pivots.npy"] {
            #expect(try Self.values(out + "/" + file) == Self.values(reference + "/" + file), "\(file)")
        }
        #expect(try Paths.number(out + "/2/paths", "barrier") == Paths.number(reference + "/2/paths", "barrier"))
    }

    /// connectivity again with pivots = 3 over the 2-pivot study: refused (exit 2, naming the
    /// setting and the fix), the paths and report.md untouched; lb-sb over the finished study is
    /// refused too, with nothing written.
    @Test func aFinishedConnectivityStudyRefusesOtherPivotsAndAnotherStudy() throws {
        let f = try Paths.fixture("study-settings-connectivity")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let config = f.path("study.toml"), out = f.path("out")
        try Self.write(Self.connectivity(f), to: config)
        let first = try MPITestSupport.run(np: 2, ["study", "connectivity", "--config", config, "--out", out, "--quiet"], timeout: 120)
        try #require(first.status == 0, "\(first.stderr)")
        let report = Self.text(out + "/report.md"), pivots = try Self.values(out + "/2/paths/pivots.npy")

        try Self.write(Self.connectivity(f, pivots: 3), to: config)
        let changed = try MPITestSupport.run(np: 2, ["study", "connectivity", "--config", config, "--out", out, "--quiet"], timeout: 120)
        #expect(changed.status == 2, "\(changed.stderr)")
        #expect(changed.stderr.contains("was run with other settings (path.pivots was 2, now 3)") && changed.stderr.contains("use another --out"), "\(changed.stderr)")
        #expect(try Self.text(out + "/report.md") == report && Self.values(out + "/2/paths/pivots.npy") == pivots)

        let lbsb = f.path("lb-sb.toml")
        try Self.write(Self.largeSmallBatch(largeSteps: 100, spectrum: "none"), to: lbsb)
        let other = try MPITestSupport.run(np: 2, ["study", "lb-sb", "--config", lbsb, "--out", out, "--quiet"])
        #expect(other.status == 2 && other.stderr.contains("holds a `landscape study connectivity` run"), "\(other.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/large") && Self.text(out + "/report.md") == report)
    }

    /// lb-sb again with another study.range over a finished study: refused (the line would be the
    /// old one), report.md untouched; connectivity over the finished study is refused too.
    @Test func aFinishedLargeSmallBatchStudyRefusesAnotherRangeAndAnotherStudy() throws {
        let f = try Paths.fixture("study-settings-lb-sb")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let config = f.path("study.toml"), out = f.path("out")
        try Self.write(Self.largeSmallBatch(range: "0:1:5", largeSteps: 100, spectrum: "none"), to: config)
        let first = try MPITestSupport.run(np: 2, ["study", "lb-sb", "--config", config, "--out", out, "--quiet"])
        try #require(first.status == 0, "\(first.stderr)")
        let report = Self.text(out + "/report.md"), line = Self.text(out + "/line/line.csv")

        try Self.write(Self.largeSmallBatch(range: "0:1:7", largeSteps: 100, spectrum: "none"), to: config)
        let changed = try MPITestSupport.run(np: 2, ["study", "lb-sb", "--config", config, "--out", out, "--quiet"])
        #expect(changed.status == 2, "\(changed.stderr)")
        #expect(changed.stderr.contains("line") && changed.stderr.contains("study.range.count was 5, now 7"), "\(changed.stderr)")
        #expect(Self.text(out + "/report.md") == report && Self.text(out + "/line/line.csv") == line)

        let connectivity = f.path("connectivity.toml")
        try Self.write(Self.connectivity(f), to: connectivity)
        let other = try MPITestSupport.run(np: 2, ["study", "connectivity", "--config", connectivity, "--out", out, "--quiet"])
        #expect(other.status == 2 && other.stderr.contains("holds a `landscape study lb-sb` run"), "\(other.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/2") && Self.text(out + "/report.md") == report)
    }

    /// `path --resume --to C` over a finished A → B path is another path: refused (not "finished;
    /// kept" with exit 0), the old summary untouched; so is --resume with other --pivots.
    @Test func aFinishedPathRefusesAResumeToAnotherPoint() throws {
        let f = try Paths.fixture("study-settings-path")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let out = f.path("out")
        let args = ["path"] + f.model + ["--from", f.a, "--method", "neb", "--pivots", "2", "--iterations", "50", "--out", out, "--quiet"]
        let first = try MPITestSupport.run(np: 2, args + ["--to", f.b])
        try #require(first.status == 0, "\(first.stderr)")
        let summary = Self.text(out + "/summary.json")
        let same = try MPITestSupport.run(np: 2, args + ["--to", f.b, "--resume"])
        #expect(same.status == 0 && Self.text(out + "/summary.json") == summary, "\(same.stderr)")

        let elsewhere = try MPITestSupport.run(np: 2, args + ["--to", f.c, "--resume"])
        #expect(elsewhere.status == 2 && elsewhere.stderr.contains("holds a finished path with other settings (the end points changed)"), "\(elsewhere.stderr)")
        let pivots = try MPITestSupport.run(np: 2, args + ["--to", f.b, "--resume", "--pivots", "3"])
        #expect(pivots.status == 2 && pivots.stderr.contains("path.pivots was 2, now 3"), "\(pivots.stderr)")
        #expect(Self.text(out + "/summary.json") == summary)
    }

    /// A group size that cannot split the ranks is refused before any minimum is trained; a
    /// study refused by its first part (data that cannot be read) leaves no directory either.
    @Test func aRefusedStudyLeavesNothing() throws {
        let f = try Paths.fixture("study-refused")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let config = f.path("study.toml"), out = f.path("out")
        try Self.write(Self.connectivity(f, groupSize: 3), to: config)
        let groups = try MPITestSupport.run(np: 2, ["study", "connectivity", "--config", config, "--out", out, "--quiet"])
        #expect(groups.status == 2 && groups.stderr.contains("path.group-size = 3 must divide the number of ranks (2)"), "\(groups.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        try FileManager.default.removeItem(atPath: f.path("X.npy"))
        try Self.write(Self.connectivity(f), to: config)
        let data = try MPITestSupport.run(np: 2, ["study", "connectivity", "--config", config, "--out", out, "--quiet"])
        #expect(data.status == 2 && data.stderr.contains("X.npy"), "\(data.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
}
