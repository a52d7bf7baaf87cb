import Cluster
import Foundation

/// Random access to the bytes of a data file: memory-mapped when plain (so a rank touches only
/// the pages of its own rows), decompressed into memory when gzipped (gzip has no random access;
/// `/bin/gzip -dc` does the work, so no zlib binding is needed).
struct ByteSource {
    let path: String
    let bytes: Data
    let compressed: Bool

    /// Opens `path`; a missing or unreadable file, or a corrupt gzip stream, is bad input.
    init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError("no such file '\(path)'; check the path (relative paths are from the directory the job started in)")
        }
        guard !isDirectory.boolValue else { throw InputError("'\(path)' is a directory, not a data file") }
        let mapped: Data
        do { mapped = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw InputError("cannot read '\(path)': \(error.localizedDescription)")
        }
        if mapped.count >= 2 && mapped[mapped.startIndex] == 0x1f && mapped[mapped.startIndex + 1] == 0x8b {
            bytes = try Self.gunzip(path)
            compressed = true
        } else {
            bytes = mapped
            compressed = false
        }
    }

    var count: Int { bytes.count }

    /// `count` bytes from `offset`; a file too short for them is reported as truncated.
    func read(_ offset: Int, _ count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset + count <= bytes.count else {
            throw InputError("'\(path)' is truncated: needs bytes \(offset)..<\(offset + count), has \(bytes.count)")
        }
        let start = bytes.startIndex + offset
        return [UInt8](bytes[start..<(start + count)])
    }

    /// Big-endian UInt32 at `offset` (IDX headers).
    func bigEndianUInt32(at offset: Int) throws -> Int {
        let b = try read(offset, 4)
        return Int(b[0]) << 24 | Int(b[1]) << 16 | Int(b[2]) << 8 | Int(b[3])
    }

    static func gunzip(_ path: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw InputError("cannot decompress '\(path)': /bin/gzip did not start (\(error.localizedDescription))") }
        // Read to the end before waiting: a full pipe would stall gzip.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let reason = message.split(separator: "\n").first.map(String.init) ?? "exit \(process.terminationStatus)"
            throw InputError("'\(path)' is not a valid gzip file: \(reason)")
        }
        return data
    }
}
