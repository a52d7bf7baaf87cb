import Cluster
import Foundation
import NPY
import Objectives
import Support

/// A count × M float64 NPY file of vectors whose rows are spread over the ranks (`RowPartition`):
/// a Krylov basis, an elastic band's pivots. Written by streaming — each vector is gathered to
/// rank 0 and appended, so rank 0 never holds more than one whole vector beyond its own rows —
/// and read back by each rank for its own rows only, one seek per vector. The file does not
/// depend on the rank count, so a run stopped on P ranks resumes on any other.
package struct ShardedVectorFile {
    package let path: String
    /// What the file is, for messages ("Lanczos checkpoint", "band checkpoint").
    package let what: String

    package init(_ path: String, what: String) {
        self.path = path
        self.what = what
    }

    /// Writes the first `count` vectors whose rows this rank holds (`local`: vector after vector,
    /// each `rows.count` long; a basis may hold more columns than are filled) under a temporary name and renames it (collective). A failed write on
    /// rank 0 still takes part in the remaining gathers; the verdict is agreed at the end.
    package func write(_ local: [Double], count: Int, rows: RowPartition, on world: Communicator) throws {
        let length = rows.count
        precondition(local.count >= count * length)
        var failure: Error? = nil
        // A name of its own beside the file, renamed over it at the end (`commit`): a stop between
        // the two leaves the previous file whole, never none.
        let temporary = temporaryName(for: path)
        var file: FileHandle? = nil
        if world.isRoot {
            do {
                // Never into a directory whose owning job lost it (`OutputGuard`).
                try OutputGuard.check(path)
                let header = Data(NPYHeader(dataType: .float64, fortranOrder: false, shape: [count, rows.length]).encoded())
                guard FileManager.default.createFile(atPath: temporary, contents: header),
                      let handle = FileHandle(forWritingAtPath: temporary) else {
                    throw FileWriteError(path: path, reason: String(cString: strerror(errno)))
                }
                try handle.seekToEnd()
                file = handle
            } catch { failure = error }
        }
        for j in 0..<count {
            let vector = Array(local[j * length ..< (j + 1) * length])
            let whole = rows.parts > 1 ? try world.gatherv(vector, counts: rows.counts) : vector
            guard let handle = file, failure == nil else { continue }
            do { try whole.withUnsafeBytes { try handle.write(contentsOf: Data($0)) } } catch {
                failure = OutputGuard.cause(of: FileWriteError(path: path, reason: (error as NSError).localizedDescription), writing: path)
            }
        }
        try world.agree {
            try file?.close()
            if let failure {
                try? FileManager.default.removeItem(atPath: temporary)
                throw failure
            }
            try commit(temporary, to: path)
        }
    }

    /// This rank's rows of every vector in the file, vector after vector (not collective: each rank
    /// reads its own; wrap in `Communicator.everyRank` for a shared verdict).
    package func readRows(_ rows: RowPartition) throws -> [Double] {
        let header = try NPYHeader.read(contentsOf: path)
        guard header.dataType == .float64, !header.fortranOrder, header.shape.count == 2, header.shape[1] == rows.length else {
            throw InputError("--resume: \(path) is not a \(what) of M = \(rows.length) (\(header.shape)); remove the checkpoint or run without --resume")
        }
        guard let file = FileHandle(forReadingAtPath: path) else { throw InputError("--resume: cannot open \(path)") }
        defer { try? file.close() }
        var values: [Double] = []
        values.reserveCapacity(header.shape[0] * rows.count)
        for j in 0..<header.shape[0] {
            try file.seek(toOffset: UInt64(header.dataOffset + 8 * (j * rows.length + rows.rows.lowerBound)))
            guard let data = try file.read(upToCount: 8 * rows.count), data.count == 8 * rows.count else {
                throw InputError("--resume: \(path) is truncated; remove the checkpoint or run without --resume")
            }
            data.withUnsafeBytes { values.append(contentsOf: $0.bindMemory(to: Double.self)) }
        }
        return values
    }

    /// How many vectors the file holds (its header only).
    package func count() throws -> Int {
        try NPYHeader.read(contentsOf: path).shape.first ?? 0
    }
}
