import Foundation
import Testing
@testable import NPY

/// Builds the bytes of an NPY header exactly as a writer would, with any version and dict text.
func headerBytes(_ dict: String, major: UInt8 = 1, pad: Bool = true) -> [UInt8] {
    var text = dict
    let prefix = major == 1 ? 10 : 12
    if pad { text += String(repeating: " ", count: (64 - (prefix + text.utf8.count + 1) % 64) % 64) + "\n" }
    let n = text.utf8.count
    let length: [UInt8] = major == 1 ? [UInt8(n & 0xff), UInt8(n >> 8)]
                                     : [UInt8(n & 0xff), UInt8((n >> 8) & 0xff), UInt8((n >> 16) & 0xff), 0]
    return [0x93] + Array("NUMPY".utf8) + [major, 0] + length + Array(text.utf8)
}

@Suite struct NPYHeaderParsing {
    @Test(arguments: [
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", "<f8", false, [3, 4]),
        ("{'descr': '>f4', 'fortran_order': True, 'shape': (5, 5), }", ">f4", true, [5, 5]),
        ("{'descr': '<i8', 'fortran_order': False, 'shape': (7,), }", "<i8", false, [7]),
        ("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", "|u1", false, []),
        ("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2, 3, 4)}", "<f8", false, [2, 3, 4]),
        ("{'shape': (10, 10), 'fortran_order': False, 'descr': '=f8'}", "<f8", false, [10, 10]),
    ])
    func validHeaders(dict: String, descr: String, fortran: Bool, shape: [Int]) throws {
        for major: UInt8 in [1, 2, 3] {
            let bytes = headerBytes(dict, major: major)
            let header = try NPYHeader.parse(bytes)
            #expect(header.dataType.descr == descr)
            #expect(header.fortranOrder == fortran)
            #expect(header.shape == shape)
            #expect(header.dataOffset == bytes.count)
        }
    }

    @Test func encodedHeaderRoundTripsAndAlignsTo64() throws {
        for shape in [[1], [3, 4], [12345, 678], []] {
            for fortran in [false, true] {
                let header = NPYHeader(dataType: .float64, fortranOrder: fortran, shape: shape)
                let bytes = header.encoded()
                #expect(bytes.count % 64 == 0)
                let parsed = try NPYHeader.parse(bytes)
                #expect(parsed.shape == shape && parsed.fortranOrder == fortran && parsed.dataType == .float64)
                #expect(parsed.dataOffset == bytes.count)
            }
        }
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    static let malformed: [([UInt8], String)] = [
        (Array("not an npy file at all".utf8), "not an NPY file"),
        (magic + [4, 0, 10, 0] + Array("{}        ".utf8), "unsupported NPY format version 4"),
        (magic + [1, 0, 200, 0] + Array("{'descr'".utf8), "truncated NPY header"),
        (headerBytes("{'descr': '<f8', 'shape': (3, 3), }"), "fortran_order"),
        (headerBytes("{'descr': '<f8', 'fortran_order': False, }"), "no 'shape'"),
        (headerBytes("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }"), "structured"),
        (headerBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (3, -1), }"), "malformed NPY shape"),
        (headerBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (3, x), }"), "malformed NPY shape"),
        (headerBytes("['descr', '<f8']"), "not a dict"),
        (headerBytes("{'descr': '#f8', 'fortran_order': False, 'shape': (3,), }"), "byte order"),
    ]

    @Test(arguments: malformed)
    func malformedHeaders(bytes: [UInt8], message: String) {
        #expect {
            _ = try NPYHeader.parse(bytes)
        } throws: { error in
            (error as? NPYError)?.message.contains(message) == true
        }
    }

    @Test func dataTypeNames() throws {
        #expect(try NPYDataType(descr: "<f8").description == "float64")
        #expect(try NPYDataType(descr: "<c16").description == "complex128")
        #expect(try NPYDataType(descr: "<i4").isInteger)
        #expect(try !NPYDataType(descr: "<c16").isFloatingPoint)
    }
}

@Suite struct NPYFiles {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("npy-tests-\(getpid())-\(UUID().uuidString)")

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func truncatedDataIsRefusedBeforeReading() throws {
        let header = NPYHeader(dataType: .float64, fortranOrder: false, shape: [100, 100]).encoded()
        let path = try write(header + [UInt8](repeating: 0, count: 1000), "short.npy")
        #expect {
            _ = try NPYHeader.read(contentsOf: path)
        } throws: { error in
            (error as? NPYError)?.message.contains("truncated") == true
        }
    }

    @Test func absurdShapeDoesNotOverflow() throws {
        let header = headerBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (9223372036854775807, 9223372036854775807), }")
        let path = try write(header, "absurd.npy")
        #expect(throws: NPYError.self) { _ = try NPYHeader.read(contentsOf: path) }
    }

    @Test func missingFile() {
        #expect {
            _ = try NPYHeader.read(contentsOf: "/nonexistent/x.npy")
        } throws: { error in
            (error as? NPYError)?.message.contains("no such file") == true
        }
    }

    @Test func readsFortranOrderBigEndianFloat32AsRowMajorFloat64() throws {
        // The 2 × 3 matrix [[1, 2, 3], [4, 5, 6]] stored column-major as big-endian float32.
        var bytes = headerBytes("{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }")
        for v: Float in [1, 4, 2, 5, 3, 6] { withUnsafeBytes(of: v.bitPattern.bigEndian) { bytes += $0 } }
        let array = try NPYArray(contentsOf: try write(bytes, "f.npy"))
        #expect(array.shape == [2, 3])
        #expect(array.values == [1, 2, 3, 4, 5, 6])
    }

    @Test func writeThenReadRoundTrip() throws {
        let values = (0..<12).map { Double($0) * 0.25 - 1 }
        let path = directory.appendingPathComponent("round.npy").path
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try NPYArray(shape: [3, 4], values: values).write(to: path)
        let back = try NPYArray(contentsOf: path)
        #expect(back.shape == [3, 4] && back.values == values)
        // No temporary is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".partial") }.isEmpty)
    }
}
