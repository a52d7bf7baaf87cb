import Cluster
import Foundation
import Samples
import SeededRandom

/// CIFAR-10 binary batches (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`): records of
/// 3 073 bytes — one label byte 0…9, then 1 024 red, 1 024 green, 1 024 blue pixel bytes, each plane
/// row-major 32 × 32. The input vector is those 3 072 bytes in file order, scaled to [0, 1].
/// `path` is one .bin file or a directory, whose data_batch_*.bin files are used in name order.
struct CIFAR10Data {
    var path: String
    var samples: Int?
    var subset: DataSpecification.Subset
    var standardize: Bool

    static let recordSize = 3073
    static let dimension = 3072
    static let classes = 10

    struct Inventory: Codable {
        var files: [String]
        var counts: [Int]
    }

    func files() throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError("no such file or directory '\(path)' (data.path of cifar10)")
        }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let batches = names.filter { $0.hasPrefix("data_batch_") && $0.hasSuffix(".bin") }.sorted()
        guard !batches.isEmpty else { throw InputError("'\(path)' holds no data_batch_*.bin files (CIFAR-10 binary version)") }
        return batches.map { (path as NSString).appendingPathComponent($0) }
    }

    func validate() throws -> Inventory {
        var counts: [Int] = []
        let list = try files()
        for file in list {
            let source = try ByteSource(path: file)
            guard source.count > 0, source.count % Self.recordSize == 0 else {
                throw InputError("'\(file)' is not a CIFAR-10 binary batch: its \(source.count) bytes are not a whole number of 3073-byte records (truncated?)")
            }
            let n = source.count / Self.recordSize
            try source.bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                for r in 0..<n where Int(raw[r * Self.recordSize]) >= Self.classes {
                    throw InputError("'\(file)': label \(raw[r * Self.recordSize]) of record \(r) is out of range 0…9")
                }
            }
            counts.append(n)
        }
        return Inventory(files: list, counts: counts)
    }

    func load(random: SplitMix64, heldOut: Int, on communicator: Communicator) throws -> DataSplit {
        let inventory = try communicator.agree { try validate() }
        let total = inventory.counts.reduce(0, +)
        let selected = try selectSamples(samples, heldOut: heldOut, of: total, subset: subset, random: random, source: "'\(path)'")
        let n = selected.count - heldOut, d = Self.dimension
        let sources = try inventory.files.map { try ByteSource(path: $0) }
        var starts = [0]
        for count in inventory.counts { starts.append(starts.last! + count) }
        return try assemble(training: n, heldOut: heldOut, dimension: d, targets: Self.classes, classes: Self.classes,
                            standardize: standardize,
                            description: "cifar10: \(n) of \(total) images (\(subset.rawValue)) from \(inventory.files.count) file(s)\(standardize ? ", standardised" : "")",
                            on: communicator) { range in
            var x = [Double](repeating: 0, count: range.count * d), y = [Int](repeating: 0, count: range.count)
            for (row, i) in selected[range].enumerated() {
                let file = starts.lastIndex { $0 <= i }!
                let record = try sources[file].read((i - starts[file]) * Self.recordSize, Self.recordSize)
                y[row] = Int(record[0])
                for q in 0..<d { x[row * d + q] = Double(record[1 + q]) / 255 }
            }
            return (x, oneHot(y, classes: Self.classes))
        }
    }
}
