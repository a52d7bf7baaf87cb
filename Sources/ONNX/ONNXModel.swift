import Foundation
import Networks
import SwiftProtobuf

/// A network read from an ONNX file (`torch.onnx.export`, opset ≥ 13): the graph translated into a
/// `ConvolutionalNetwork` chain, its initialisers as θ, and where each parameter block lives in the
/// file so that `exported(parameters:)` can write θ back (docs/onnx.md).
///
/// **What is imported.** A chain: one graph input, one output, and nodes that each take the previous
/// node's output (plus initialisers) — Gemm, MatMul (+ Add for its bias), Conv, MaxPool,
/// AveragePool, Flatten/Reshape to [N, −1], Relu, Tanh, Sigmoid, Softplus, Identity, and Constant
/// nodes feeding a Reshape's shape. Anything else is refused naming the operator and the node: the
/// importer never guesses a meaning. The graph's output is f(θ, x); the loss comes from the run's
/// configuration (`model.loss`), so a graph must end in logits, not Softmax.
///
/// **θ's layout** is the network's own (docs/formats.md: each affine layer's weight then bias, in
/// chain order): a Gemm with transB = 1 and a Conv store their weights exactly so; a MatMul's B and a
/// Gemm's B with transB = 0 are [in, out] in the file and are transposed on the way in and out.
public struct ONNXModel: Sendable {
    /// The network the graph describes, with `model.loss` attached.
    public let network: ConvolutionalNetwork
    /// θ from the file's initialisers (float32 files are widened exactly).
    public let parameters: [Double]
    /// Where each parameter block of θ lives in the file.
    public let bindings: [InitializerBinding]
    /// The file's default-domain opset.
    public let opset: Int
    let file: Onnx_ModelProto

    /// Reads and translates `path`, refusing (one line) what is not a supported ONNX chain.
    public init(contentsOf path: String, loss: Loss) throws(ONNXError) {
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ONNXError("cannot read '\(path)': \((error as NSError).localizedDescription)")
        }
        try self.init(serialized: bytes, source: path, loss: loss, directory: (path as NSString).deletingLastPathComponent)
    }

    /// Translates the bytes of an ONNX file; `source` names it in messages. Initialisers stored in
    /// external files (PyTorch's dynamo exporter writes `model.onnx.data` beside the model) are read
    /// from `directory`, the model file's, and held in the model from then on.
    public init(serialized bytes: Data, source: String, loss: Loss, directory: String? = nil) throws(ONNXError) {
        var file: Onnx_ModelProto
        do { file = try Onnx_ModelProto(serializedBytes: bytes) } catch {
            throw ONNXError("'\(source)' is not an ONNX model (its bytes do not parse as onnx.ModelProto: \(error)); give the .onnx file torch.onnx.export wrote")
        }
        for i in file.graph.initializer.indices where file.graph.initializer[i].dataLocation == .external {
            try file.graph.initializer[i].loadExternalData(relativeTo: directory, source: source)
        }
        guard file.hasGraph, !file.graph.node.isEmpty else {
            throw ONNXError("'\(source)' is not an ONNX model (it has no graph with nodes); give the .onnx file torch.onnx.export wrote")
        }
        let opset = file.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }.map { Int($0.version) } ?? 0
        guard opset >= 13 else {
            throw ONNXError("'\(source)' uses ONNX opset \(opset); Landscape imports opset ≥ 13 (torch.onnx.export(..., opset_version=13) or later)")
        }
        let chain = try GraphChain(file.graph, source: source)
        let network: ConvolutionalNetwork
        do {
            network = try ConvolutionalNetwork(input: chain.input, layers: chain.layers, biases: chain.biases, loss: loss)
        } catch {
            throw ONNXError("'\(source)': the graph's layers do not chain on its input \(chain.input): \(error.detail)")
        }
        guard network.outputDimension == chain.outputCount || chain.outputCount == nil else {
            throw ONNXError("'\(source)': the graph output '\(file.graph.output[0].name)' declares \(chain.outputCount!) values per sample, but its nodes make \(network.outputDimension)")
        }
        // Every affine layer's weight (and bias) initialiser → its block of θ, in chain order.
        let weights = network.parameterBlocks.filter { $0.role == .weight }
        let biases = network.parameterBlocks.filter { $0.role == .bias }
        var bindings: [InitializerBinding] = [], θ = [Double](repeating: 0, count: network.parameterCount)
        for (index, affine) in chain.affines.enumerated() {
            var pairs = [(affine.weight, weights[index], affine.transposed)]
            if let bias = affine.bias { pairs.append((bias, biases[index], false)) }
            for (tensor, block, transposed) in pairs {
                let binding = InitializerBinding(initializer: tensor.name, block: block, transposed: transposed, node: affine.node)
                let values = try tensor.values(for: binding)
                binding.copy(values, into: &θ)
                bindings.append(binding)
            }
        }
        self.network = network
        self.parameters = θ
        self.bindings = bindings
        self.opset = opset
        self.file = file
    }
}

/// Why an ONNX file cannot be imported or exported: one line naming the node, operator or
/// initialiser at fault and, where there is one, the fix.
public struct ONNXError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// One parameter block of θ and the initialiser that holds it in the file.
public struct InitializerBinding: Sendable, Equatable {
    /// The initialiser's name in `graph.initializer`.
    public let initializer: String
    /// Where it lives in θ (name, shape, offset).
    public let block: ParameterBlock
    /// Whether the file stores the weight as [in, out] (MatMul's B, Gemm's B with transB = 0), the
    /// transpose of the block's [out, in].
    public let transposed: Bool
    /// The node that uses it, for messages.
    public let node: String

    /// Writes `values` (the initialiser's elements in file order) into θ's block.
    func copy(_ values: [Double], into θ: inout [Double]) {
        guard transposed else {
            for (i, v) in values.enumerated() { θ[block.offset + i] = v }
            return
        }
        let (outputs, inputs) = (block.shape[0], block.shape[1])
        for i in 0..<inputs { for o in 0..<outputs { θ[block.offset + o * inputs + i] = values[i * outputs + o] } }
    }

    /// θ's block in file order (the inverse of `copy`).
    func fileOrder(_ θ: [Double]) -> [Double] {
        guard transposed else { return Array(θ[block.range]) }
        let (outputs, inputs) = (block.shape[0], block.shape[1])
        var values = [Double](repeating: 0, count: block.count)
        for i in 0..<inputs { for o in 0..<outputs { values[i * outputs + o] = θ[block.offset + o * inputs + i] } }
        return values
    }
}

/// The graph walked from its input to its output as a chain of `ConvolutionalLayer`s.
struct GraphChain {
    /// One affine layer's initialisers.
    struct Affine {
        let node: String
        let weight: Onnx_TensorProto
        let transposed: Bool
        var bias: Onnx_TensorProto?
    }

    var input: FeatureShape
    var layers: [ConvolutionalLayer] = []
    var affines: [Affine] = []
    /// Values per sample the graph output declares, when it declares them all.
    var outputCount: Int?
    var biases: Bool { affines.first?.bias != nil }

    init(_ graph: Onnx_GraphProto, source: String) throws(ONNXError) {
        let initializers = Dictionary(graph.initializer.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // Older exporters list the initialisers among the inputs too: the data input is the other one.
        let inputs = graph.input.filter { initializers[$0.name] == nil }
        guard inputs.count == 1 else {
            throw ONNXError("'\(source)' has \(inputs.count) graph inputs (\(inputs.map { "'\($0.name)'" }.joined(separator: ", "))); Landscape imports graphs with exactly one input, the samples")
        }
        guard graph.output.count == 1 else {
            throw ONNXError("'\(source)' has \(graph.output.count) graph outputs (\(graph.output.map { "'\($0.name)'" }.joined(separator: ", "))); Landscape imports graphs with exactly one output, the model's f(θ, x)")
        }
        let dims = try Self.staticDimensions(of: inputs[0], source: source)
        switch dims.count {
        case 2: input = FeatureShape(channels: dims[1], height: 1, width: 1)
        case 4: input = FeatureShape(channels: dims[1], height: dims[2], width: dims[3])
        default:
            throw ONNXError("'\(source)': the graph input '\(inputs[0].name)' has \(dims.count) dimensions; Landscape imports inputs of shape [N, d] or [N, C, H, W]")
        }
        let outputDims = graph.output[0].type.tensorType.shape.dim
        if outputDims.count == 2, case .dimValue(let k)? = outputDims[1].value, k > 0 { outputCount = Int(k) }

        var current = inputs[0].name
        var shape = input, flat = dims.count == 2
        var layers: [ConvolutionalLayer] = [], affines: [Affine] = []
        /// Appends a layer that takes `shape`, or refuses the node that makes it.
        func advance(_ layer: ConvolutionalLayer, _ node: Onnx_NodeProto) throws(ONNXError) {
            switch layer.output(from: shape) {
            case .success(let next): shape = next; layers.append(layer)
            case .failure(let error): throw ONNXError("node \(Self.describe(node)): \(error.detail)")
            }
        }
        var constants: [String: Onnx_TensorProto] = [:]
        var used: Set<String> = []
        /// An initialiser (or Constant node's value) named by `node`'s input `index`, used once.
        func parameter(_ node: Onnx_NodeProto, _ index: Int, _ what: String) throws(ONNXError) -> Onnx_TensorProto {
            let name = node.input[index]
            guard let tensor = initializers[name] else {
                throw ONNXError("node \(Self.describe(node)): its \(what) '\(name)' is not an initialiser; Landscape imports parameters stored as initialisers (export with do_constant_folding=True)")
            }
            guard used.insert(name).inserted else {
                throw ONNXError("node \(Self.describe(node)): initialiser '\(name)' is shared with another node; Landscape imports networks whose layers have their own parameters")
            }
            return tensor
        }

        for node in graph.node {
            guard node.domain.isEmpty || node.domain == "ai.onnx" else {
                throw ONNXError("node \(Self.describe(node)): operator domain '\(node.domain)' is not supported; Landscape imports operators of the default ONNX domain")
            }
            if node.opType == "Constant" {
                guard node.output.count == 1, let value = node.attribute.first(where: { $0.name == "value" }) else {
                    throw ONNXError("node \(Self.describe(node)): only Constant nodes with a tensor 'value' are supported")
                }
                constants[node.output[0]] = value.t
                continue
            }
            guard node.input.first == current else {
                throw ONNXError("node \(Self.describe(node)) does not take the previous node's output '\(current)'; Landscape imports chains (one path from the input to the output, no branches or skip connections)")
            }
            guard node.output.count == 1 else {
                throw ONNXError("node \(Self.describe(node)) has \(node.output.count) outputs; Landscape imports nodes with one output (export MaxPool without indices, models in eval mode)")
            }
            let attributes = Attributes(node)
            switch node.opType {
            case "Gemm", "MatMul":
                guard flat else {
                    throw ONNXError("node \(Self.describe(node)) takes a \(shape) feature map; put a Flatten before it")
                }
                var transposed = true
                if node.opType == "Gemm" {
                    guard try attributes.integer("transA", default: 0) == 0 else { throw ONNXError("node \(Self.describe(node)): transA = 1 is not supported (the samples are the rows)") }
                    transposed = try attributes.integer("transB", default: 0) == 0
                    for name in ["alpha", "beta"] where try attributes.real(name, default: 1) != 1 {
                        throw ONNXError("node \(Self.describe(node)): \(name) ≠ 1 is not supported; export the layer as x·Wᵀ + b")
                    }
                    guard (2...3).contains(node.input.count) else { throw ONNXError("node \(Self.describe(node)) has \(node.input.count) inputs; Gemm takes A, B and an optional C") }
                } else {
                    guard node.input.count == 2 else { throw ONNXError("node \(Self.describe(node)) has \(node.input.count) inputs; MatMul takes two") }
                }
                let weight = try parameter(node, 1, "weight")
                let d = weight.dims.map(Int.init)
                let (inputs, outputs) = d.count == 2 ? (transposed ? (d[0], d[1]) : (d[1], d[0])) : (-1, -1)
                guard d.count == 2, inputs == shape.count, outputs >= 1 else {
                    throw ONNXError("node \(Self.describe(node)): weight '\(weight.name)' has shape \(d), but the layer takes \(shape.count) inputs; expected [\(transposed ? "\(shape.count), units" : "units, \(shape.count)")]")
                }
                var affine = Affine(node: Self.describe(node), weight: weight, transposed: transposed)
                if node.input.count == 3, !node.input[2].isEmpty {
                    affine.bias = try Self.bias(try parameter(node, 2, "bias C"), units: outputs, node: node)
                }
                affines.append(affine)
                try advance(.dense(units: outputs), node)
            case "Add":
                guard let last = affines.last, last.bias == nil, let previous = layers.last, previous.isAffine, node.input.count == 2 else {
                    throw ONNXError("node \(Self.describe(node)): Add is supported only as the bias of the MatMul or Conv just before it (no bias yet)")
                }
                let isConvolution: Bool = if case .convolution = previous { true } else { false }
                affines[affines.count - 1].bias = try Self.bias(try parameter(node, 1, "addend"), units: shape.channels, node: node, convolution: isConvolution)
            case "Conv":
                guard !flat else { throw ONNXError("node \(Self.describe(node)) takes flattened [N, \(shape.count)] values; Conv needs [N, C, H, W]") }
                guard (2...3).contains(node.input.count) else { throw ONNXError("node \(Self.describe(node)) has \(node.input.count) inputs; Conv takes X, W and an optional B") }
                let weight = try parameter(node, 1, "weight W")
                let d = weight.dims.map(Int.init)
                guard d.count == 4, d[1] == shape.channels, d[0] >= 1 else {
                    throw ONNXError("node \(Self.describe(node)): weight '\(weight.name)' has shape \(d), but the layer takes \(shape.channels) channels; expected [out channels, \(shape.channels), kh, kw]")
                }
                guard try attributes.integer("group", default: 1) == 1 else { throw ONNXError("node \(Self.describe(node)): grouped convolutions (group ≠ 1) are not supported") }
                try attributes.requireOnes("dilations", node: node)
                if let kernel = try attributes.integers("kernel_shape"), kernel != [d[2], d[3]] {
                    throw ONNXError("node \(Self.describe(node)): kernel_shape \(kernel) disagrees with its weight's \(d[2])x\(d[3])")
                }
                let stride = try attributes.square("strides", default: 1, node: node)
                let padding = try attributes.padding(node: node)
                var affine = Affine(node: Self.describe(node), weight: weight, transposed: false)
                if node.input.count == 3, !node.input[2].isEmpty {
                    affine.bias = try Self.bias(try parameter(node, 2, "bias B"), units: d[0], node: node, convolution: true)
                }
                affines.append(affine)
                try advance(.convolution(channels: d[0], height: d[2], width: d[3], stride: stride, padding: padding), node)
            case "MaxPool", "AveragePool":
                guard !flat else { throw ONNXError("node \(Self.describe(node)) takes flattened [N, \(shape.count)] values; pooling needs [N, C, H, W]") }
                guard let kernel = try attributes.integers("kernel_shape"), kernel.count == 2, kernel[0] == kernel[1] else {
                    throw ONNXError("node \(Self.describe(node)): only square 2-D windows (kernel_shape [k, k]) are supported")
                }
                try attributes.requireOnes("dilations", node: node)
                guard try attributes.integer("ceil_mode", default: 0) == 0 else { throw ONNXError("node \(Self.describe(node)): ceil_mode = 1 is not supported") }
                guard try attributes.integer("storage_order", default: 0) == 0 else { throw ONNXError("node \(Self.describe(node)): storage_order = 1 is not supported") }
                guard try attributes.padding(node: node) == 0 else { throw ONNXError("node \(Self.describe(node)): padded pooling is not supported") }
                // ONNX's default stride is 1 (PyTorch writes its default, the window, explicitly).
                let stride = try attributes.square("strides", default: 1, node: node)
                try advance(node.opType == "MaxPool" ? .maxPool(size: kernel[0], stride: stride) : .averagePool(size: kernel[0], stride: stride), node)
            case "Flatten":
                guard try attributes.integer("axis", default: 1) == 1 else { throw ONNXError("node \(Self.describe(node)): only Flatten with axis = 1 (keep the samples) is supported") }
                flat = true   // NCHW flattening is what a dense layer does to its input anyway
            case "Reshape":
                guard node.input.count == 2, let target = constants[node.input[1]] ?? initializers[node.input[1]],
                      let sizes = try? target.integers(), sizes.count == 2, sizes[1] == -1 || sizes[1] == shape.count else {
                    throw ONNXError("node \(Self.describe(node)): only a Reshape to [N, -1] (a flatten, with a constant shape) is supported")
                }
                flat = true
            case "Relu": try advance(.activation(.relu), node)
            case "Tanh": try advance(.activation(.tanh), node)
            case "Sigmoid": try advance(.activation(.sigmoid), node)
            case "Softplus": try advance(.activation(.softplus), node)
            case "Identity": break
            case "Softmax", "LogSoftmax":
                throw ONNXError("node \(Self.describe(node)): operator \(node.opType) is not supported; Landscape applies model.loss to the graph's output, so export the logits (no \(node.opType) at the end)")
            default:
                throw ONNXError("node \(Self.describe(node)): operator \(node.opType) is not supported; Landscape imports Gemm, MatMul, Add (a bias), Conv, MaxPool, AveragePool, Flatten, Reshape, Relu, Tanh, Sigmoid, Softplus and Identity")
            }
            current = node.output[0]
        }
        guard current == graph.output[0].name else {
            throw ONNXError("'\(source)': the chain of nodes ends at '\(current)', not at the graph output '\(graph.output[0].name)'")
        }
        self.layers = layers
        self.affines = affines
        guard !affines.isEmpty else { throw ONNXError("'\(source)' has no Gemm, MatMul or Conv node: the graph has no parameters") }
        if let mixed = affines.first(where: { ($0.bias != nil) != biases }) {
            throw ONNXError("node \(mixed.node) \(biases ? "has no bias but" : "has a bias but") node \(affines[0].node) \(biases ? "has one" : "has none"); Landscape's networks have a bias on every Gemm/MatMul/Conv or on none (export with bias=True everywhere or bias=False everywhere)")
        }
    }

    /// [N, d…] of a value, the batch dimension free (a number or a name), every other a number.
    static func staticDimensions(of value: Onnx_ValueInfoProto, source: String) throws(ONNXError) -> [Int] {
        let dims = value.type.tensorType.shape.dim
        var result = [0]
        for dim in dims.dropFirst() {
            guard case .dimValue(let n)? = dim.value, n > 0 else {
                throw ONNXError("'\(source)': the graph input '\(value.name)' has a dimension other than the first that is not a number; export with a fixed sample shape (only the batch axis dynamic)")
            }
            result.append(Int(n))
        }
        return dims.isEmpty ? [] : result
    }

    /// A bias initialiser of `units` values: [units], or [1, units] after a dense layer, or
    /// [units, 1, 1] / [1, units, 1, 1] after a convolution (how an Add broadcasts it per channel).
    static func bias(_ tensor: Onnx_TensorProto, units: Int, node: Onnx_NodeProto, convolution: Bool = false) throws(ONNXError) -> Onnx_TensorProto {
        let d = tensor.dims.map(Int.init)
        let accepted: [[Int]] = convolution ? [[units], [units, 1, 1], [1, units, 1, 1]] : [[units], [1, units]]
        // A Conv's own B input is always [O]; an Add after a Conv must broadcast per channel.
        let allowed = node.opType == "Add" ? accepted.filter { !convolution || $0.count > 1 } : [[units]]
        guard allowed.contains(d) else {
            throw ONNXError("node \(describe(node)): bias '\(tensor.name)' has shape \(d); expected \(allowed.map { "\($0)" }.joined(separator: " or ")) for its \(units) \(convolution ? "channels" : "units")")
        }
        return tensor
    }

    /// "'name' (Op)" or, for an unnamed node, "Op → 'output'".
    static func describe(_ node: Onnx_NodeProto) -> String {
        node.name.isEmpty ? "\(node.opType) → '\(node.output.first ?? "")'" : "'\(node.name)' (\(node.opType))"
    }
}

/// A node's attributes by name, read with the types ONNX gives them.
struct Attributes {
    let node: Onnx_NodeProto
    let byName: [String: Onnx_AttributeProto]

    init(_ node: Onnx_NodeProto) {
        self.node = node
        byName = Dictionary(node.attribute.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func integer(_ name: String, default value: Int) throws(ONNXError) -> Int {
        guard let a = byName[name] else { return value }
        guard a.type == .int else { throw ONNXError("node \(GraphChain.describe(node)): attribute \(name) is not an integer") }
        return Int(a.i)
    }

    func real(_ name: String, default value: Double) throws(ONNXError) -> Double {
        guard let a = byName[name] else { return value }
        guard a.type == .float else { throw ONNXError("node \(GraphChain.describe(node)): attribute \(name) is not a float") }
        return Double(a.f)
    }

    func integers(_ name: String) throws(ONNXError) -> [Int]? {
        guard let a = byName[name] else { return nil }
        guard a.type == .ints else { throw ONNXError("node \(GraphChain.describe(node)): attribute \(name) is not a list of integers") }
        return a.ints.map(Int.init)
    }

    /// The one value of a 2-D attribute such as strides [s, s].
    func square(_ name: String, default value: Int, node: Onnx_NodeProto) throws(ONNXError) -> Int {
        guard let values = try integers(name) else { return value }
        guard values.count == 2, values[0] == values[1] else {
            throw ONNXError("node \(GraphChain.describe(node)): \(name) \(values) is not supported; Landscape takes the same \(name) along height and width")
        }
        return values[0]
    }

    func requireOnes(_ name: String, node: Onnx_NodeProto) throws(ONNXError) {
        if let values = try integers(name), values.contains(where: { $0 != 1 }) {
            throw ONNXError("node \(GraphChain.describe(node)): \(name) \(values) is not supported (only 1)")
        }
    }

    /// The padding p of pads [p, p, p, p] (auto_pad NOTSET or VALID).
    func padding(node: Onnx_NodeProto) throws(ONNXError) -> Int {
        if let a = byName["auto_pad"], let mode = String(data: a.s, encoding: .utf8), !["", "NOTSET", "VALID"].contains(mode) {
            throw ONNXError("node \(GraphChain.describe(node)): auto_pad = \(mode) is not supported; export with explicit pads")
        }
        guard let pads = try integers("pads") else { return 0 }
        guard pads.count == 4, Set(pads).count == 1 else {
            throw ONNXError("node \(GraphChain.describe(node)): pads \(pads) is not supported; Landscape takes the same padding on every side")
        }
        return pads[0]
    }
}
