import Foundation
import NPY
import Testing

/// Several hosts on one machine: `launch/test-hosts up 3` makes three network namespaces on a
/// bridge, `launch/mpirun` with their hostfile starts Open MPI's daemons in them through
/// `launch/test-hosts-agent`, and ranks on different hosts talk TCP across the bridge. The suite
/// makes its own hosts (a prefix and a /24 of its own, so a user's `launch/test-hosts up` or another
/// test run is left alone) before its first test and removes them after its last, failed or not.
extension MPIJobs {
@Suite(.testHosts) struct MultiHost {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let wrapper = repository.appendingPathComponent("launch/mpirun").path

    /// `launch/mpirun` (NP ranks, HOSTFILE, MPI_FLAGS) on the test binary (or `binary`).
    static func launch(np: Int, hostfile: String, _ args: [String], flags: String = "", binary: String = MPITestSupport.landscape,
                       timeout: TimeInterval = 120) throws -> MPIRun {
        try MPITestSupport.execute([wrapper] + args, environment: environment(np: np, hostfile: hostfile, flags: flags, binary: binary), timeout: timeout)
    }

    static func environment(np: Int, hostfile: String, flags: String = "", binary: String = MPITestSupport.landscape) -> [String: String] {
        MPITestSupport.mpiEnvironment.merging(["NP": "\(np)", "HOSTFILE": hostfile, "LANDSCAPE": binary, "MPI_FLAGS": flags]) { $1 }
    }

    /// The ranks' hosts as `landscape info` lists them, in rank order.
    static func placement(_ output: String) -> [String] {
        output.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.count >= 4, words[0] == "rank", words[2] == "on" else { return nil }
            return String(words[3])
        }
    }

    @Test(arguments: [2, 3])
    func infoShowsEveryHost(hosts: Int) throws {
        let hostfile = try TestHosts.shared.hostfile(hosts: hosts)
        let run = try Self.launch(np: 2 * hosts, hostfile: hostfile, ["info"])
        try #require(run.status == 0, "\(run.stderr)")
        let names = TestHosts.shared.names.prefix(hosts)
        // Slots fill in order: two ranks on each host, rank order following the hostfile.
        #expect(Self.placement(run.stdout) == names.flatMap { [$0, $0] }, "\(run.stdout)")
    }

    /// The exact spectrum and matrix-free top eigenvalues on 2 hosts × 2 ranks equal those of
    /// 4 ranks on one host, and the ranks' traffic went over the bridge (its veths counted it).
    @Test func spectrumAndTopMatchOneHost() throws {
        let directory = try MPITestSupport.temporaryDirectory("multihost")
        defer { try? FileManager.default.removeItem(at: directory) }
        let hostfile = try TestHosts.shared.hostfile(hosts: 2)
        let model = MPIJobs.Estimators.model
        let jobs: [(name: String, args: [String], file: String)] = [
            ("spectrum", ["spectrum"] + model, "eigenvalues.npy"),
            ("top", ["top"] + model + ["--k", "4", "--which", "both", "--tolerance", "1e-11"], "eigenvalues.npy")]
        for job in jobs {
            let one = directory.appendingPathComponent("\(job.name)-one").path, two = directory.appendingPathComponent("\(job.name)-two").path
            let reference = try MPITestSupport.run(np: 4, job.args + ["--out", one])
            try #require(reference.status == 0, "\(job.name) on one host: \(reference.stderr)")
            let before = TestHosts.shared.bridgeBytes()
            let run = try Self.launch(np: 4, hostfile: hostfile, job.args + ["--out", two])
            try #require(run.status == 0, "\(job.name) on 2 hosts: \(run.stderr)")
            #expect(TestHosts.shared.bridgeBytes() > before + 10_000, "\(job.name): no traffic between the hosts")
            let a = try NPYArray(contentsOf: two + "/" + job.file).values, b = try NPYArray(contentsOf: one + "/" + job.file).values
            #expect(MPITestSupport.maxRelativeDifference(a, b) <= 1e-10, "\(job.name): 2 hosts \(a.prefix(4)) vs one \(b.prefix(4))")
            guard job.name == "spectrum" else { continue }
            // The assembly's exchange as counted in the code: on one host the partial panels are
            // allreduced (the same payload on every rank); across hosts each entry goes to its
            // owner — ≈ 8·M²·(P − 1)/P in all, what is sent is received, and part of it crosses.
            func exchange(_ run: String) throws -> [String: [Double]] {
                let data = try Data(contentsOf: URL(fileURLWithPath: run + "/timings.json"))
                let phases = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["phases"] as? [[String: Any]] ?? []
                let reduce = phases.first { $0["name"] as? String == "reduce hessian" } ?? [:]
                return reduce.compactMapValues { $0 as? [Double] }
            }
            let (local, spread) = (try exchange(one), try exchange(two))
            #expect(Set(local["bytes"] ?? []).count == 1 && local["offNodeBytes"] == nil, "\(local)")
            let m = Double(b.count), sent = spread["bytes"]?.reduce(0, +) ?? 0, offNode = spread["offNodeBytes"]?.reduce(0, +) ?? 0
            #expect(sent == spread["receivedBytes"]?.reduce(0, +) && abs(sent - 8 * m * m * 3 / 4) <= 0.3 * 8 * m * m * 3 / 4, "\(spread)")
            #expect(offNode > 0.3 * sent && offNode < 0.9 * sent, "off-node \(offNode) of \(sent) sent")
        }
    }

    /// Each group's ranks and host as the job's "rank groups:" line names them, by group.
    static func groups(_ stderr: String) -> [(ranks: [Int], host: String)] {
        guard let line = stderr.split(separator: "\n").first(where: { $0.contains("landscape: rank groups:") }),
              let list = line.split(separator: "—").last else { return [] }
        return list.split(separator: ";").compactMap { entry -> ([Int], String)? in
            // "group 0: ranks 0, 2 on lt1" (ranges "0-1"; "lt1 + lt2" for a group across hosts)
            guard let ranks = entry.split(separator: ":").last?.components(separatedBy: " on ").first,
                  let host = entry.components(separatedBy: " on ").last else { return nil }
            let numbers = ranks.replacingOccurrences(of: "ranks", with: "").split(separator: ",").flatMap { part -> [Int] in
                let ends = part.trimmingCharacters(in: .whitespaces).split(separator: "-").compactMap { Int($0) }
                return ends.count == 2 ? Array(ends[0]...ends[1]) : ends
            }
            return (numbers, host.trimmingCharacters(in: .whitespaces))
        }
    }

    /// Ranks placed round-robin over 2 hosts (`--map-by node`: ranks 0, 2 on the first, 1, 3 on
    /// the second, as `landscape info` shows) form their rank groups inside each host: `path` and
    /// `sweep` with groups of 2 say so in their "rank groups:" line, and give the results of 4
    /// ranks on one host (where the groups are ranks 0-1 and 2-3) to 1e-10. The work queue, whose
    /// group leaders are then world ranks 0 and 1, passes its collective checks there.
    @Test func groupsStayOnOneHostAndMatchOneHost() throws {
        let f = try MPIJobs.Paths.fixture("multihost-groups", samples: 48)
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let hostfile = try TestHosts.shared.hostfile(hosts: 2)
        let names = Array(TestHosts.shared.names.prefix(2))
        let info = try Self.launch(np: 4, hostfile: hostfile, ["info"], flags: "--map-by node")
        try #require(info.status == 0, "\(info.stderr)")
        let hosts = Self.placement(info.stdout)
        try #require(hosts == [names[0], names[1], names[0], names[1]], "\(info.stdout)")

        let sweep = try MPIJobs.Sweeps.write(MPIJobs.Sweeps.tiny, in: f.directory)
        let jobs: [(name: String, args: [String])] = [
            ("path", ["path"] + f.model + ["--from", f.a, "--to", f.b, "--method", "autoneb", "--pivots", "3", "--cycles", "2",
                                           "--cycle-iterations", "150", "--iterations", "100", "--insert-threshold", "0", "--group-size", "2"]),
            ("sweep", ["sweep", "--config", sweep, "--group-size", "2"])]
        for job in jobs {
            let one = f.path("\(job.name)-one"), two = f.path("\(job.name)-two")
            let reference = try MPITestSupport.run(np: 4, job.args + ["--out", one], timeout: 180)
            try #require(reference.status == 0, "\(job.name) on one host: \(reference.stderr)")
            #expect(Self.groups(reference.stderr).isEmpty, "one host: no placement line: \(reference.stderr)")
            let run = try Self.launch(np: 4, hostfile: hostfile, job.args + ["--out", two], flags: "--map-by node", timeout: 180)
            try #require(run.status == 0, "\(job.name) on 2 hosts: \(run.stderr)")
            let groups = Self.groups(run.stderr)
            #expect(groups.map(\.ranks) == [[0, 2], [1, 3]] && groups.map(\.host) == names, "\(job.name): \(run.stderr)")
            #expect(groups.allSatisfy { group in group.ranks.allSatisfy { hosts[$0] == group.host } }, "\(job.name): \(groups) vs info \(hosts)")
            let files = job.name == "path" ? ["pivots.npy"] : try MPIJobs.Sweeps.pointDirectories(one).map { "points/\($0)/final/eigenvalues.npy" }
            #expect(files.count == (job.name == "path" ? 1 : 4))
            for file in files {
                let a = try NPYArray(contentsOf: two + "/" + file).values, b = try NPYArray(contentsOf: one + "/" + file).values
                #expect(a.count == b.count && MPITestSupport.maxRelativeDifference(a, b) <= 1e-10, "\(job.name) \(file): 2 hosts \(a.prefix(4)) vs one \(b.prefix(4))")
            }
        }
        let queue = try Self.launch(np: 4, hostfile: hostfile, ["queue."], flags: "--map-by node", binary: MPIJobs.LibraryUnderMPI.checks)
        #expect(queue.status == 0 && queue.stdout.contains("5 passed, 0 failed"), "\(queue.stdout)\(queue.stderr)")
    }

    /// A group size that does not divide the ranks on every host (3 on the first, 1 on the second;
    /// 2 divides the 4 ranks) is refused in one line naming the setting, the ranks per host and
    /// the fix, exit 2, nothing written; `--group-placement any` lets the groups straddle.
    @Test func aGroupSizeThatDoesNotDivideEveryHostIsRefused() throws {
        let f = try MPIJobs.Paths.fixture("multihost-uneven")
        defer { try? FileManager.default.removeItem(at: f.directory) }
        let names = TestHosts.shared.names
        let generated = try String(contentsOfFile: try TestHosts.shared.hostfile(hosts: 2), encoding: .utf8)
        let uneven = try MPITestSupport.write(generated.replacingOccurrences(of: "\(names[0]) slots=2", with: "\(names[0]) slots=3")
            .replacingOccurrences(of: "\(names[1]) slots=2", with: "\(names[1]) slots=1"), to: "uneven", in: f.directory)
        let sweep = try MPIJobs.Sweeps.write(MPIJobs.Sweeps.tiny, in: f.directory)
        let jobs = [["sweep", "--config", sweep, "--group-size", "2"],
                    ["path"] + f.model + ["--from", f.a, "--to", f.b, "--group-size", "2"]]
        for args in jobs {
            let out = f.path("out")
            let run = try Self.launch(np: 4, hostfile: uneven, args + ["--out", out])
            let errors = run.stderr.split(separator: "\n").filter { $0.lowercased().hasPrefix("error") }
            #expect(run.status == 2 && errors.count == 1, "\(args[0]): status \(run.status): \(run.stderr)")
            #expect(errors.first.map { String($0) } == "error: --group-size = 2 does not divide the ranks on every host (3 on \(names[0]), 1 on \(names[1])), so a group would straddle hosts; give a size that divides each (e.g. 1), or --group-placement any to allow straddling",
                    "\(args[0]): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(args[0]): nothing written")
        }
        let out = f.path("any")
        let any = try Self.launch(np: 4, hostfile: uneven, jobs[0] + ["--group-placement", "any", "--out", out])
        #expect(any.status == 0, "\(any.stderr)")
        #expect(Self.groups(any.stderr).map(\.host) == [names[0], "\(names[0]) + \(names[1])"], "\(any.stderr)")
        #expect(try MPIJobs.Sweeps.pointDirectories(out).count == 4)
    }

    /// The lost-host job and its uninterrupted run on one host (4 ranks), made once per suite run: `spectrum`
    /// training `TrainRuns`' small MLP first, 10000 GD steps with a checkpoint every 1000.
    final class Training: @unchecked Sendable {
        let directory: URL
        let config: String, reference: String
        /// The job's arguments before --out.
        var args: [String] { ["spectrum", "--config", config, "--steps", "10000", "--record-every", "1000", "--checkpoint-every", "1000", "--quiet"] }
        init() throws {
            // Inside the test hosts' directory, removed with them at the end of the suite.
            directory = TestHosts.shared.directory.appendingPathComponent("training")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            config = try MPITestSupport.write(MPIJobs.TrainRuns.config, to: "run.toml", in: directory)
            reference = directory.appendingPathComponent("reference").path
            let whole = try MPITestSupport.run(np: 4, args + ["--out", reference], timeout: 300)
            guard whole.status == 0 else { throw TestHostsUnavailable(reason: "the reference run on one host failed: \(whole.stderr)") }
        }
    }
    static let training = Result { try Training() }

    enum HostLoss: String, CaseIterable, Sendable {
        /// Every process in the host's namespace gets SIGKILL (a crashed node): connections reset.
        case killed
        /// The host's link goes down with its processes alive (a cut cable): nothing is reset,
        /// only TCP keepalive notices (launch/mpirun sets it for test hosts).
        case cutOff
    }

    /// A run of `spectrum` that trains first (checkpoints every 1000 steps) loses host 2 during
    /// training: Open MPI ends the job with its message within 60 s, and the same command with
    /// --resume, on the same hosts, finishes with the spectrum of an uninterrupted run on one host.
    @Test(arguments: HostLoss.allCases)
    func aLostHostEndsTheJobAndResumeFinishesIt(loss: HostLoss) throws {
        let fixture = try Self.training.get()
        let directory = try MPITestSupport.temporaryDirectory("multihost-loss")
        defer { try? FileManager.default.removeItem(at: directory) }
        let args = fixture.args
        let out = directory.appendingPathComponent("out").path
        let hostfile = try TestHosts.shared.hostfile(hosts: 2)
        let log = directory.appendingPathComponent("log")
        let process = try MPITestSupport.start([Self.wrapper] + args + ["--out", out], environment: Self.environment(np: 4, hostfile: hostfile), log: log)
        func text() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        let train = out + "/train/"
        let started = MPITestSupport.wait(timeout: 120) { FileManager.default.fileExists(atPath: train + "params-1000.npy") || !process.isRunning }
        let midRun = started && process.isRunning && !FileManager.default.fileExists(atPath: train + "params.npy")
        let host = TestHosts.shared.names[1]
        let processes = TestHosts.shared.processes(on: host).count
        switch loss {
        case .killed: TestHosts.shared.killEverything(on: host)
        case .cutOff: TestHosts.shared.setLink(of: host, up: false)
        }
        let lost = Date()
        let ended = MPITestSupport.wait(timeout: 90) { !process.isRunning }
        let seconds = Date().timeIntervalSince(lost)
        // Back on the network, and nothing of the lost job left on it (or anywhere).
        TestHosts.shared.setLink(of: host, up: true)
        if !ended { for name in TestHosts.shared.names { TestHosts.shared.killEverything(on: name) }; kill(process.processIdentifier, SIGKILL) }
        TestHosts.shared.killEverything(on: host)
        process.waitUntilExit()
        print("MultiHost: the job ended \(String(format: "%.2f", seconds)) s after host \(host) was \(loss) (\(processes) processes there)")
        try #require(midRun && processes >= 3, "host \(host) was not lost in mid-training (\(processes) processes there): \(text())")
        #expect(ended && seconds < 60, "the job went on \(seconds) s after losing \(host)")
        #expect(process.terminationStatus != 0)
        #expect(text().contains("lost communication with a remote daemon") && text().contains(host), "\(text())")
        #expect(!FileManager.default.fileExists(atPath: out + "/final/eigenvalues.npy"))

        let resumed = try Self.launch(np: 4, hostfile: hostfile, args + ["--out", out, "--resume"], timeout: 300)
        try #require(resumed.status == 0, "--resume: \(resumed.stderr)")
        #expect(resumed.stdout.contains("resuming at step"), "\(resumed.stdout)")
        for file in ["train/params.npy", "final/eigenvalues.npy", "init/eigenvalues.npy"] {
            let a = try NPYArray(contentsOf: out + "/" + file).values, b = try NPYArray(contentsOf: fixture.reference + "/" + file).values
            #expect(MPITestSupport.maxRelativeDifference(a, b) <= 1e-10, "\(file) after the resume")
        }
    }

    /// Host 1, which held rank 0 and so the run directory's lock, is lost in mid-run: the lock stays
    /// behind. Resumed with rank 0 on host 2, whose rank 0 cannot tell whether a process on another
    /// host is gone, the run is refused in one line naming the holder and how to remove its lock;
    /// resumed with rank 0 on host 1 again, the lock is seen to be stale, replaced with a note, and
    /// the run finishes.
    @Test func aLockLeftOnALostHostIsNamedElsewhereAndReplacedOnItsHost() throws {
        let directory = try MPITestSupport.temporaryDirectory("multihost-lock")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try MPITestSupport.write(MPIJobs.TrainRuns.config, to: "run.toml", in: directory)
        let out = directory.appendingPathComponent("out").path, log = directory.appendingPathComponent("log")
        let hostfile = try TestHosts.shared.hostfile(hosts: 2)
        let args = ["train", "--config", config, "--steps", "10000", "--checkpoint-every", "1000", "--quiet", "--out", out]
        let process = try MPITestSupport.start([Self.wrapper] + args, environment: Self.environment(np: 4, hostfile: hostfile), log: log)
        func text() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        let started = MPITestSupport.wait(timeout: 120) { FileManager.default.fileExists(atPath: out + "/params-1000.npy") || !process.isRunning }
        let midRun = started && process.isRunning && !FileManager.default.fileExists(atPath: out + "/params.npy")
        let first = TestHosts.shared.names[0], second = TestHosts.shared.names[1]
        TestHosts.shared.killEverything(on: first)
        let ended = MPITestSupport.wait(timeout: 90) { !process.isRunning }
        if !ended { for name in TestHosts.shared.names { TestHosts.shared.killEverything(on: name) }; kill(process.processIdentifier, SIGKILL) }
        TestHosts.shared.killEverything(on: second)
        process.waitUntilExit()
        try #require(midRun && ended, "host \(first) was not lost in mid-training, or the job went on: \(text())")
        let lock = out + "/.landscape.lock"
        let holder = (try? String(contentsOfFile: lock, encoding: .utf8)) ?? ""
        try #require(holder.split(separator: " ").dropFirst().first.map(String.init) == first, "the lock left behind names \(first): '\(holder)'")

        // The same hosts, host 2 first: rank 0 there.
        let lines = try String(contentsOfFile: hostfile, encoding: .utf8).split(separator: "\n")
        let swapped = try MPITestSupport.write((lines.filter { $0.hasPrefix("#") } + lines.filter { !$0.hasPrefix("#") }.reversed()).joined(separator: "\n") + "\n",
                                               to: "swapped", in: directory)
        let elsewhere = try Self.launch(np: 4, hostfile: swapped, ["train", "--resume", out])
        let errors = elsewhere.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }
        #expect(elsewhere.status == 2 && errors.count == 1, "\(elsewhere.status): \(elsewhere.stderr)")
        #expect(errors.first.map { $0.contains("is in use by landscape train") && $0.contains("on \(first)") && $0.contains("remove \(lock) if that job is gone") } == true,
                "\(elsewhere.stderr)")

        let home = try Self.launch(np: 4, hostfile: hostfile, ["train", "--resume", out], timeout: 300)
        try #require(home.status == 0, "\(home.stderr)")
        #expect(home.stderr.contains("note: replaced a stale lock in \(out)") && home.stderr.contains("on \(first)"), "\(home.stderr)")
        #expect(FileManager.default.fileExists(atPath: out + "/params.npy"))
        #expect(!FileManager.default.fileExists(atPath: lock), "released at the end")
    }

    /// Hostfiles that cannot work are refused by launch/mpirun at once, in one line, exit 2: a
    /// test host that does not exist, a name that does not resolve, an address nothing answers
    /// at, more ranks than slots. Plain mpirun's own refusal of too many ranks is clear too.
    @Test func badHostfilesAreRefusedInOneLine() throws {
        let directory = try MPITestSupport.temporaryDirectory("multihost-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        func file(_ name: String, _ text: String) throws -> String { try MPITestSupport.write(text, to: name, in: directory) }
        let generated = try String(contentsOfFile: try TestHosts.shared.hostfile(hosts: 2), encoding: .utf8)
        let missing = TestHosts.shared.prefix + "9"
        let cases: [(np: Int, hostfile: String, message: String)] = [
            (4, try file("missing", generated + "\(missing) slots=2\n"), "test host '\(missing)' in"),
            (2, try file("unresolved", "nosuchhost.invalid slots=2\n"), "host 'nosuchhost.invalid' in"),
            (2, try file("unreachable", "\(TestHosts.shared.net).99 slots=2\n"), "is unreachable"),
            (5, try TestHosts.shared.hostfile(hosts: 2), "NP=5 ranks but"),
            (6, try TestHosts.shared.hostfile(hosts: 3), "test host '\(TestHosts.shared.names[2])' in")]
        // Host 3 is cut off the network (its namespace is there, its link is down).
        TestHosts.shared.setLink(of: TestHosts.shared.names[2], up: false)
        defer { TestHosts.shared.setLink(of: TestHosts.shared.names[2], up: true) }
        for c in cases {
            let start = Date()
            var environment = Self.environment(np: c.np, hostfile: c.hostfile)
            environment["HOST_PROBE_TIMEOUT"] = "2"
            let run = try MPITestSupport.execute([Self.wrapper, "info"], environment: environment, timeout: 30)
            let lines = run.stderr.split(separator: "\n")
            #expect(run.status == 2 && lines.count == 1 && run.stderr.contains(c.message) && run.stdout.isEmpty,
                    "\(c.hostfile): status \(run.status): \(run.stderr)")
            #expect(Date().timeIntervalSince(start) < 10, "\(c.hostfile): \(Date().timeIntervalSince(start)) s")
        }
        // Without the probe — as when a host is lost after it, while the job starts — the cut-off
        // host's daemon cannot call mpirun back and exits; Open MPI daemonizes it, so mpirun would
        // wait for ever. launch/mpirun watches the start: the ranks not all up within
        // STARTUP_TIMEOUT, it ends mpirun and says so in one line, leaving no process behind.
        var environment = Self.environment(np: 6, hostfile: try TestHosts.shared.hostfile(hosts: 3))
        environment["PROBE_HOSTS"] = "0"
        environment["STARTUP_TIMEOUT"] = "10"
        let start = Date()
        let unprobed = try MPITestSupport.execute([Self.wrapper, "info"], environment: environment, timeout: 60)
        let elapsed = Date().timeIntervalSince(start)
        let said = unprobed.stderr.split(separator: "\n").filter { $0.hasPrefix("launch/mpirun:") }
        #expect(unprobed.status == 1 && said.count == 1 && said[0].contains("did not start within STARTUP_TIMEOUT=10 s") && unprobed.stdout.isEmpty,
                "\(unprobed.status): \(unprobed.stderr)")
        #expect(elapsed >= 10 && elapsed < 25, "\(elapsed) s")
        #expect(MPITestSupport.wait(timeout: 10) { TestHosts.shared.names.prefix(2).allSatisfy { TestHosts.shared.processes(on: $0).isEmpty } },
                "processes left on the hosts that started")
        // The same too-many-ranks with plain mpirun (given the agent and the subnet, as the wrapper
        // gives them): Open MPI starts the daemons, then refuses, naming the cause.
        let subnet = "\(TestHosts.shared.net).0/24"
        let plain = try MPITestSupport.execute(["mpirun", "-np", "5", "--hostfile", try TestHosts.shared.hostfile(hosts: 2),
                                                "--mca", "plm_rsh_agent", Self.repository.appendingPathComponent("launch/test-hosts-agent").path,
                                                "--mca", "plm_rsh_no_tree_spawn", "1", "--mca", "oob_tcp_if_include", subnet,
                                                "--mca", "btl_tcp_if_include", subnet, MPITestSupport.landscape, "info"],
                                               environment: MPITestSupport.mpiEnvironment, timeout: 30)
        #expect(plain.status != 0 && plain.stderr.contains("There are not enough slots available"), "\(plain.stderr)")
    }

    /// `launch/test-hosts up` where the kernel refuses network namespaces (here: root without
    /// CAP_SYS_ADMIN and CAP_NET_ADMIN) fails in one line naming what is missing, leaving nothing.
    @Test func upFailsLoudlyWithoutNamespaces() throws {
        let directory = try MPITestSupport.temporaryDirectory("multihost-refused")
        defer { try? FileManager.default.removeItem(at: directory) }
        let prefix = "ltx\(getpid() % 10_000_000)"
        let run = try MPITestSupport.execute(["setpriv", "--bounding-set", "-sys_admin,-net_admin", TestHosts.shared.script, "up", "1"],
                                             environment: ["TEST_HOSTS_PREFIX": prefix, "TEST_HOSTS_NET": "10.77.255",
                                                           "TEST_HOSTS_FILE": directory.appendingPathComponent("hosts").path],
                                             timeout: 30)
        #expect(run.status == 1 && run.stderr.split(separator: "\n").count == 1
                && run.stderr.contains("refused a network namespace") && run.stderr.contains("CAP_SYS_ADMIN"), "\(run.status): \(run.stderr)")
        let links = try MPITestSupport.execute(["ip", "-o", "link", "show"], timeout: 10).stdout
        let namespaces = try MPITestSupport.execute(["ip", "netns", "list"], timeout: 10).stdout
        #expect(!links.contains(prefix) && !namespaces.contains(prefix), "left behind: \(links)\(namespaces)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("hosts").path))
    }
}
}

/// The suite's test hosts: `launch/test-hosts up 3` under a prefix and subnet of this process's
/// own, and `down` at the end. Hosts left by a test run that was killed are removed first.
final class TestHosts: @unchecked Sendable {
    static let shared = TestHosts()
    static let count = 3
    let prefix = "lt\(getpid() % 10_000_000)"
    /// launch/test-hosts' state directory (its default), where it lists each prefix's hosts.
    let state = "/run/landscape-test-hosts"
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("landscape-test-hosts-\(getpid())")
    private(set) var net = ""
    var names: [String] { (1...Self.count).map { "\(prefix)\($0)" } }
    var script: String { MPIJobs.MultiHost.repository.appendingPathComponent("launch/test-hosts").path }

    func environment(prefix: String? = nil) -> [String: String] {
        ["TEST_HOSTS_PREFIX": prefix ?? self.prefix, "TEST_HOSTS_NET": net, "TEST_HOSTS_FILE": directory.appendingPathComponent("hosts").path]
    }

    func up() throws {
        try Self.installIproute2()
        removeLeftovers()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // A /24 of 10.77.x.0 that nothing on this machine routes yet.
        let routes = try MPITestSupport.execute(["ip", "-4", "route", "show"], timeout: 10).stdout
        let first = Int(getpid() % 200) + 1
        guard let x = (0..<250).map({ (first + $0) % 250 + 1 }).first(where: { !routes.contains("10.77.\($0).0/24") }) else {
            throw TestHostsUnavailable(reason: "no free 10.77.x.0/24 subnet")
        }
        net = "10.77.\(x)"
        let run = try MPITestSupport.execute([script, "up", "\(Self.count)"], environment: environment(), timeout: 60)
        guard run.status == 0 else {
            down()
            throw TestHostsUnavailable(reason: "launch/test-hosts up \(Self.count) failed (status \(run.status)): \(run.stderr)\(run.stdout)")
        }
    }

    /// `ip` (Debian's iproute2, absent from minimal images), installed when missing: a test tool,
    /// as shellcheck is, not a dependency of the program.
    static func installIproute2() throws {
        guard !["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].contains(where: FileManager.default.isExecutableFile(atPath:)) else { return }
        let sudo = getuid() == 0 ? [] : ["sudo"]
        for arguments in [["apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-qq"],
                          ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "iproute2"]] {
            let run = try MPITestSupport.execute(sudo + arguments, timeout: 600)
            guard run.status == 0 else {
                throw TestHostsUnavailable(reason: "could not install iproute2 (\(arguments.joined(separator: " "))): \(run.stderr)")
            }
        }
    }

    func down() {
        _ = try? MPITestSupport.execute([script, "down"], environment: environment(), timeout: 60)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Hosts of earlier test runs whose process is gone (state directories lt<pid>), and their
    /// temporary directories.
    func removeLeftovers() {
        func gone(_ pid: Int32?) -> Bool { pid.map { kill($0, 0) != 0 && errno == ESRCH } ?? false }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: state)) ?? [] where name.hasPrefix("lt") && gone(Int32(name.dropFirst(2))) {
            _ = try? MPITestSupport.execute([script, "down"], environment: environment(prefix: name), timeout: 60)
        }
        let temporary = FileManager.default.temporaryDirectory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        where name.hasPrefix("landscape-test-hosts-") && gone(Int32(name.dropFirst("landscape-test-hosts-".count))) {
            try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
        }
    }

    /// A hostfile of the first `hosts` test hosts (the generated one's marker lines kept).
    func hostfile(hosts: Int) throws -> String {
        let generated = try String(contentsOfFile: directory.appendingPathComponent("hosts").path, encoding: .utf8)
        var kept = 0
        let lines = generated.split(separator: "\n").filter { line in
            if line.hasPrefix("#") { return true }
            kept += 1
            return kept <= hosts
        }
        let path = directory.appendingPathComponent("hosts-\(hosts)").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Bytes the hosts' veths have moved so far (both directions, all hosts).
    func bridgeBytes() -> Int {
        names.reduce(0) { sum, name in
            sum + ["rx_bytes", "tx_bytes"].reduce(0) { s, counter in
                s + (Int(((try? String(contentsOfFile: "/sys/class/net/\(name)v/statistics/\(counter)", encoding: .utf8)) ?? "0")
                    .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
            }
        }
    }

    /// The processes in a host's namespace (Open MPI's daemon and its ranks).
    func processes(on host: String) -> [Int32] {
        ((try? MPITestSupport.execute(["ip", "netns", "pids", host], timeout: 10).stdout) ?? "")
            .split(separator: "\n").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The host disappears: SIGKILL to every process in its namespace.
    func killEverything(on host: String) {
        for pid in processes(on: host) { kill(pid, SIGKILL) }
    }

    /// The host's link (its veth's end on the bridge) down or up again.
    func setLink(of host: String, up: Bool) {
        _ = try? MPITestSupport.execute(["ip", "link", "set", "\(host)v", up ? "up" : "down"], timeout: 10)
    }
}

struct TestHostsUnavailable: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Brings the test hosts up around the whole suite it is attached to, and down after it even when
/// a test failed (or `up` itself did: then every test fails with its reason, never a silent skip).
struct TestHostsTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }
    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try TestHosts.shared.up()
        defer { TestHosts.shared.down() }
        try await function()
    }
}

extension Trait where Self == TestHostsTrait {
    static var testHosts: Self { TestHostsTrait() }
}
