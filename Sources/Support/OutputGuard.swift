import Foundation

/// Directories a job owns while it writes them, each with a sentinel file (its lock) that must
/// stay the very file the job created — same device, same inode. When the sentinel is gone, the
/// directory was removed (or taken over) under the job: every later write into it is refused with
/// `OutputDirectoryVanished`, and no directory is created there again, so the job ends instead of
/// recreating a directory that holds neither its marker nor its lock.
///
/// `writeAtomically` and `RunDirectory.create` check it: one check before each write, in the one
/// place all writes go through, rather than in each command. Registered by the run-directory lock.
public enum OutputGuard {
    public struct Token: Sendable, Hashable { let id: Int }

    struct Watched {
        let directory: String
        let sentinel: String
        let device: UInt64
        let inode: UInt64
        let message: String
    }

    final class Registry: @unchecked Sendable {
        let lock = NSLock()
        var watched: [Int: Watched] = [:]
        var next = 0
    }
    static let registry = Registry()

    /// Watches `directory` while `sentinel` (already created, by this process) stays the same
    /// file; `message` is what a refused write says. Nil if the sentinel cannot be read.
    public static func watch(_ directory: String, sentinel: String, message: String) -> Token? {
        guard let (device, inode) = identity(of: sentinel) else { return nil }
        let entry = Watched(directory: absolute(directory), sentinel: sentinel, device: device, inode: inode, message: message)
        return registry.lock.withLock {
            registry.next += 1
            registry.watched[registry.next] = entry
            return Token(id: registry.next)
        }
    }

    public static func unwatch(_ token: Token) {
        _ = registry.lock.withLock { registry.watched.removeValue(forKey: token.id) }
    }

    /// Whether the watched sentinel is still the file this process created.
    public static func holds(_ token: Token) -> Bool {
        guard let entry = registry.lock.withLock({ registry.watched[token.id] }) else { return false }
        return identity(of: entry.sentinel).map { $0 == (entry.device, entry.inode) } ?? false
    }

    /// Refuses a write to (or a directory at) `path` inside a watched directory whose sentinel is
    /// gone. A stat per watched directory: nothing next to the write itself.
    public static func check(_ path: String) throws {
        let entries = registry.lock.withLock { Array(registry.watched.values) }
        guard !entries.isEmpty else { return }
        let target = absolute(path)
        for entry in entries where target == entry.directory || target.hasPrefix(entry.directory + "/") {
            guard let now = identity(of: entry.sentinel), now == (entry.device, entry.inode) else {
                throw OutputDirectoryVanished(message: entry.message)
            }
        }
    }

    /// A write to `path` failed with `error`: when the directory vanished meanwhile (between
    /// `check` and the write — a removal races the job), that is the cause to report, not the
    /// missing path it left behind.
    public static func cause(of failure: Error, writing path: String) -> Error {
        do { try check(path) } catch let vanished { return vanished }
        return failure
    }

    static func identity(of path: String) -> (UInt64, UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
}

/// A job's output directory (or its lock) was removed while the job ran: nothing more is written
/// there, and the job ends with this message (a failure, exit ≠ 0, not bad input).
public struct OutputDirectoryVanished: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
