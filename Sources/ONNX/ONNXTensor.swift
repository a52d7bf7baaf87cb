import Foundation
import SwiftProtobuf

/// Reading and writing the values of an initialiser (`TensorProto`): float32 or float64, stored
/// as little-endian `raw_data` (what PyTorch's TorchScript exporter writes), in the typed
/// `float_data` / `double_data` fields (what `onnx.helper.make_tensor` writes by default), or in an
/// external file beside the model (what its dynamo exporter writes), read in once by
/// `loadExternalData`.
extension Onnx_TensorProto {
    static let float32 = Int32(Onnx_TensorProto.DataType.float.rawValue)
    static let float64 = Int32(Onnx_TensorProto.DataType.double.rawValue)
    static let int64 = Int32(Onnx_TensorProto.DataType.int64.rawValue)

    /// Elements the dims promise.
    var elementCount: Int { dims.reduce(1) { $0 * Int($1) } }

    /// The values, widened to Double, checked against the block they fill.
    func values(for binding: InitializerBinding) throws(ONNXError) -> [Double] {
        let expected = binding.block.count
        guard elementCount == expected else {
            throw ONNXError("initialiser '\(name)' (\(binding.block.name), node \(binding.node)) has \(elementCount) values (shape \(dims)), the layer needs \(expected)")
        }
        let values: [Double]
        switch dataType {
        case Self.float64:
            values = rawData.isEmpty ? doubleData : Self.littleEndian(rawData, as: UInt64.self).map { Double(bitPattern: $0) }
        case Self.float32:
            values = rawData.isEmpty ? floatData.map(Double.init) : Self.littleEndian(rawData, as: UInt32.self).map { Double(Float(bitPattern: $0)) }
        default:
            throw ONNXError("initialiser '\(name)' (\(binding.block.name), node \(binding.node)) has ONNX data type \(dataType); Landscape imports float32 (1) and float64 (11) parameters")
        }
        guard values.count == expected else {
            throw ONNXError("initialiser '\(name)' (\(binding.block.name), node \(binding.node)) holds \(values.count) values but its shape \(dims) says \(expected); the file is damaged")
        }
        return values
    }

    /// Reads the bytes an external-data tensor points at (`location`, `offset`, `length`, the location
    /// relative to the model file's directory) into `raw_data`, so that it is an ordinary tensor.
    mutating func loadExternalData(relativeTo directory: String?, source: String) throws(ONNXError) {
        let fields = Dictionary(externalData.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        guard let location = fields["location"], !location.isEmpty else {
            throw ONNXError("initialiser '\(name)' of '\(source)' is external but names no location; the file is damaged")
        }
        guard let directory else {
            throw ONNXError("initialiser '\(name)' of '\(source)' is stored in '\(location)', outside the bytes given; read the model from its file")
        }
        let path = location.hasPrefix("/") ? location : (directory.isEmpty ? location : directory + "/" + location)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ONNXError("initialiser '\(name)' of '\(source)' is stored in '\(path)', which cannot be read; keep the .onnx.data file beside the model")
        }
        defer { try? handle.close() }
        let offset = UInt64(fields["offset"] ?? "0") ?? 0
        let size = dataType == Self.float64 || dataType == Self.int64 ? 8 : 4
        let length = Int(fields["length"] ?? "") ?? elementCount * size
        let bytes: Data?
        do {
            try handle.seek(toOffset: offset)
            bytes = try handle.read(upToCount: length)
        } catch {
            throw ONNXError("initialiser '\(name)' of '\(source)': reading '\(path)' failed: \(error)")
        }
        guard let bytes, bytes.count == length else {
            throw ONNXError("initialiser '\(name)' of '\(source)': '\(path)' holds fewer than \(length) bytes at offset \(offset); the data file is truncated")
        }
        rawData = bytes
        externalData = []
        dataLocation = .default
    }

    /// An int64 tensor's values (a Reshape's target shape).
    func integers() throws(ONNXError) -> [Int] {
        guard dataType == Self.int64 else { throw ONNXError("tensor '\(name)' is not int64") }
        let values = rawData.isEmpty ? int64Data : Self.littleEndian(rawData, as: UInt64.self).map { Int64(bitPattern: $0) }
        guard values.count == elementCount else { throw ONNXError("tensor '\(name)' holds \(values.count) values but its shape \(dims) says \(elementCount)") }
        return values.map(Int.init)
    }

    /// `values` stored in this tensor's own data type, as `raw_data` (the typed fields cleared).
    /// Float32 tensors round each value to the nearest float.
    mutating func store(_ values: [Double]) {
        precondition(values.count == elementCount)
        var bytes = Data(capacity: values.count * (dataType == Self.float64 ? 8 : 4))
        if dataType == Self.float64 {
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        } else {
            for v in values { withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        }
        doubleData = []
        floatData = []
        rawData = bytes
    }

    /// The little-endian words of `data`; a trailing partial word is dropped (the count check catches it).
    static func littleEndian<Word: FixedWidthInteger>(_ data: Data, as: Word.Type) -> [Word] {
        let size = MemoryLayout<Word>.size
        return data.withUnsafeBytes { raw in
            (0..<(raw.count / size)).map { Word(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: Word.self)) }
        }
    }
}

extension ONNXModel {
    /// The file's bytes with θ written into the initialisers it came from, each in its own data
    /// type (float32 initialisers round θ to float). Everything else in the file — nodes, names,
    /// opsets, metadata — is kept, so the result loads wherever the original did.
    public func exported(parameters θ: [Double]) throws(ONNXError) -> Data {
        guard θ.count == network.parameterCount else {
            throw ONNXError("the parameter vector has \(θ.count) values, but the ONNX model has M = \(network.parameterCount)")
        }
        var file = self.file
        let index = Dictionary(file.graph.initializer.indices.map { (file.graph.initializer[$0].name, $0) }, uniquingKeysWith: { first, _ in first })
        for binding in bindings {
            file.graph.initializer[index[binding.initializer]!].store(binding.fileOrder(θ))
        }
        do { return try file.serializedBytes() } catch {
            throw ONNXError("cannot serialise the ONNX model: \(error)")
        }
    }

    /// Whether export rounds θ (float32 initialisers).
    public var roundsToFloat32: Bool {
        let types = Dictionary(file.graph.initializer.map { ($0.name, $0.dataType) }, uniquingKeysWith: { first, _ in first })
        return bindings.contains { types[$0.initializer] == Onnx_TensorProto.float32 }
    }
}
