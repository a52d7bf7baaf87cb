import Foundation
import NPY

/// Writers of tiny files in the exact on-disk formats the loaders read.
enum DataFiles {
    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("landscape-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func bigEndian(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// IDX3 images: pixel (i, r, c) = (i·7 + r·3 + c) mod 256.
    static func idxImages(count: Int, rows: Int, columns: Int, magic: [UInt8] = [0, 0, 8, 3], truncate: Int = 0) -> Data {
        var bytes = magic + bigEndian(count) + bigEndian(rows) + bigEndian(columns)
        for i in 0..<count { for r in 0..<rows { for c in 0..<columns { bytes.append(UInt8((i * 7 + r * 3 + c) % 256)) } } }
        return Data(bytes.dropLast(truncate))
    }

    static func idxLabels(_ labels: [UInt8], magic: [UInt8] = [0, 0, 8, 1], claimedCount: Int? = nil) -> Data {
        Data(magic + bigEndian(claimedCount ?? labels.count) + labels)
    }

    /// CIFAR-10 records: label, then 3072 pixel bytes (i + q) mod 256.
    static func cifar(labels: [UInt8]) -> Data {
        var bytes: [UInt8] = []
        for (i, label) in labels.enumerated() {
            bytes.append(label)
            for q in 0..<3072 { bytes.append(UInt8((i + q) % 256)) }
        }
        return Data(bytes)
    }

    static func gzip(_ file: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-kf", file.path]
        try process.run()
        process.waitUntilExit()
    }

    /// An NPY file of any dtype/order from row-major values.
    static func npy(_ values: [Double], shape: [Int], descr: String = "<f8", fortranOrder: Bool = false) throws -> Data {
        let type = try NPYDataType(descr: descr)
        var data = Data(NPYHeader(dataType: type, fortranOrder: fortranOrder, shape: shape).encoded())
        let rows = shape[0], columns = shape.count == 2 ? shape[1] : 1
        for t in 0..<values.count {
            let (i, q) = fortranOrder ? (t % rows, t / rows) : (t / columns, t % columns)
            let v = values[i * columns + q]
            switch (type.kind, type.itemSize, type.byteOrder) {
            case ("f", 8, .big): withUnsafeBytes(of: v.bitPattern.bigEndian) { data.append(contentsOf: $0) }
            case ("f", 8, _): withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
            case ("f", 4, .big): withUnsafeBytes(of: Float(v).bitPattern.bigEndian) { data.append(contentsOf: $0) }
            case ("f", 4, _): withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { data.append(contentsOf: $0) }
            case ("i", 8, _): withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) }
            default: withUnsafeBytes(of: Int32(v).littleEndian) { data.append(contentsOf: $0) }
            }
        }
        return data
    }
}
