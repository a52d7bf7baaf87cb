import Foundation

/// A file could not be written: the path, what failed, and the system's reason.
public struct FileWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "cannot write '\(path)': \(reason)" }
}

/// Writes `data` to `path` through a temporary file in the same directory and a rename, so a
/// reader never sees a half-written file under the final name.
public func writeAtomically(_ data: Data, to path: String) throws {
    // A name of its own (not just path + ".partial"): several processes may write the same file
    // at once — the tasks of a Slurm job array each aggregating a sweep — and must not rename
    // each other's temporary away. The last rename wins with a complete file either way.
    // Never into a directory whose owning job lost it (its lock is gone): the job must end, not
    // recreate or refill it.
    try OutputGuard.check(path)
    let temporary = temporaryName(for: path)
    do {
        try data.write(to: URL(fileURLWithPath: temporary))
    } catch {
        try? FileManager.default.removeItem(atPath: temporary)
        throw OutputGuard.cause(of: FileWriteError(path: path, reason: "\((error as NSError).localizedDescription) (\(formatBytes(data.count)) to write)"), writing: path)
    }
    try commit(temporary, to: path)
}

/// A fresh temporary name beside `path` (same directory, so the final rename is atomic).
public func temporaryName(for path: String) -> String {
    path + "." + String(UInt64.random(in: 0...UInt64.max), radix: 36) + ".partial"
}

/// Renames a finished temporary file to its final name; on failure removes it and throws.
public func commit(_ temporary: String, to path: String) throws {
    if rename(temporary, path) != 0 {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(atPath: temporary)
        throw OutputGuard.cause(of: FileWriteError(path: path, reason: reason), writing: path)
    }
}
