import Cluster
import Foundation
import Support

/// Exclusive ownership of a run directory while a job writes it: `DIR/.landscape.lock`, created
/// with `O_EXCL` by the job's rank 0 and holding the command, host, PID and start time, then the
/// PID of the MPI launcher that started it (0 without one) and the process's own start time in
/// clock ticks (so a PID the system has since given to another process is not mistaken for it).
///
/// A second job into the same directory is refused (exit 2) naming the holder. A lock left by a
/// holder that is gone — on this host, where that can be checked: no such process, a zombie (a
/// killed rank its launcher has not reaped yet), another process under the same PID, or an MPI
/// rank whose launcher is gone — is replaced at once, with a note. The lock is released on every
/// clean exit, a signal stop included (so `--resume` finds none); a job ended by `MPI_Abort` leaves
/// it behind, and the next job on the same host replaces it.
///
/// While the job runs, the lock is also the proof that the directory is still its own: if the lock
/// disappears (the directory was removed), every later write there is refused (`OutputGuard`) and
/// the job ends with a message instead of recreating the directory.
///
/// A run directory also records which command's run it holds (`DIR/.landscape.kind`, written once
/// the first job into it is under way): a job of another kind is refused (exit 2) rather than mixing
/// its config.toml, summary.json and plots with that run's. Directories written before the marker
/// existed carry none and are checked by each job's own "results already here" rule only.
public struct RunDirectoryLock: Sendable {
    public static let fileName = ".landscape.lock"
    public static let kindFileName = ".landscape.kind"
    package let path: String
    package let holds: Bool
    /// Rank 0: the guard that refuses writes once the lock is gone.
    package let watch: OutputGuard.Token?

    /// Takes the lock (collective: rank 0 acts, every rank shares the verdict), creating the
    /// directory. `verify` runs on rank 0 once the lock is held — a check that must not race with
    /// another job (e.g. "this directory holds no finished run yet"); if it throws, the lock is
    /// given back and its error goes to every rank.
    public static func acquire(_ directory: RunDirectory, command: String, on world: Communicator, progress: JobProgress,
                               verify: () throws -> Void = {}) throws -> RunDirectoryLock {
        let path = directory.file(fileName)
        let note: String? = try world.agree { () throws -> String? in
            // A job refused here, or whose first write fails (a full disk), leaves no directory
            // it made: the ones created now are removed again if they are still empty.
            let created = missingDirectories(directory.path)
            do { return try take(path, directory, command: command, verify: verify) } catch {
                for made in created { rmdir(made) }
                throw error
            }
        }
        if let note { progress.note(note) }
        let watch = world.isRoot ? OutputGuard.watch(directory.path, sentinel: path, message: "\(directory.named) was removed while this job ran (its lock \(path) is gone); stopped without writing there again — run the command afresh (without --resume) into a new or empty --out") : nil
        return RunDirectoryLock(path: path, holds: world.isRoot, watch: watch)
    }

    /// `path` and those of its ancestors that do not exist yet, deepest first.
    package static func missingDirectories(_ path: String) -> [String] {
        var missing: [String] = []
        var url = URL(fileURLWithPath: path).standardizedFileURL
        while url.path != "/", !FileManager.default.fileExists(atPath: url.path) {
            missing.append(url.path)
            url = url.deletingLastPathComponent()
        }
        return missing
    }

    /// Rank 0's part of `acquire`: creates the directory and the lock file, runs the checks, marks
    /// the kind; the note says which stale lock it replaced.
    private static func take(_ path: String, _ directory: RunDirectory, command: String, verify: () throws -> Void) throws -> String? {
        try directory.create()
        var replaced: String? = nil
        for _ in 0..<2 {
            let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
            if descriptor >= 0 {
                let text = "\(command) \(hostName) \(getpid()) \(ISO8601DateFormatter().string(from: Date())) \(Holder.launcher) \(Holder.startTicks(getpid()) ?? 0)\n"
                let written = text.withCString { write(descriptor, $0, strlen($0)) }
                close(descriptor)
                guard written == text.utf8.count else {
                    unlink(path)
                    throw InputError("\(directory.named): cannot write its lock file (\(String(cString: strerror(errno))))")
                }
                do {
                    // Another command's run first: that says more than "results already here".
                    // The marker is written only once the job's own checks pass too, so a
                    // refused job never marks a directory it does not own.
                    try refuseOtherKind(command, in: directory)
                    try verify()
                    try markKind(command, in: directory)
                } catch {
                    unlink(path)
                    throw error
                }
                return replaced
            }
            guard errno == EEXIST else {
                throw InputError("\(directory.named): cannot create its lock file (\(String(cString: strerror(errno))))")
            }
            let holder = Holder(lockText: (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
            let (heldBy, host, pid, since) = (holder.command, holder.host, holder.pid, holder.since)
            if host == hostName, let gone = holder.gone {
                unlink(path)
                replaced = "replaced a stale lock in \(directory.path) (landscape \(heldBy), PID \(pid) on \(host), \(gone))"
                continue
            }
            throw InputError("\(directory.named) is in use by landscape \(heldBy) (PID \(pid) on \(host), since \(since)); wait for it, choose another --out, or remove \(path) if that job is gone")
        }
        throw InputError("\(directory.named): its lock file keeps reappearing; is another job starting there?")
    }

    /// Marks an unmarked directory as holding this command's run.
    package static func markKind(_ command: String, in directory: RunDirectory) throws {
        let marker = directory.file(kindFileName)
        if !FileManager.default.fileExists(atPath: marker) { try writeAtomically(Data((command + "\n").utf8), to: marker) }
    }

    /// Refuses a directory that holds another command's run (nothing is written; also used for
    /// checks made before the lock is taken).
    package static func refuseOtherKind(_ command: String, in directory: RunDirectory) throws {
        guard let text = try? String(contentsOfFile: directory.file(kindFileName), encoding: .utf8) else { return }
        let kind = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard kind == command else {
            throw InputError("\(directory.named) holds a `landscape \(kind)` run; `landscape \(command)` would mix its files with it — choose another --out")
        }
    }

    /// Gives the lock back (rank 0; a no-op elsewhere), and removes the directory if the job left
    /// nothing in it but its kind marker (a job refused after taking the lock leaves no trace).
    public func release() {
        guard holds else { return }
        if let watch {
            // Only our own lock: a directory removed under us may hold another job's by now.
            let ours = OutputGuard.holds(watch)
            OutputGuard.unwatch(watch)
            guard ours else { return }
        }
        unlink(path)
        let directory = (path as NSString).deletingLastPathComponent
        if (try? FileManager.default.contentsOfDirectory(atPath: directory)) == [Self.kindFileName] {
            unlink((directory as NSString).appendingPathComponent(Self.kindFileName))
        }
        rmdir(directory)
    }

    /// The process a lock names, and whether it is gone (checked on this host only).
    package struct Holder {
        package var command = "?", host = "?", since = "?"
        package var pid: Int32 = 0
        /// The MPI launcher's PID (0: none recorded), the holder's start time in clock ticks (0: none).
        package var launcher: Int32 = 0
        package var startTicks: UInt64 = 0

        /// `command host pid since [launcher ticks]`; locks of older versions have the first four.
        package init(lockText: String) {
            let fields = lockText.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
            guard fields.count >= 4 else { return }
            (command, host, pid, since) = (fields[0], fields[1], Int32(fields[2]) ?? 0, fields[3])
            if fields.count >= 6 { (launcher, startTicks) = (Int32(fields[4]) ?? 0, UInt64(fields[5]) ?? 0) }
        }

        /// Why the holder is no longer running, or nil while it may be.
        package var gone: String? {
            guard pid > 0 else { return nil }
            if !Self.alive(pid) { return "which is no longer running" }
            if startTicks > 0, let now = Self.startTicks(pid), now != startTicks { return "whose PID now belongs to another process" }
            if launcher > 0, !Self.alive(launcher) { return "whose MPI launcher (PID \(launcher)) is gone" }
            return nil
        }

        /// Running, and not a zombie (a killed process its parent has not reaped still has its PID).
        package static func alive(_ pid: Int32) -> Bool {
            if kill(pid, 0) != 0, errno == ESRCH { return false }
            guard let fields = statFields(pid) else { return true }   // no /proc: trust kill
            return fields.first != "Z" && fields.first != "X"
        }

        /// /proc/PID/stat after the command name: state, ppid, …, starttime (index 19).
        package static func statFields(_ pid: Int32) -> [Substring]? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            return stat[stat.index(after: close)...].split(separator: " ")
        }

        package static func startTicks(_ pid: Int32) -> UInt64? {
            guard let fields = statFields(pid), fields.count > 19 else { return nil }
            return UInt64(fields[19])
        }

        /// This process's launcher when an MPI launcher started it (its parent: mpirun or the
        /// launcher's daemon), else 0 — a process started from a shell outlives the shell.
        package static var launcher: Int32 {
            let environment = ProcessInfo.processInfo.environment
            return environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil ? getppid() : 0
        }
    }

    package static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer)
    }
}
