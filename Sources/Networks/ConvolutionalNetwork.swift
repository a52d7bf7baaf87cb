import Samples

/// One sample's feature map in NCHW order without the N: C channels of H × W, stored row-major
/// (c, h, w) — the layout of an MNIST image (1 × 28 × 28), a CIFAR-10 record (3 × 32 × 32) or a
/// row of an N × C × H × W NumPy array. A dense layer's output is C × 1 × 1.
public struct FeatureShape: Sendable, Codable, Equatable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Values per sample: C·H·W.
    public var count: Int { channels * height * width }
    public var description: String { "\(channels)×\(height)×\(width)" }
}

/// One layer of a convolutional network (the layers act on one sample's feature map; every
/// method of the network runs them over a block of samples at once).
///
/// * `convolution`: z[o, h, w] = b[o] + Σ_{c,r,t} W[o, c, r, t] · x[c, h·s − p + r, w·s − p + t]
///   (cross-correlation, as in PyTorch and JAX; out-of-range x is the zero padding), out channels O,
///   kernel kh × kw, stride s, padding p on every side; output ⌊(H + 2p − kh)/s⌋ + 1 high (and wide).
///   Parameters W [O, C, kh, kw] then b [O].
/// * `maxPool` / `averagePool`: the maximum / mean over each size × size window, windows `stride`
///   apart, no padding; per channel, no parameters.
/// * `dense`: z = W x + b on the flattened input (C·H·W, NCHW order: flattening is implicit),
///   W [units, C·H·W] then b [units]; output units × 1 × 1.
/// * `activation`: σ element-wise (`Activation`).
public enum ConvolutionalLayer: Sendable, Codable, Equatable, CustomStringConvertible {
    case convolution(channels: Int, height: Int, width: Int, stride: Int, padding: Int)
    case maxPool(size: Int, stride: Int)
    case averagePool(size: Int, stride: Int)
    case dense(units: Int)
    case activation(Activation)

    public var description: String {
        switch self {
        case let .convolution(c, h, w, s, p):
            return "conv \(c) \(h)x\(w)" + (s != 1 ? " stride \(s)" : "") + (p != 0 ? " pad \(p)" : "")
        case let .maxPool(size, stride): return "maxpool \(size)" + (stride != size ? " stride \(stride)" : "")
        case let .averagePool(size, stride): return "avgpool \(size)" + (stride != size ? " stride \(stride)" : "")
        case let .dense(units): return "dense \(units)"
        case let .activation(σ): return σ.rawValue
        }
    }

    /// Whether the layer has parameters (a convolution or a dense layer).
    public var isAffine: Bool {
        switch self { case .convolution, .dense: return true; default: return false }
    }

    /// The shape this layer makes of `input`, or why it cannot take it.
    public func output(from input: FeatureShape) -> Result<FeatureShape, ShapeError> {
        switch self {
        case let .convolution(c, h, w, s, p):
            guard c >= 1 else { return .failure(ShapeError("needs ≥ 1 output channels (got \(c))")) }
            guard h >= 1, w >= 1 else { return .failure(ShapeError("needs a kernel of ≥ 1 × 1 (got \(h)x\(w))")) }
            guard s >= 1 else { return .failure(ShapeError("needs a stride ≥ 1 (got \(s))")) }
            guard p >= 0 else { return .failure(ShapeError("needs a padding ≥ 0 (got \(p))")) }
            guard h <= input.height + 2 * p, w <= input.width + 2 * p else {
                return .failure(ShapeError("kernel \(h)x\(w) is larger than its \(p > 0 ? "padded " : "")input \(input.height + 2 * p)x\(input.width + 2 * p) (input \(input))"))
            }
            return .success(FeatureShape(channels: c, height: (input.height + 2 * p - h) / s + 1, width: (input.width + 2 * p - w) / s + 1))
        case let .maxPool(size, stride), let .averagePool(size, stride):
            guard size >= 1 else { return .failure(ShapeError("needs a window ≥ 1 (got \(size))")) }
            guard stride >= 1 else { return .failure(ShapeError("needs a stride ≥ 1 (got \(stride))")) }
            guard size <= input.height, size <= input.width else {
                return .failure(ShapeError("window \(size)x\(size) is larger than its input \(input.height)x\(input.width) (input \(input))"))
            }
            return .success(FeatureShape(channels: input.channels, height: (input.height - size) / stride + 1, width: (input.width - size) / stride + 1))
        case let .dense(units):
            guard units >= 1 else { return .failure(ShapeError("needs ≥ 1 units (got \(units))")) }
            return .success(FeatureShape(channels: units, height: 1, width: 1))
        case .activation: return .success(input)
        }
    }

    /// Why a layer cannot take its input.
    public struct ShapeError: Error, Sendable, Equatable {
        public let detail: String
        init(_ detail: String) { self.detail = detail }
    }

    /// The shapes along a chain of layers: [input, after layer 1, …], or the first layer (0-based)
    /// that cannot take its input and why.
    public static func shapes(input: FeatureShape, layers: [ConvolutionalLayer]) -> Result<[FeatureShape], ChainError> {
        var shapes = [input]
        for (index, layer) in layers.enumerated() {
            switch layer.output(from: shapes[index]) {
            case .success(let next): shapes.append(next)
            case .failure(let error): return .failure(ChainError(layer: index, reason: error.detail))
            }
        }
        return .success(shapes)
    }

    /// A layer of a chain (0-based) that cannot take its input.
    public struct ChainError: Error, Sendable, Equatable {
        public let layer: Int
        /// What is wrong, without the layer's name ("kernel 5x5 is larger than its input 4x4 …").
        public let reason: String
        /// The layer's position (1-based) and what is wrong.
        public var detail: String { "layer \(layer + 1): \(reason)" }
    }
}

/// A convolutional network: a chain of `ConvolutionalLayer`s on NCHW samples ending in a loss on
/// its last output (no activation after the last layer is implied: the chain says what there is).
///
/// θ holds the affine layers' blocks in chain order, each weight then bias: a convolution's
/// W [O, C, kh, kw] (row-major: W[o, c, r, t] at o·C·kh·kw + (c·kh + r)·kw + t) and b [O], a dense
/// layer's W [units, C·H·W] and b [units] — the dense block is exactly an MLP layer's, so a chain of
/// dense layers and activations has the MLP's θ and numbers. Blocks are named by kind and their
/// number among the affine layers: `conv1.weight`, `conv1.bias`, `conv2.weight`, …, `dense3.weight`.
///
/// Every method returns sums over the samples (like `MultilayerPerceptron`); the passes are in
/// `ConvolutionPass`. Curvature is exact almost everywhere: max pooling selects its argmax, which is
/// piecewise constant in θ, so like ReLU's kinks it contributes no second-derivative term; at a tie
/// (measure zero) the first maximum in the window is taken.
///
/// Continuous symmetries: ReLU's per-channel rescaling (a convolution's filter and bias × c, the
/// next layer's matching input channel ÷ c) exists but is not declared: `symmetryGroup` is `.none`,
/// so searches do not project it out.
public struct ConvolutionalNetwork: Model {
    public let input: FeatureShape
    public let layers: [ConvolutionalLayer]
    public let biases: Bool
    public let loss: Loss
    /// shapes[0] = input, shapes[l + 1] = the output of layers[l].
    public let shapes: [FeatureShape]
    public let parameterBlocks: [ParameterBlock]
    public let parameterCount: Int
    let stages: [ConvolutionStage]
    /// The index of the first affine layer: tangents of the inputs of layers up to it are zero.
    let firstAffine: Int
    /// Doubles a tile's per-direction work buffers may hold (bounds the tile size), as the MLP's.
    public var tileBudget = 1 << 19
    /// θ₀ of an imported network (an ONNX file's initialisers), else nil.
    public var storedParameters: [Double]?

    /// The network, or why the chain does not fit `input`. At least one layer must be affine.
    public init(input: FeatureShape, layers: [ConvolutionalLayer], biases: Bool = true, loss: Loss) throws(ConvolutionalLayer.ChainError) {
        let shapes = try ConvolutionalLayer.shapes(input: input, layers: layers).get()
        guard let first = layers.firstIndex(where: \.isAffine) else {
            throw ConvolutionalLayer.ChainError(layer: 0, reason: "the layers need a convolution or a dense layer (they have no parameters)")
        }
        self.input = input
        self.layers = layers
        self.biases = biases
        self.loss = loss
        self.shapes = shapes
        firstAffine = first
        var blocks: [ParameterBlock] = [], stages: [ConvolutionStage] = [], offset = 0, number = 0
        for (l, layer) in layers.enumerated() {
            let (x, z) = (shapes[l], shapes[l + 1])
            switch layer {
            case .convolution, .dense:
                number += 1
                var kernel = (h: x.height, w: x.width, stride: 1, padding: 0), name = "dense\(number)"
                var shape = [z.channels, x.count]
                if case let .convolution(_, h, w, s, p) = layer {
                    kernel = (h, w, s, p)
                    name = "conv\(number)"
                    shape = [z.channels, x.channels, h, w]
                }
                let weight = ParameterBlock(name: name + ".weight", layer: number, role: .weight, shape: shape, offset: offset)
                blocks.append(weight)
                offset += weight.count
                var bias: Int?
                if biases {
                    blocks.append(ParameterBlock(name: name + ".bias", layer: number, role: .bias, shape: [z.channels], offset: offset))
                    bias = offset
                    offset += z.channels
                }
                stages.append(ConvolutionStage(input: x, output: z, kind: .affine(AffineGeometry(
                    input: x, output: z, kernelHeight: kernel.h, kernelWidth: kernel.w, stride: kernel.stride, padding: kernel.padding,
                    weightOffset: weight.offset, biasOffset: bias))))
            case let .maxPool(size, stride):
                stages.append(ConvolutionStage(input: x, output: z, kind: .pool(PoolGeometry(input: x, output: z, size: size, stride: stride), maximum: true)))
            case let .averagePool(size, stride):
                stages.append(ConvolutionStage(input: x, output: z, kind: .pool(PoolGeometry(input: x, output: z, size: size, stride: stride), maximum: false)))
            case let .activation(σ):
                stages.append(ConvolutionStage(input: x, output: z, kind: .activation(σ)))
            }
        }
        parameterBlocks = blocks
        parameterCount = offset
        self.stages = stages
    }

    public var inputDimension: Int { input.count }
    public var outputDimension: Int { shapes.last!.count }
    public var summary: String {
        "convnet \(input): \(layers.map(\.description).joined(separator: ", ")), \(loss.rawValue)" + (biases ? "" : ", no bias")
    }

    /// GEMM flops per sample, counted as the MLP's (`ModelOperation.gemmFlops`) with each affine
    /// layer's forward product u = positions × fan-in × out channels (P·K·O; a dense layer's P = 1,
    /// K = its input size). im2col copies, pooling, activations and the loss are not counted.
    public func flopsPerSample(_ operation: ModelOperation, directions b: Int) -> Double {
        let u = stages.compactMap { stage -> Double? in
            guard case let .affine(g) = stage.kind else { return nil }
            return Double(g.positions * g.fanIn * g.channels)
        }
        return operation.gemmFlops(layerProducts: u, directions: b)
    }

    public var flopCountDescription: String {
        "2mnk per dgemm issued (forward, backprop, R-passes over im2col-lowered inputs); im2col, pooling, element-wise work and the allreduce not counted; u_l = positions x fan-in x channels of affine layer l, counted as the MLP's"
    }

    /// A tile holds ≤ `tileBudget` doubles per buffer, about eight per layer.
    public var workingBytes: Int { 8 * tileBudget * 8 * stages.count }

    public func evaluate(_ parameters: [Double], on batch: SampleBatch) -> LossStatistics {
        var total = LossStatistics()
        forEachTile(parameters, batch, directions: 1) { pass in
            pass.forward(keepDerivatives: false)
            total = total + pass.statistics
        }
        return total
    }

    public func outputs(_ parameters: [Double], on batch: SampleBatch) -> [Double] {
        var result: [Double] = []
        result.reserveCapacity(batch.count * outputDimension)
        forEachTile(parameters, batch, directions: 1) { pass in
            pass.forward(keepDerivatives: false)
            result.append(contentsOf: UnsafeBufferPointer(start: pass.a[stages.count].pointer, count: pass.n * outputDimension))
        }
        return result
    }

    /// Σᵢ ∇_θ ℓᵢ by backpropagation through every layer (ConvolutionPass.backward).
    public func gradient(_ parameters: [Double], on batch: SampleBatch, accumulatingInto gradient: inout [Double]) -> LossStatistics {
        precondition(gradient.count == parameterCount)
        var total = LossStatistics()
        gradient.withUnsafeMutableBufferPointer { g in
            forEachTile(parameters, batch, directions: 1) { pass in
                pass.forward(keepDerivatives: true)
                pass.backward(accumulatingInto: g.baseAddress!)
                total = total + pass.statistics
            }
        }
        return total
    }

    /// Σᵢ ∇²ℓᵢ · V for B directions: Pearlmutter's R-operator, forward over reverse, layer by layer
    /// (the recursions are in `ConvolutionPass.accumulateCurvatureProduct`).
    public func hessianVectorProduct(_ parameters: [Double], on batch: SampleBatch, directions: [Double], count: Int) -> [Double] {
        curvatureProduct(parameters, batch, directions, count, residual: true)
    }

    /// Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ · V: the same passes without the terms that carry δ or σ″.
    public func gaussNewtonVectorProduct(_ parameters: [Double], on batch: SampleBatch, directions: [Double], count: Int) -> [Double] {
        curvatureProduct(parameters, batch, directions, count, residual: false)
    }

    public func jacobianVectorProduct(_ parameters: [Double], on batch: SampleBatch, directions: [Double], count: Int) -> [Double] {
        precondition(count >= 1 && directions.count == parameterCount * count, "directions must be M × B")
        var result: [Double] = []
        result.reserveCapacity(batch.count * count * outputDimension)
        directions.withUnsafeBufferPointer { v in
            let packing = ConvolutionPacking(v.baseAddress!, count: count, network: self, residual: false)
            forEachTile(parameters, batch, directions: count) { pass in
                pass.forward(keepDerivatives: true)
                let rf = pass.tangentForward(v.baseAddress!, packing)[stages.count]!
                result.append(contentsOf: UnsafeBufferPointer(start: rf.pointer, count: rf.count))
            }
        }
        return result
    }

    public func transposedJacobianProduct(_ parameters: [Double], on batch: SampleBatch, cotangents: [Double], count: Int) -> [Double] {
        let k = outputDimension, M = parameterCount
        precondition(count >= 1 && cotangents.count == batch.count * count * k, "cotangents must be n × B × k")
        var result = [Double](repeating: 0, count: M * count)
        var row = 0
        result.withUnsafeMutableBufferPointer { out in
            cotangents.withUnsafeBufferPointer { u in
                forEachTile(parameters, batch, directions: 1) { pass in
                    pass.forward(keepDerivatives: true)
                    for j in 0..<count {
                        let seed = Buffer(pass.n * k)
                        gatherDirection(u.baseAddress!, firstRow: row, rows: pass.n, direction: j, directions: count, outputs: k, into: seed.pointer)
                        pass.delta[stages.count] = seed
                        pass.backward(accumulatingInto: out.baseAddress! + j * M)
                    }
                    row += pass.n
                }
            }
        }
        return result
    }

    private func curvatureProduct(_ parameters: [Double], _ batch: SampleBatch, _ directions: [Double], _ count: Int, residual: Bool) -> [Double] {
        precondition(count >= 1 && directions.count == parameterCount * count, "directions must be M × B")
        var result = [Double](repeating: 0, count: parameterCount * count)
        result.withUnsafeMutableBufferPointer { out in
            directions.withUnsafeBufferPointer { v in
                let packing = ConvolutionPacking(v.baseAddress!, count: count, network: self, residual: residual)
                forEachTile(parameters, batch, directions: count) { pass in
                    pass.forward(keepDerivatives: true)
                    pass.backward(accumulatingInto: nil)
                    pass.accumulateCurvatureProduct(v.baseAddress!, packing, residual: residual, into: out.baseAddress!)
                }
            }
        }
        return result
    }

    /// Samples per tile for B directions: at most `tileBudget / (B · E)` (E as below), at least 1.
    func tileSize(samples: Int, directions: Int) -> Int {
        max(1, min(samples, tileBudget / (directions * stages.map(\.largestBuffer).max()!)))
    }

    /// Calls `body` with a pass over each tile of at most `tileBudget / (B · E)` samples, E the
    /// largest per-sample buffer of any layer (an im2col matrix P × K, or a feature map).
    private func forEachTile(_ parameters: [Double], _ batch: SampleBatch, directions: Int, _ body: (ConvolutionPass) -> Void) {
        precondition(parameters.count == parameterCount, "parameter vector has \(parameters.count) entries, the model needs \(parameterCount)")
        precondition(batch.inputDimension == inputDimension && batch.targetDimension == outputDimension, "batch shape does not match the network")
        guard batch.count > 0 else { return }
        let tile = tileSize(samples: batch.count, directions: directions)
        let d = inputDimension, k = outputDimension
        parameters.withUnsafeBufferPointer { theta in
            batch.inputs.withUnsafeBufferPointer { x in
                batch.targets.withUnsafeBufferPointer { y in
                    var start = 0
                    while start < batch.count {
                        let n = min(tile, batch.count - start)
                        body(ConvolutionPass(network: self, parameters: theta.baseAddress!, inputs: x.baseAddress! + start * d,
                                             targets: y.baseAddress! + start * k, count: n))
                        start += n
                    }
                }
            }
        }
    }
}
