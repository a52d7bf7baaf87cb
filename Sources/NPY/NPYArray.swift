import Foundation
import Support

/// A small array read whole into memory as float64 (vectors, labels, parameter vectors).
/// Distributed matrices are read through MPI-IO instead (`DistributedLinearAlgebra`).
public struct NPYArray: Sendable {
    public var shape: [Int]
    /// The elements in C (row-major) order, whatever order the file used.
    public var values: [Double]

    public init(shape: [Int], values: [Double]) {
        precondition(shape.reduce(1, *) == values.count)
        self.shape = shape
        self.values = values
    }

    /// Reads any float or integer NPY array of either byte order, converting to float64.
    public init(contentsOf path: String) throws {
        let header = try NPYHeader.read(contentsOf: path)
        let type = header.dataType
        guard type.isFloatingPoint || type.isInteger || (type.kind == "b" && type.itemSize == 1) else {
            throw NPYError("'\(path)' has dtype \(type); float32/float64 or integer data is required")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let count = header.elementCount!
        let bytes = data.subdata(in: header.dataOffset..<(header.dataOffset + count * type.itemSize))
        var values = [Double](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            for i in 0..<count { values[i] = Self.element(raw, i, type) }
        }
        if header.fortranOrder && header.shape.count > 1 { values = Self.transposeToC(values, shape: header.shape) }
        self.init(shape: header.shape, values: values)
    }

    private static func element(_ raw: UnsafeRawBufferPointer, _ i: Int, _ type: NPYDataType) -> Double {
        let offset = i * type.itemSize
        func load<T: FixedWidthInteger>(_: T.Type) -> T {
            let v = raw.loadUnaligned(fromByteOffset: offset, as: T.self)
            return type.byteOrder == .big ? T(bigEndian: v) : T(littleEndian: v)
        }
        switch (type.kind, type.itemSize) {
        case ("f", 8): return Double(bitPattern: load(UInt64.self))
        case ("f", 4): return Double(Float(bitPattern: load(UInt32.self)))
        case ("i", 8): return Double(load(Int64.self))
        case ("i", 4): return Double(load(Int32.self))
        case ("i", 2): return Double(load(Int16.self))
        case ("i", 1): return Double(load(Int8.self))
        case ("u", 8): return Double(load(UInt64.self))
        case ("u", 4): return Double(load(UInt32.self))
        case ("u", 2): return Double(load(UInt16.self))
        default: return Double(load(UInt8.self))
        }
    }

    /// Column-major → row-major for any rank: reverse-strided copy.
    private static func transposeToC(_ values: [Double], shape: [Int]) -> [Double] {
        var result = values
        let dims = shape.count
        var index = [Int](repeating: 0, count: dims)
        var fortranStrides = [Int](repeating: 1, count: dims)
        for d in 1..<dims { fortranStrides[d] = fortranStrides[d - 1] * shape[d - 1] }
        for c in 0..<values.count {
            var f = 0
            for d in 0..<dims { f += index[d] * fortranStrides[d] }
            result[c] = values[f]
            var d = dims - 1
            while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
        }
        return result
    }

    /// Writes the array as little-endian float64 in C order, atomically: to a temporary name in the
    /// same directory, then renamed, so a reader never sees a half-written file.
    public func write(to path: String) throws {
        var data = Data(NPYHeader(dataType: .float64, fortranOrder: false, shape: shape).encoded())
        values.withUnsafeBufferPointer { buffer in
            data.append(contentsOf: UnsafeRawBufferPointer(buffer))   // x86-64 and arm64 are little-endian
        }
        try writeAtomically(data, to: path)
    }
}
