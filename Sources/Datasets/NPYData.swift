import Cluster
import Foundation
import Samples
import NPY
import SeededRandom

/// User data as NPY files: `x` is N × d (float32/float64/integer, either byte order, C or Fortran
/// order) or N × C × H × W in C order (images for convolutional models: d = C·H·W, NCHW rows) and `y` is either N class labels (integers, or floats with integral values, 0…k−1 with
/// k = max label + 1) or N × k float targets. Each rank reads only the rows of its shard.
struct NPYData {
    var x: String
    var y: String
    var samples: Int?
    var subset: DataSpecification.Subset
    var standardize: Bool

    struct Description: Codable {
        var x: NPYHeader
        var y: NPYHeader
        /// k = max label + 1 for labels; nil for N × k targets.
        var classes: Int?
        /// d: the values of one row of x (C·H·W for images).
        var features: Int { x.shape.dropFirst().reduce(1, *) }
    }

    func header(_ path: String, role: String) throws -> NPYHeader {
        do { return try NPYHeader.read(contentsOf: path) } catch let error as NPYError {
            throw InputError("data.\(role): \(error.message)")
        }
    }

    func validate() throws -> Description {
        let hx = try header(x, role: "x"), hy = try header(y, role: "y")
        guard hx.dataType.isFloatingPoint || hx.dataType.isInteger else {
            throw InputError("data.x '\(x)' has dtype \(hx.dataType); float32/float64 or integer data is required")
        }
        guard hx.shape.count == 2 || hx.shape.count == 4, hx.shape.allSatisfy({ $0 >= 1 }) else {
            throw InputError("data.x '\(x)' has shape \(hx.shape); it must be N × d or N × C × H × W (images) with every size ≥ 1")
        }
        guard hx.shape.count == 2 || !hx.fortranOrder else {
            throw InputError("data.x '\(x)' is a 4-D array in Fortran order; save it in C order (numpy.ascontiguousarray) so that each image is one NCHW row")
        }
        guard hy.dataType.isFloatingPoint || hy.dataType.isInteger else {
            throw InputError("data.y '\(y)' has dtype \(hy.dataType); integer labels or float targets are required")
        }
        guard hy.shape.count == 1 || (hy.shape.count == 2 && hy.shape[1] >= 1) else {
            throw InputError("data.y '\(y)' has shape \(hy.shape); it must be N labels or N × k targets")
        }
        guard hy.shape[0] == hx.shape[0] else {
            throw InputError("data.x holds \(hx.shape[0]) samples but data.y holds \(hy.shape[0]); they must have the same length")
        }
        var classes: Int? = nil
        if hy.shape.count == 1 {
            let labels = try NPYArray(contentsOf: y).values
            var top = 0
            for (i, value) in labels.enumerated() {
                guard value >= 0, value == value.rounded(), value < 1e9 else {
                    throw InputError("data.y '\(y)': label \(value) of sample \(i) is not a class number 0, 1, 2, …")
                }
                top = max(top, Int(value))
            }
            guard top >= 1 else { throw InputError("data.y '\(y)': all labels are 0; classification needs at least 2 classes") }
            classes = top + 1
        }
        return Description(x: hx, y: hy, classes: classes)
    }

    func load(random: SplitMix64, heldOut: Int, on communicator: Communicator) throws -> DataSplit {
        let description = try communicator.agree { try validate() }
        let available = description.x.shape[0], d = description.features
        let k = description.classes ?? description.y.shape[1]
        try checkShardSize(samples: samples ?? available, ranks: communicator.size, width: d + k, what: "npy")
        let selected = try selectSamples(samples, heldOut: heldOut, of: available, subset: subset, random: random, source: "'\(x)'")
        let n = selected.count - heldOut
        return try assemble(training: n, heldOut: heldOut, dimension: d, targets: k, classes: description.classes,
                            standardize: standardize,
                            description: "npy: \(n) of \(available) samples of '\(x)' (d = \(d)), \(description.classes.map { "\($0) classes" } ?? "\(k) targets")\(standardize ? ", standardised" : "")",
                            on: communicator) { range in
            let rows = Array(selected[range])
            let inputs = try Self.readRows(x, description.x, rows: rows)
            let raw = try Self.readRows(y, description.y, rows: rows)
            return (inputs, description.classes.map { oneHot(raw.map { Int($0) }, classes: $0) } ?? raw)
        }
    }

    /// The given rows of a 1-D, 2-D or (C-order) 4-D array, as float64 in row-major order. C-order rows are one
    /// contiguous read each (runs of consecutive rows are merged); Fortran order reads each
    /// row's elements column by column.
    static func readRows(_ path: String, _ header: NPYHeader, rows: [Int]) throws -> [Double] {
        let source = try ByteSource(path: path)
        let n = header.shape[0], width = header.shape.dropFirst().reduce(1, *)
        let size = header.dataType.itemSize
        var result = [Double](repeating: 0, count: rows.count * width)
        if !header.fortranOrder || width == 1 {
            var r = 0
            while r < rows.count {
                var run = 1
                while r + run < rows.count && rows[r + run] == rows[r] + run { run += 1 }
                let bytes = try source.read(header.dataOffset + rows[r] * width * size, run * width * size)
                decode(bytes, header.dataType, into: &result, at: r * width)
                r += run
            }
        } else {
            for (r, i) in rows.enumerated() {
                for q in 0..<width {
                    let bytes = try source.read(header.dataOffset + (q * n + i) * size, size)
                    decode(bytes, header.dataType, into: &result, at: r * width + q)
                }
            }
        }
        return result
    }

    static func decode(_ bytes: [UInt8], _ type: NPYDataType, into result: inout [Double], at start: Int) {
        let count = bytes.count / type.itemSize
        bytes.withUnsafeBytes { raw in
            func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                let v = raw.loadUnaligned(fromByteOffset: i * type.itemSize, as: T.self)
                return type.byteOrder == .big ? T(bigEndian: v) : T(littleEndian: v)
            }
            for i in 0..<count {
                let value: Double
                switch (type.kind, type.itemSize) {
                case ("f", 8): value = Double(bitPattern: load(UInt64.self, i))
                case ("f", 4): value = Double(Float(bitPattern: load(UInt32.self, i)))
                case ("i", 8): value = Double(load(Int64.self, i))
                case ("i", 4): value = Double(load(Int32.self, i))
                case ("i", 2): value = Double(load(Int16.self, i))
                case ("i", 1): value = Double(load(Int8.self, i))
                case ("u", 8): value = Double(load(UInt64.self, i))
                case ("u", 4): value = Double(load(UInt32.self, i))
                case ("u", 2): value = Double(load(UInt16.self, i))
                default: value = Double(load(UInt8.self, i))
                }
                result[start + i] = value
            }
        }
    }
}
