import Foundation
import SwiftProtobuf

/// Reading and writing the values of an initialiser (`TensorProto`): float32 or float64, stored
/// either as little-endian `raw_data` (what PyTorch writes) or in the typed `float_data` /
/// `double_data` fields (what `onnx.helper.make_tensor` writes by default). External data (weights in
/// a side file) is refused.
extension Onnx_TensorProto {
    static let float32 = Int32(Onnx_TensorProto.DataType.float.rawValue)
    static let float64 = Int32(Onnx_TensorProto.DataType.double.rawValue)
    static let int64 = Int32(Onnx_TensorProto.DataType.int64.rawValue)

    /// Elements the dims promise.
    var elementCount: Int { dims.reduce(1) { $0 * Int($1) } }

    /// The values, widened to Double, checked against the block they fill.
    func values(for binding: InitializerBinding) throws(ONNXError) -> [Double] {
        let expected = binding.block.count
        guard dataLocation != .external else {
            throw ONNXError("initialiser '\(name)' (\(binding.block.name), node \(binding.node)) is stored in an external file; export with the weights inside the .onnx file (models under 2 GB)")
        }
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
