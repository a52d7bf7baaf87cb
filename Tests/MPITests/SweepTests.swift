import Foundation
import NPY
import Testing

extension MPIJobs {
/// `landscape sweep`: groups give the same per-point results as one rank; an interrupted sweep
/// resumes without recomputing finished points and ends where an uninterrupted one does; a
/// failing point is recorded and the rest complete; the aggregate files parse.
@Suite struct Sweeps {
    /// Four tiny points: 2 class counts × 2 widths (M = 47 … 92), trained for 40 GD steps.
    static let tiny = """
        seed = 3
        [data]
        kind = "clusters"
        samples = 120
        classes = 3
        dimension = 6
        [model]
        layers = [5]
        activation = "tanh"
        loss = "cross-entropy"
        [train]
        algorithm = "gd"
        learning-rate = 0.2
        steps = 40
        record-every = 10
        [hessian]
        block = 16
        [sweep]
        "data.classes" = [2, 4]
        "model.layers" = [[5], [8]]

        """

    static func write(_ text: String, in directory: URL, name: String = "sweep.toml") throws -> String {
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func pointDirectories(_ out: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: out + "/points").sorted()
    }

    static func eigenvalues(_ out: String, _ id: String) throws -> [Double] {
        try NPYArray(contentsOf: "\(out)/points/\(id)/final/eigenvalues.npy").values
    }

    /// Rows of summary.csv as dictionaries, read by Python's csv module (the format's reference).
    static func csvRows(_ path: String) throws -> [[String: String]] {
        let script = "import csv, json, sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1], newline='')))))"
        let run = try MPITestSupport.execute(["python3", "-c", script, path], timeout: 30)
        try #require(run.status == 0, "python3 could not read \(path): \(run.stderr)")
        return try JSONDecoder().decode([[String: String]].self, from: Data(run.stdout.utf8))
    }

    /// The 4 points on 4 ranks in 2 groups of 2 equal (1e-10 relative) the same points run one by
    /// one on 1 rank — and one point equals a standalone `landscape spectrum` of its config.toml.
    @Test func groupsMatchOneRank() throws {
        let directory = try MPITestSupport.temporaryDirectory("sweep-groups")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try Self.write(Self.tiny, in: directory)
        let grouped = directory.appendingPathComponent("grouped").path, serial = directory.appendingPathComponent("serial").path
        let a = try MPITestSupport.run(np: 4, ["sweep", "--config", config, "--out", grouped, "--group-size", "2"], timeout: 180)
        try #require(a.status == 0, "\(a.stderr)")
        #expect(a.stderr.contains("2 groups of 2 ranks"), "\(a.stderr)")
        let b = try MPITestSupport.run(np: 1, ["sweep", "--config", config, "--out", serial], timeout: 180)
        try #require(b.status == 0, "\(b.stderr)")
        let ids = try Self.pointDirectories(grouped)
        #expect(ids.count == 4)
        #expect(try Self.pointDirectories(serial) == ids)   // the same stable ids
        for id in ids {
            let difference = MPITestSupport.maxRelativeDifference(try Self.eigenvalues(grouped, id), try Self.eigenvalues(serial, id))
            #expect(difference <= 1e-10, "\(id): max |Δλ| / max |λ| = \(difference)")
        }
        // A point's directory is a `landscape spectrum` run: its config.toml reproduces it.
        let id = ids[0]
        let single = directory.appendingPathComponent("single").path
        let c = try MPITestSupport.run(np: 2, ["spectrum", "--config", "\(grouped)/points/\(id)/train/config.toml", "--out", single, "--quiet"])
        try #require(c.status == 0, "\(c.stderr)")
        let x = try NPYArray(contentsOf: single + "/final/eigenvalues.npy").values, y = try Self.eigenvalues(grouped, id)
        #expect(MPITestSupport.maxRelativeDifference(x, y) <= 1e-10)

        // The aggregate: one CSV row per point (Python's csv module), every SVG well-formed XML.
        let rows = try Self.csvRows(grouped + "/sweep/summary.csv")
        #expect(rows.count == 4)
        #expect(Set(rows.map { $0["id"] ?? "" }) == Set(ids))
        #expect(rows.allSatisfy { $0["status"] == "done" && $0["data.classes"] != nil && Int($0["M"] ?? "") != nil })
        // The bulk at the default relative thresholds, one entry per τ, as a share of M.
        #expect(rows.allSatisfy { $0["bulk_tolerances"] == "0.0001 0.001" && ($0["bulk_fraction"] ?? "").split(separator: " ").count == 2 })
        // Per-block outliers and the eigenvectors' anatomy as columns (docs/anatomy.md).
        let anatomy = directory.appendingPathComponent("anatomy").path
        let d = try MPITestSupport.run(np: 2, ["sweep", "--config", config, "--out", anatomy, "--blocks", "layers", "--eigenvectors", "top:3"], timeout: 180)
        try #require(d.status == 0, "\(d.stderr)")
        let anatomyRows = try Self.csvRows(anatomy + "/sweep/summary.csv")
        #expect(anatomyRows.count == 4 && anatomyRows.allSatisfy { row in
            (row["block_outliers"] ?? "").hasPrefix("layer1=") && Double(row["block_off_diagonal_fraction"] ?? "") != nil
                && Double(row["class_mean_overlap_top"] ?? "").map { $0 >= 0 && $0 <= 1 } == true
                && (row["mean_layer_mass"] ?? "").split(separator: " ").count >= 2
        }, "\(anatomyRows)")
        let svgs = try FileManager.default.contentsOfDirectory(atPath: grouped + "/sweep").filter { $0.hasSuffix(".svg") }
        #expect(svgs.count >= 4, "\(svgs)")
        let check = try MPITestSupport.execute(["python3", "-c", "import sys, xml.etree.ElementTree as E; [E.parse(p) for p in sys.argv[1:]]"]
                                               + svgs.map { grouped + "/sweep/" + $0 }, timeout: 30)
        #expect(check.status == 0, "an SVG of \(svgs) is not well-formed XML: \(check.stderr)")
        let report = try String(contentsOfFile: grouped + "/sweep/report.md", encoding: .utf8)
        #expect(report.contains("4 of 4 points done"))
    }

    /// A point whose settings are impossible is recorded as failed with its message; the others
    /// complete, the report lists both, and the exit status (1) tells the batch system.
    @Test func failingPointIsRecorded() throws {
        let directory = try MPITestSupport.temporaryDirectory("sweep-fail")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try Self.write(Self.tiny.replacingOccurrences(of: "[[5], [8]]", with: "[[5], [0]]"), in: directory)
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["sweep", "--config", config, "--out", out])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("2 of 4 points failed"), "\(run.stderr)")
        let rows = try Self.csvRows(out + "/sweep/summary.csv")
        #expect(rows.count == 4)
        #expect(rows.filter { $0["status"] == "done" }.count == 2)
        let failed = rows.filter { $0["status"] == "failed" }
        #expect(failed.count == 2 && failed.allSatisfy { $0["model.layers"] == "[0]" && ($0["error"] ?? "").contains("model.layers") }, "\(failed)")
    }

    /// SIGTERM (a Slurm time limit) to the ranks mid-sweep: exit 3; finished points keep their
    /// files untouched through the re-run, the interrupted one is redone, and the final summary
    /// equals an uninterrupted sweep's.
    @Test func interruptedSweepResumes() throws {
        let directory = try MPITestSupport.temporaryDirectory("sweep-resume")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Six points of about a second each, so the signal lands while points remain.
        let text = Self.tiny
            .replacingOccurrences(of: "steps = 40", with: "steps = 1500")
            .replacingOccurrences(of: "samples = 120", with: "samples = 400")
            .replacingOccurrences(of: "\"data.classes\" = [2, 4]", with: "\"data.classes\" = [2, 3, 4]")
        let config = try Self.write(text, in: directory)
        let out = directory.appendingPathComponent("out").path, reference = directory.appendingPathComponent("reference").path

        let log = directory.appendingPathComponent("log")
        let process = try MPITestSupport.start(np: 2, ["sweep", "--config", config, "--out", out], log: log)
        // Wait for the first finished point, then signal every rank (as Slurm does).
        func finished() -> [String] {
            ((try? Self.pointDirectories(out)) ?? []).filter { FileManager.default.fileExists(atPath: "\(out)/points/\($0)/point.json") }
        }
        MPITestSupport.wait(timeout: 120) { !finished().isEmpty || !process.isRunning }
        MPITestSupport.signalRanks(of: process, SIGTERM)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        try #require(process.terminationStatus == 3, "status \(process.terminationStatus): \(output)")
        #expect(output.contains("stopped: sweep stopped by a signal"), "\(output)")

        let done = finished()
        #expect(!done.isEmpty && done.count < 6, "finished before the signal: \(done)")
        func modificationTimes() throws -> [String: Date] {
            var times: [String: Date] = [:]
            for id in done {
                for file in ["point.json", "final/eigenvalues.npy", "final/summary.json", "train/params.npy"] {
                    let path = "\(out)/points/\(id)/\(file)"
                    times[path] = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
                }
            }
            return times
        }
        let before = try modificationTimes()
        let resumed = try MPITestSupport.run(np: 2, ["sweep", "--config", config, "--out", out, "--resume"], timeout: 180)
        try #require(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("\(done.count) already done"), "\(resumed.stderr)")
        #expect(try modificationTimes() == before, "a finished point was rewritten")

        let whole = try MPITestSupport.run(np: 2, ["sweep", "--config", config, "--out", reference], timeout: 180)
        try #require(whole.status == 0, "\(whole.stderr)")
        // Equal summaries: every column but the timings and memory.
        let timing: Set<String> = ["train_seconds", "assembly_seconds", "eigensolve_seconds", "seconds", "peak_memory_bytes"]
        let x = try Self.csvRows(out + "/sweep/summary.csv"), y = try Self.csvRows(reference + "/sweep/summary.csv")
        #expect(x.count == 6 && y.count == 6)
        for (r, s) in zip(x, y) {
            for (key, value) in r where !timing.contains(key) {
                #expect(value == s[key], "\(r["id"] ?? ""): \(key) = \(value) after resuming, \(s[key] ?? "nil") uninterrupted")
            }
        }
    }
}
}
