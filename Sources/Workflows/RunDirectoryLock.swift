import Cluster
import Foundation
import Support

/// Exclusive ownership of a run directory while a job writes it: `DIR/.landscape.lock`, created
/// with `O_EXCL` by the job's rank 0 and holding the command, host, PID and start time.
///
/// A second job into the same directory is refused (exit 2) naming the holder. A lock left by a
/// process that is gone — on this host, where that can be checked — is replaced, with a note. The
/// lock is released on every clean exit, a signal stop included (so `--resume` finds none); a job
/// ended by `MPI_Abort` leaves it behind, and the next job on the same host replaces it.
///
/// A run directory also records which command's run it holds (`DIR/.landscape.kind`, written once
/// the first job into it is under way): a job of another kind is refused (exit 2) rather than mixing
/// its config.toml, summary.json and plots with that run's. Directories written before the marker
/// existed carry none and are checked by each job's own "results already here" rule only.
public struct RunDirectoryLock: Sendable {
    public static let fileName = ".landscape.lock"
    public static let kindFileName = ".landscape.kind"
    let path: String
    let holds: Bool

    /// Takes the lock (collective: rank 0 acts, every rank shares the verdict), creating the
    /// directory. `verify` runs on rank 0 once the lock is held — a check that must not race with
    /// another job (e.g. "this directory holds no finished run yet"); if it throws, the lock is
    /// given back and its error goes to every rank.
    public static func acquire(_ directory: RunDirectory, command: String, on world: Communicator, progress: Progress,
                               verify: () throws -> Void = {}) throws -> RunDirectoryLock {
        let path = directory.file(fileName)
        let note: String? = try world.agree { () throws -> String? in
            try directory.create()
            var replaced: String? = nil
            for _ in 0..<2 {
                let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
                if descriptor >= 0 {
                    let text = "\(command) \(hostName) \(getpid()) \(ISO8601DateFormatter().string(from: Date()))\n"
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
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: " ").map(String.init) ?? []
                let (heldBy, host, pid, since) = holder.count >= 4 ? (holder[0], holder[1], Int32(holder[2]) ?? 0, holder[3].trimmingCharacters(in: .whitespacesAndNewlines))
                                                                   : ("?", "?", Int32(0), "?")
                if host == hostName, pid > 0, kill(pid, 0) != 0, errno == ESRCH {
                    unlink(path)
                    replaced = "replaced a stale lock in \(directory.path) (landscape \(heldBy), PID \(pid) on \(host), which is no longer running)"
                    continue
                }
                throw InputError("\(directory.named) is in use by landscape \(heldBy) (PID \(pid) on \(host), since \(since)); wait for it, choose another --out, or remove \(path) if that job is gone")
            }
            throw InputError("\(directory.named): its lock file keeps reappearing; is another job starting there?")
        }
        if let note { progress.note(note) }
        return RunDirectoryLock(path: path, holds: world.isRoot)
    }

    /// Marks an unmarked directory as holding this command's run.
    static func markKind(_ command: String, in directory: RunDirectory) throws {
        let marker = directory.file(kindFileName)
        if !FileManager.default.fileExists(atPath: marker) { try writeAtomically(Data((command + "\n").utf8), to: marker) }
    }

    /// Refuses a directory that holds another command's run (nothing is written; also used for
    /// checks made before the lock is taken).
    static func refuseOtherKind(_ command: String, in directory: RunDirectory) throws {
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
        unlink(path)
        let directory = (path as NSString).deletingLastPathComponent
        if (try? FileManager.default.contentsOfDirectory(atPath: directory)) == [Self.kindFileName] {
            unlink((directory as NSString).appendingPathComponent(Self.kindFileName))
        }
        rmdir(directory)
    }

    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer)
    }
}
