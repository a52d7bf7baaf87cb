import Foundation

/// A malformed or unsupported NPY file; the message names the file's problem.
public struct NPYError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The element type of an NPY array: NumPy's `descr` string, e.g. `<f8`, `>f4`, `|u1`.
public struct NPYDataType: Equatable, Sendable, CustomStringConvertible {
    public enum ByteOrder: Sendable { case little, big, notApplicable }
    /// NumPy's kind character: `f` float, `i` signed, `u` unsigned, `b` bool, `c` complex, …
    public let kind: Character
    public let itemSize: Int
    public let byteOrder: ByteOrder

    public static let float64 = NPYDataType(kind: "f", itemSize: 8, byteOrder: .little)
    public static let int64 = NPYDataType(kind: "i", itemSize: 8, byteOrder: .little)

    public init(kind: Character, itemSize: Int, byteOrder: ByteOrder) {
        self.kind = kind
        self.itemSize = itemSize
        self.byteOrder = byteOrder
    }

    /// Parses a `descr` such as `<f8`. `=` (native) means little-endian on every machine we run on.
    public init(descr: String) throws {
        let chars = Array(descr)
        guard chars.count >= 3, let size = Int(String(chars[2...])), size > 0 else {
            throw NPYError("unsupported dtype '\(descr)' (structured or malformed); save a plain numeric array")
        }
        switch chars[0] {
        case "<", "=": byteOrder = .little
        case ">": byteOrder = .big
        case "|": byteOrder = .notApplicable
        default: throw NPYError("unsupported dtype '\(descr)': unknown byte order '\(chars[0])'")
        }
        kind = chars[1]
        itemSize = size
        if byteOrder == .notApplicable && size > 1 {
            throw NPYError("unsupported dtype '\(descr)': multi-byte type without byte order")
        }
    }

    public var descr: String {
        let order = switch byteOrder { case .little: "<"; case .big: ">"; case .notApplicable: "|" }
        return "\(order)\(kind)\(itemSize)"
    }

    public var description: String {
        switch (kind, itemSize) {
        case ("f", 8): "float64"
        case ("f", 4): "float32"
        case ("f", 2): "float16"
        case ("i", _): "int\(itemSize * 8)"
        case ("u", _): "uint\(itemSize * 8)"
        case ("b", _): "bool"
        case ("c", _): "complex\(itemSize * 8)"
        case ("O", _): "object"
        default: descr
        }
    }

    public var isFloatingPoint: Bool { kind == "f" && (itemSize == 4 || itemSize == 8) }
    public var isInteger: Bool { (kind == "i" || kind == "u") && [1, 2, 4, 8].contains(itemSize) }
}

/// The header of a NumPy `.npy` file (format versions 1.0, 2.0 and 3.0).
///
/// Layout: the magic `\x93NUMPY`, major and minor version bytes, the header length (2 bytes
/// little-endian in 1.0, 4 bytes in 2.0/3.0), then a Python dict literal with `descr`,
/// `fortran_order` and `shape`, padded with spaces and a newline so the data starts aligned.
public struct NPYHeader: Equatable, Sendable {
    public var dataType: NPYDataType
    /// True when the data is stored column-major (Fortran order), false for row-major (C order).
    public var fortranOrder: Bool
    public var shape: [Int]
    /// Byte offset of the first data element.
    public var dataOffset: Int

    public init(dataType: NPYDataType, fortranOrder: Bool, shape: [Int], dataOffset: Int = 0) {
        self.dataType = dataType
        self.fortranOrder = fortranOrder
        self.shape = shape
        self.dataOffset = dataOffset
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Elements in the array, or nil when the shape's product does not fit in an Int.
    public var elementCount: Int? {
        shape.reduce(Optional(1)) { acc, n in
            guard let acc else { return nil }
            let (product, overflow) = acc.multipliedReportingOverflow(by: n)
            return overflow ? nil : product
        }
    }

    /// Bytes of array data the header promises, or nil on overflow.
    public var dataByteCount: Int? {
        guard let count = elementCount else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dataType.itemSize)
        return overflow ? nil : bytes
    }

    /// Parses the header from the first bytes of a file (at least the whole header).
    public static func parse(_ bytes: [UInt8]) throws -> NPYHeader {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw NPYError("not an NPY file (missing the \\x93NUMPY magic)")
        }
        let major = bytes[6], minor = bytes[7]
        let lengthBytes: Int
        switch major {
        case 1: lengthBytes = 2
        case 2, 3: lengthBytes = 4
        default: throw NPYError("unsupported NPY format version \(major).\(minor) (1.0, 2.0 and 3.0 are read)")
        }
        guard bytes.count >= 8 + lengthBytes else { throw NPYError("truncated NPY header") }
        var headerLength = 0
        for i in 0..<lengthBytes { headerLength |= Int(bytes[8 + i]) << (8 * i) }
        let start = 8 + lengthBytes
        guard bytes.count >= start + headerLength else {
            throw NPYError("truncated NPY header: it claims \(headerLength) bytes, the file has \(bytes.count - start)")
        }
        guard let text = String(bytes: bytes[start..<(start + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1)
        else { throw NPYError("NPY header is not text") }
        let dict = try parseDictionary(text)
        guard let descr = dict["descr"] else { throw NPYError("NPY header has no 'descr'") }
        guard descr.count >= 2, let quote = descr.first, quote == "'" || quote == "\"", descr.last == quote else {
            throw NPYError("unsupported dtype \(descr) (structured arrays are not read)")
        }
        let dataType = try NPYDataType(descr: String(descr.dropFirst().dropLast()))
        let fortran: Bool
        switch dict["fortran_order"] {
        case "True": fortran = true
        case "False": fortran = false
        default: throw NPYError("NPY header has no valid 'fortran_order'")
        }
        guard let shapeText = dict["shape"] else { throw NPYError("NPY header has no 'shape'") }
        let shape = try parseShape(shapeText)
        return NPYHeader(dataType: dataType, fortranOrder: fortran, shape: shape, dataOffset: start + headerLength)
    }

    /// Reads and validates the header of the file at `path`, including that the file holds all the
    /// data the header promises (a truncated file is refused here, before anyone allocates).
    /// Every NPY read goes through here (NPYArray too), so this is the one place that refuses what
    /// is not a readable regular file — a directory opens fine and only fails at the first read,
    /// where Foundation's non-throwing `readData` would trap.
    public static func read(contentsOf path: String) throws -> NPYHeader {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw NPYError("'\(path)' is a directory, not an .npy file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw NPYError("cannot read '\(path)' (permission denied?)") }
            throw NPYError("no such file '\(path)'")
        }
        defer { try? handle.close() }
        let prefix: [UInt8]
        do { prefix = [UInt8](try handle.read(upToCount: 64 * 1024) ?? Data()) } catch {
            throw NPYError("cannot read '\(path)': \((error as NSError).localizedDescription)")
        }
        let header = try parse(prefix)
        let fileSize = Int(try handle.seekToEnd())
        guard let promised = header.dataByteCount, header.dataOffset.addingReportingOverflow(promised).overflow == false
        else { throw NPYError("'\(path)': shape \(header.shape) is absurdly large") }
        if fileSize < header.dataOffset + promised {
            throw NPYError("'\(path)' is truncated: shape \(header.shape) of \(header.dataType) needs \(promised) bytes of data, the file has \(max(0, fileSize - header.dataOffset))")
        }
        return header
    }

    /// The bytes of a version 1.0 header for this array, padded so the data starts at a multiple
    /// of 64 bytes (as NumPy itself writes it).
    public func encoded() -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(dataType.descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(shapeText), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = dict.utf8.count
        return NPYHeader.magic + [1, 0, UInt8(length & 0xff), UInt8(length >> 8)] + Array(dict.utf8)
    }

    // MARK: The dict literal

    /// Splits `{'key': value, ...}` into raw value strings. Values are a quoted string, a bare word
    /// or a parenthesised tuple — all NumPy writes for the three keys we need.
    static func parseDictionary(_ text: String) throws -> [String: String] {
        let body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard body.hasPrefix("{"), body.hasSuffix("}") else { throw NPYError("NPY header is not a dict literal") }
        var result: [String: String] = [:]
        var rest = Substring(body.dropFirst().dropLast())
        func skipSpace() { rest = rest.drop { $0 == " " || $0 == "\n" || $0 == "," || $0 == "\t" } }
        skipSpace()
        while !rest.isEmpty {
            guard let quote = rest.first, quote == "'" || quote == "\"" else {
                throw NPYError("malformed NPY header near: \(rest.prefix(20))")
            }
            rest = rest.dropFirst()
            guard let endKey = rest.firstIndex(of: quote) else { throw NPYError("malformed NPY header key") }
            let key = String(rest[..<endKey])
            rest = rest[rest.index(after: endKey)...].drop { $0 == " " }
            guard rest.first == ":" else { throw NPYError("malformed NPY header: no ':' after '\(key)'") }
            rest = rest.dropFirst().drop { $0 == " " }
            let value: Substring
            switch rest.first {
            case "(":
                guard let close = rest.firstIndex(of: ")") else { throw NPYError("malformed NPY shape") }
                value = rest[...close]
            case "'", "\"":
                let q = rest.first!
                guard let close = rest.dropFirst().firstIndex(of: q) else { throw NPYError("malformed NPY header value") }
                value = rest[...close]
            case "[":
                throw NPYError("unsupported dtype (structured arrays are not read)")
            default:
                let end = rest.firstIndex { $0 == "," || $0 == " " } ?? rest.endIndex
                value = rest[..<end]
            }
            result[key] = String(value)
            rest = rest[value.endIndex...]
            skipSpace()
        }
        return result
    }

    static func parseShape(_ text: String) throws -> [Int] {
        let inner = text.dropFirst().dropLast()
        let parts = inner.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return try parts.map { part in
            guard let n = Int(part.hasSuffix("L") ? String(part.dropLast()) : part), n >= 0 else {
                throw NPYError("malformed NPY shape \(text)")
            }
            return n
        }
    }
}

extension NPYDataType: Codable {
    public init(from decoder: Decoder) throws {
        try self.init(descr: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(descr)
    }
}

extension NPYHeader: Codable {}
