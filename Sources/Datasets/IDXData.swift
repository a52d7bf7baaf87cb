import Cluster
import Foundation
import Samples
import SeededRandom

/// MNIST in LeCun's IDX format: `train-images-idx3-ubyte` (magic 0x00000803, then N, rows, cols
/// as big-endian UInt32, then N·rows·cols unsigned bytes, row-major) and `train-labels-idx1-ubyte`
/// (magic 0x00000801, N, then N label bytes 0…9); either may be gzipped (`.gz`, detected by its
/// magic bytes). Pixels are scaled to [0, 1]; optional global per-feature standardisation.
struct IDXData {
    var images: String
    var labels: String
    var samples: Int?
    var subset: DataSpecification.Subset
    var standardize: Bool

    static let classes = 10

    struct Header: Codable {
        var count: Int
        var rows: Int
        var columns: Int
    }

    /// Everything that can be wrong with the two files, checked on one rank.
    func validate() throws -> Header {
        let imageFile = try ByteSource(path: images)
        guard imageFile.count >= 16 else { throw InputError("'\(images)' is truncated: an IDX image file starts with a 16-byte header") }
        let magic = try imageFile.read(0, 4)
        guard magic[0] == 0, magic[1] == 0, magic[2] == 0x08, magic[3] == 3 else {
            throw InputError("'\(images)' is not an IDX image file (magic \(hex(magic)), expected 00 00 08 03: unsigned bytes, 3 dimensions)\(Self.byteOrderHint(magic))")
        }
        let count = try imageFile.bigEndianUInt32(at: 4), rows = try imageFile.bigEndianUInt32(at: 8)
        let columns = try imageFile.bigEndianUInt32(at: 12)
        guard count >= 1, rows >= 1, columns >= 1 else {
            throw InputError("'\(images)' has dimensions \(count) × \(rows) × \(columns); every dimension must be ≥ 1")
        }
        // Checked arithmetic: a corrupt header can claim 2³² − 1 in every dimension.
        let (pixels, o1) = rows.multipliedReportingOverflow(by: columns)
        let (bytes, o2) = count.multipliedReportingOverflow(by: pixels)
        guard !o1, !o2, bytes <= imageFile.count else {
            // Counts written little-endian by a converter: swapped, they describe the file exactly.
            let swapped = [count, rows, columns].map { Int(UInt32($0).byteSwapped) }
            let (area, a) = swapped[1].multipliedReportingOverflow(by: swapped[2]), (volume, b) = swapped[0].multipliedReportingOverflow(by: area)
            let fits = swapped.allSatisfy { $0 >= 1 } && !a && !b && 16 + volume == imageFile.count
            let hint = fits ? "; its counts read little-endian (\(swapped[0]) × \(swapped[1]) × \(swapped[2])) fit the file exactly: IDX stores them big-endian, so the converter that wrote it swapped them — rewrite the header big-endian (or use the original files)" : ": the header is corrupt or the file truncated"
            throw InputError("'\(images)' claims \(count) images of \(rows) × \(columns) pixels, more than its \(imageFile.count) bytes hold\(hint)")
        }
        let expected = 16 + bytes
        guard imageFile.count == expected else {
            throw InputError("'\(images)' is \(imageFile.count < expected ? "truncated" : "longer than its header says"): \(count) images of \(rows) × \(columns) need \(expected) bytes, the file has \(imageFile.count)")
        }
        let labelFile = try ByteSource(path: labels)
        guard labelFile.count >= 8 else { throw InputError("'\(labels)' is truncated: an IDX label file starts with an 8-byte header") }
        let labelMagic = try labelFile.read(0, 4)
        guard labelMagic[0] == 0, labelMagic[1] == 0, labelMagic[2] == 0x08, labelMagic[3] == 1 else {
            throw InputError("'\(labels)' is not an IDX label file (magic \(hex(labelMagic)), expected 00 00 08 01)\(Self.byteOrderHint(labelMagic))")
        }
        let labelCount = try labelFile.bigEndianUInt32(at: 4)
        guard labelCount == count else {
            let swapped = Int(UInt32(labelCount).byteSwapped) == count ? ": its count read little-endian is \(count) — IDX stores it big-endian; rewrite the header big-endian (or use the original file)" : ""
            throw InputError("'\(labels)' holds \(labelCount) labels but '\(images)' holds \(count) images\(swapped)")
        }
        guard labelFile.count == 8 + count else {
            throw InputError("'\(labels)' is \(labelFile.count < 8 + count ? "truncated" : "longer than its header says"): \(count) labels need \(8 + count) bytes, the file has \(labelFile.count)")
        }
        let all = try labelFile.read(8, count)
        if let bad = all.firstIndex(where: { Int($0) >= Self.classes }) {
            throw InputError("'\(labels)': label \(all[bad]) of sample \(bad) is out of range 0…\(Self.classes - 1)")
        }
        return Header(count: count, rows: rows, columns: columns)
    }

    /// A magic number with its bytes reversed (08 at byte 1, zeros last) is an IDX header written
    /// little-endian.
    static func byteOrderHint(_ magic: [UInt8]) -> String {
        guard magic.count == 4, magic[1] == 0x08, magic[2] == 0, magic[3] == 0 else { return "" }
        return "; its bytes reversed read \(hex(Array(magic.reversed()))): the header was written little-endian, but IDX is big-endian — rewrite it big-endian (or use the original files)"
    }

    func load(random: SplitMix64, heldOut: Int, on communicator: Communicator) throws -> DataSplit {
        let header = try communicator.agree { try validate() }
        let selected = try selectSamples(samples, heldOut: heldOut, of: header.count, subset: subset, random: random, source: "'\(images)'")
        let n = selected.count - heldOut, d = header.rows * header.columns
        // Every rank opens the files itself and reads only its own rows.
        let imageFile = try ByteSource(path: images), labelFile = try ByteSource(path: labels)
        return try assemble(training: n, heldOut: heldOut, dimension: d, targets: Self.classes, classes: Self.classes,
                            standardize: standardize,
                            description: "mnist: \(n) of \(header.count) images (\(subset.rawValue)) of \(header.rows) × \(header.columns)\(standardize ? ", standardised" : "")",
                            on: communicator) { range in
            var x = [Double](repeating: 0, count: range.count * d)
            var y = [Int](repeating: 0, count: range.count)
            for (row, i) in selected[range].enumerated() {
                let pixels = try imageFile.read(16 + i * d, d)
                for q in 0..<d { x[row * d + q] = Double(pixels[q]) / 255 }
                y[row] = Int(try labelFile.read(8 + i, 1)[0])
            }
            return (x, oneHot(y, classes: Self.classes))
        }
    }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined(separator: " ") }
