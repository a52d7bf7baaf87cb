import Foundation
import NPY
import Testing

extension MPIJobs {
/// The Slurm path against a real Slurm: `launch/slurm/local-cluster` starts munge, slurmctld and
/// slurmd on this machine (installing slurm-wlm and munge when missing) under a temporary state
/// directory with free ports, so test runs never collide with each other or with a user's cluster.
/// Jobs go through `sbatch` exactly as a user submits them. When the daemons cannot start, the
/// tests fail with the reason — they are never skipped.
@Suite struct SlurmTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static func script(_ name: String) -> String { repository.appendingPathComponent("launch/slurm/\(name)").path }

    /// Runs a command to completion (bounded by `timeout`), output through files.
    static func shell(_ arguments: [String], in directory: URL? = nil, environment extra: [String: String] = [:],
                      timeout: TimeInterval) throws -> MPIRun {
        try MPITestSupport.execute(arguments, environment: extra, in: directory, timeout: timeout)
    }

    /// A running one-node Slurm of our own; `down()` stops exactly its daemons.
    final class Cluster {
        let directory: URL
        var environment: [String: String] {
            ["LANDSCAPE_SLURM_DIR": directory.path, "SLURM_CONF": directory.appendingPathComponent("slurm.conf").path]
        }

        /// Starts the cluster; throws (failing the test loudly) with the reason when it cannot.
        init() throws {
            directory = try MPITestSupport.temporaryDirectory("slurm")
            // Generous: the first run may install slurm-wlm and munge (and wait for apt's lock).
            let up = try SlurmTests.shell([SlurmTests.script("local-cluster"), "up"],
                                         environment: ["LANDSCAPE_SLURM_DIR": directory.path, "LANDSCAPE_SLURM_PORT": "auto"],
                                         timeout: 600)
            guard up.status == 0, up.stdout.contains("export SLURM_CONF=") else {
                let status = up.status
                down()
                throw SlurmUnavailable(reason: "launch/slurm/local-cluster up failed (status \(status)):\n\(up.stderr)\(up.stdout)")
            }
        }

        func down() {
            _ = try? SlurmTests.shell([SlurmTests.script("local-cluster"), "down"], environment: environment, timeout: 120)
            try? FileManager.default.removeItem(at: directory)
        }

        /// `sbatch --parsable …` (the environment goes along, as `--export=ALL` does); the job id.
        func submit(_ arguments: [String], in directory: URL, environment extra: [String: String]) throws -> String {
            let run = try SlurmTests.shell(["sbatch", "--parsable"] + arguments, in: directory,
                                          environment: environment.merging(extra) { $1 }, timeout: 60)
            let id = run.stdout.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
            guard run.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
                throw SlurmUnavailable(reason: "sbatch \(arguments.joined(separator: " ")) failed (status \(run.status)): \(run.stderr)\(run.stdout)")
            }
            return id
        }

        /// Waits (bounded) until none of `jobs` is in the queue; then the state of each job (or
        /// array task) from `scontrol`, e.g. ["12_0": "COMPLETED 0:0"].
        func wait(for jobs: [String], timeout: TimeInterval) throws -> [String: String] {
            let deadline = Date().addingTimeInterval(timeout)
            var queued = ""
            repeat {
                let q = try SlurmTests.shell(["squeue", "-h", "-o", "%i %T", "-j", jobs.joined(separator: ",")],
                                            environment: environment, timeout: 30)
                queued = q.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                if q.status == 0 && queued.isEmpty { break }
                usleep(300_000)
            } while Date() < deadline
            guard queued.isEmpty else {
                throw SlurmUnavailable(reason: "jobs \(jobs) still queued after \(timeout) s: \(queued)\n\(logTail())")
            }
            var states: [String: String] = [:]
            for job in jobs {
                let show = try SlurmTests.shell(["scontrol", "-o", "show", "job", job], environment: environment, timeout: 30)
                for line in show.stdout.split(separator: "\n") {
                    var fields: [String: String] = [:]
                    for word in line.split(separator: " ") {
                        let pair = word.split(separator: "=", maxSplits: 1)
                        if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
                    }
                    let name = fields["ArrayTaskId"].map { "\(fields["ArrayJobId"] ?? job)_\($0)" } ?? (fields["JobId"] ?? job)
                    states[name] = "\(fields["JobState"] ?? "?") \(fields["ExitCode"] ?? "?")"
                }
            }
            return states
        }

        func logTail() -> String {
            ["slurmctld.log", "slurmd.log"].map { name in
                let text = (try? String(contentsOf: directory.appendingPathComponent("log/\(name)"), encoding: .utf8)) ?? ""
                return "--- \(name):\n" + text.split(separator: "\n").suffix(8).joined(separator: "\n")
            }.joined(separator: "\n")
        }
    }

    struct SlurmUnavailable: Error, CustomStringConvertible {
        var reason: String
        var description: String { "Slurm: \(reason)" }
    }

    /// The job logs (`*.out`) in a submit directory, for failure messages.
    static func jobLogs(_ directory: URL) -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".out") }.sorted()
        return names.map { "--- \($0):\n" + ((try? String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)) ?? "") }
            .joined(separator: "\n")
    }

    /// `CONFIG=run.toml OUT=… sbatch -n 2 launch/slurm/spectrum.sbatch --at init`, with each launcher
    /// (mpirun taking its slots from Slurm; srun --mpi=pmix), gives the eigenvalues of a direct
    /// `mpirun -np 2` run to 1e-10.
    @Test func spectrumBatchJobMatchesMpirun() throws {
        let work = try MPITestSupport.temporaryDirectory("slurm-spectrum")
        defer { try? FileManager.default.removeItem(at: work) }
        try """
            seed = 5
            [data]
            kind = "clusters"
            samples = 40
            classes = 3
            dimension = 6
            [model]
            layers = [7, 5]
            activation = "tanh"
            loss = "cross-entropy"
            [hessian]
            block = 16

            """.write(to: work.appendingPathComponent("run.toml"), atomically: true, encoding: .utf8)
        let direct = try MPITestSupport.run(np: 2, ["spectrum", "--config", work.appendingPathComponent("run.toml").path,
                                                    "--at", "init", "--out", work.appendingPathComponent("direct").path, "--quiet"])
        try #require(direct.status == 0, "direct mpirun: \(direct.stderr)")
        let reference = try NPYArray(contentsOf: work.appendingPathComponent("direct/eigenvalues.npy").path).values

        let cluster = try Cluster()
        defer { cluster.down() }
        var jobs: [String: String] = [:]
        for launcher in ["mpirun", "srun"] {
            jobs[launcher] = try cluster.submit(["-n", "2", "-t", "5", Self.script("spectrum.sbatch"), "--at", "init", "--quiet"], in: work,
                                                environment: ["CONFIG": "run.toml", "OUT": "via-\(launcher)", "LAUNCHER": launcher,
                                                              "LANDSCAPE": MPITestSupport.landscape])
        }
        let states = try cluster.wait(for: Array(jobs.values), timeout: 120)
        for (launcher, job) in jobs.sorted(by: { $0.key < $1.key }) {
            #expect(states[job] == "COMPLETED 0:0", "\(launcher) job \(job): \(states[job] ?? "no state")\n\(Self.jobLogs(work))")
            let path = work.appendingPathComponent("via-\(launcher)/eigenvalues.npy").path
            guard FileManager.default.fileExists(atPath: path) else {
                Issue.record("\(launcher): no \(path)\n\(Self.jobLogs(work))\n\(cluster.logTail())")
                continue
            }
            let values = try NPYArray(contentsOf: path).values
            #expect(values.count == reference.count)
            let difference = MPITestSupport.maxRelativeDifference(values, reference)
            #expect(difference <= 1e-10, "\(launcher): max |Δλ| / max |λ| = \(difference)")
        }
    }

    /// The time-limit path: USR1 to the batch shell (what `--signal=B:USR1@120` sends; here through
    /// `scancel --signal=USR1 --batch`) is forwarded through mpirun to every rank mid-training; the
    /// job ends with exit status 3 and a checkpoint, and the same job resubmitted with --resume
    /// ends with the eigenvalues of an uninterrupted run (1e-10).
    @Test func timeLimitSignalCheckpointsAndResumes() throws {
        let work = try MPITestSupport.temporaryDirectory("slurm-signal")
        defer { try? FileManager.default.removeItem(at: work) }
        try """
            seed = 5
            [data]
            kind = "clusters"
            samples = 200
            classes = 3
            dimension = 6
            [model]
            layers = [7, 5]
            activation = "tanh"
            loss = "cross-entropy"
            [train]
            algorithm = "gd"
            learning-rate = 0.1
            steps = 8000
            record-every = 100
            checkpoint-every = 500
            [hessian]
            block = 16

            """.write(to: work.appendingPathComponent("run.toml"), atomically: true, encoding: .utf8)
        let cluster = try Cluster()
        defer { cluster.down() }
        let environment = ["CONFIG": "run.toml", "OUT": "stopped", "LANDSCAPE": MPITestSupport.landscape]
        let job = try cluster.submit(["-n", "2", "-t", "5", Self.script("spectrum.sbatch"), "--quiet"], in: work, environment: environment)
        // Signal once training is provably under way: its first periodic checkpoint is on disk.
        let first = work.appendingPathComponent("stopped/train/params-500.npy").path
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: first) && Date() < deadline { usleep(50_000) }
        try #require(FileManager.default.fileExists(atPath: first), "training never reached step 500\n\(Self.jobLogs(work))")
        let signal = try Self.shell(["scancel", "--signal=USR1", "--batch", job], environment: cluster.environment, timeout: 30)
        try #require(signal.status == 0, "scancel: \(signal.stderr)")
        let stopped = try cluster.wait(for: [job], timeout: 90)
        #expect(stopped[job] == "FAILED 3:0", "job \(job): \(stopped[job] ?? "no state")\n\(Self.jobLogs(work))")
        #expect(Self.jobLogs(work).contains("received USR1, forwarding it"), "\(Self.jobLogs(work))")
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("stopped/final/eigenvalues.npy").path),
                "the job finished before the signal arrived: nothing was tested")

        let resumed = try cluster.submit(["-n", "2", "-t", "5", Self.script("spectrum.sbatch"), "--resume", "--quiet"], in: work,
                                         environment: environment)
        let states = try cluster.wait(for: [resumed], timeout: 120)
        #expect(states[resumed] == "COMPLETED 0:0", "job \(resumed): \(states[resumed] ?? "no state")\n\(Self.jobLogs(work))")
        let direct = try MPITestSupport.run(np: 2, ["spectrum", "--config", work.appendingPathComponent("run.toml").path,
                                                    "--out", work.appendingPathComponent("direct").path, "--quiet"], timeout: 120)
        try #require(direct.status == 0, "direct mpirun: \(direct.stderr)")
        let x = try NPYArray(contentsOf: work.appendingPathComponent("stopped/final/eigenvalues.npy").path).values
        let y = try NPYArray(contentsOf: work.appendingPathComponent("direct/final/eigenvalues.npy").path).values
        #expect(x.count == y.count && MPITestSupport.maxRelativeDifference(x, y) <= 1e-10, "max |Δλ| / max |λ| = \(MPITestSupport.maxRelativeDifference(x, y))")
    }

    /// Four points (2 class counts × 2 widths, mirroring SweepTests): a job array of 4 one-rank
    /// slices plus the dependent --aggregate-only job (launch/slurm/submit-sweep-array) gives the
    /// same aggregate as one 2-rank job with groups of 1 — the same points, every one done, the same
    /// spectra to 1e-10 and the same summary columns (timings aside).
    @Test func sweepJobArrayMatchesOneJob() throws {
        let work = try MPITestSupport.temporaryDirectory("slurm-sweep")
        defer { try? FileManager.default.removeItem(at: work) }
        try Sweeps.tiny.write(to: work.appendingPathComponent("sweep.toml"), atomically: true, encoding: .utf8)
        let cluster = try Cluster()
        defer { cluster.down() }
        let common = ["CONFIG": "sweep.toml", "LANDSCAPE": MPITestSupport.landscape]
        let submitted = try Self.shell([Self.script("submit-sweep-array"), "4", "-n", "1", "-t", "5", "--", "--quiet"], in: work,
                                       environment: cluster.environment.merging(common) { $1 }.merging(["OUT": "array"]) { $1 },
                                       timeout: 60)
        try #require(submitted.status == 0, "submit-sweep-array: \(submitted.stderr)")
        var ids: [String: String] = [:]
        for line in submitted.stdout.split(separator: "\n") {
            let pair = line.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { ids[pair[0]] = pair[1] }
        }
        let array = try #require(ids["ARRAY_JOB"], "\(submitted.stdout)"), aggregate = try #require(ids["AGGREGATE_JOB"], "\(submitted.stdout)")
        let single = try cluster.submit(["-n", "2", "-t", "5", Self.script("sweep.sbatch"), "--quiet"], in: work,
                                        environment: common.merging(["OUT": "one", "GROUP_SIZE": "1"]) { $1 })
        let states = try cluster.wait(for: [array, aggregate, single], timeout: 180)
        let expected = ["\(array)_0", "\(array)_1", "\(array)_2", "\(array)_3", aggregate, single]
        for job in expected {
            #expect(states[job] == "COMPLETED 0:0", "job \(job): \(states[job] ?? "no state") (all: \(states))\n\(Self.jobLogs(work))")
        }

        let one = work.appendingPathComponent("one").path, sliced = work.appendingPathComponent("array").path
        let rowsOne = try Sweeps.csvRows(one + "/sweep/summary.csv"), rowsArray = try Sweeps.csvRows(sliced + "/sweep/summary.csv")
        #expect(rowsOne.count == 4 && rowsArray.count == 4, "\(Self.jobLogs(work))")
        #expect(rowsArray.map { $0["id"] ?? "" } == rowsOne.map { $0["id"] ?? "" })
        #expect(rowsArray.allSatisfy { $0["status"] == "done" }, "\(rowsArray)")
        let report = try String(contentsOfFile: sliced + "/sweep/report.md", encoding: .utf8)
        #expect(report.contains("4 of 4 points done"))
        for (a, b) in zip(rowsArray, rowsOne) {
            for (key, value) in b where !key.hasSuffix("seconds") && key != "peak_memory_bytes" {
                if let x = Double(a[key] ?? ""), let y = Double(value) {
                    #expect(abs(x - y) <= 1e-10 * max(abs(y), 1), "\(b["id"] ?? "?") \(key): array \(x), one job \(y)")
                } else {
                    #expect(a[key] == value, "\(b["id"] ?? "?") \(key)")
                }
            }
            let id = b["id"] ?? ""
            let x = try NPYArray(contentsOf: "\(sliced)/points/\(id)/final/eigenvalues.npy").values,
                y = try NPYArray(contentsOf: "\(one)/points/\(id)/final/eigenvalues.npy").values
            #expect(x.count == y.count && MPITestSupport.maxRelativeDifference(x, y) <= 1e-10, "\(id)")
        }
    }
}
}
