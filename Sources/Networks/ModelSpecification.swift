/// What network to build: the `[model]` table of a run configuration. Input and output sizes
/// come from the data (d features, k classes or targets).
public struct ModelSpecification: Sendable, Codable, Equatable {
    /// Which family: a multilayer perceptron (`layers`) or a convolutional network (`convolution`).
    public enum Kind: String, CaseIterable, Sendable, Codable { case mlp, convnet }
    public var kind: Kind = .mlp
    /// Hidden widths n₁ … n_{L−1}; empty for a linear (affine) model.
    public var layers = [30, 30]
    /// A convnet's hidden layers, one string each (`ConvolutionalLayer(specification:)`): after every
    /// convolution and hidden dense layer comes `activation`, and a dense layer to the k outputs
    /// ends the chain, as an MLP's `layers` are hidden widths between the data's d and k.
    public var convolution: [String] = []
    public var activation: Activation = .relu
    public var loss: Loss = .crossEntropy
    public var initialization: Initialization = .heNormal
    /// Whether every affine layer has a bias: z_l = W_l a_{l−1} + b_l, or z_l = W_l a_{l−1}
    /// (Pennington & Bahri's networks: M = 512 for 16-16-16, not 544).
    public var bias = true
    /// An ONNX file whose graph is the network and whose initialisers are θ₀ (docs/onnx.md); when
    /// set, `kind`, `layers`, `convolution`, `activation`, `initialization` and `bias` do not apply.
    public var onnx: String?

    public init() {}

    /// Every field, as the synthesised decoder would read it, but `bias`, `kind` and `convolution`
    /// may be absent: a specification encoded before the settings existed described an MLP with biases.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .mlp
        convolution = try c.decodeIfPresent([String].self, forKey: .convolution) ?? []
        layers = try c.decode([Int].self, forKey: .layers)
        activation = try c.decode(Activation.self, forKey: .activation)
        loss = try c.decode(Loss.self, forKey: .loss)
        initialization = try c.decode(Initialization.self, forKey: .initialization)
        bias = try c.decodeIfPresent(Bool.self, forKey: .bias) ?? true
        onnx = try c.decodeIfPresent(String.self, forKey: .onnx)
    }

    /// nil when valid, else the key at fault and what is wrong with it (the checks that need no data).
    public func problem() -> (setting: String, detail: String)? {
        if let onnx {
            if onnx.isEmpty { return ("model.onnx", "is empty; give the path of an .onnx file") }
            if kind == .convnet { return ("model.onnx", "and model.kind = \"convnet\" both describe the network; give one (the ONNX graph replaces model.kind and model.convolution)") }
            return nil
        }
        if let bad = layers.first(where: { $0 < 1 }) { return ("model.layers", "must all be ≥ 1 (got \(bad) in \(layers))") }
        switch kind {
        case .mlp:
            if !convolution.isEmpty { return ("model.convolution", "is set but model.kind = \"mlp\"; set model.kind = \"convnet\" to use it") }
        case .convnet:
            if convolution.isEmpty { return ("model.convolution", "must list the layers of model.kind = \"convnet\", e.g. [\"conv 8 5x5\", \"maxpool 2\"]") }
            do { _ = try hiddenConvolutionalLayers() } catch { return (error.setting, error.detail) }
        }
        return nil
    }

    /// The convnet's chain without its output layer: every `convolution` entry parsed, with
    /// `activation` after each convolution and dense layer.
    func hiddenConvolutionalLayers() throws(ModelError) -> [ConvolutionalLayer] {
        var chain: [ConvolutionalLayer] = []
        for (index, entry) in convolution.enumerated() {
            guard let parsed = ConvolutionalLayer.parse(entry) else {
                throw ModelError(setting: "model.convolution", detail: "entry \(index + 1) '\(entry)' is not a layer; write \"conv C KxK [stride S] [pad P]\", \"maxpool K [stride S]\", \"avgpool K [stride S]\", \"dense N\" or \"flatten\"")
            }
            guard let layer = parsed else { continue }   // flatten: implicit before a dense layer
            // Channels, kernels, strides, padding and windows, checked before any data is seen
            // (an input this large takes any kernel: only the settings themselves can fail).
            if case let .failure(error) = layer.output(from: FeatureShape(channels: 1, height: 1 << 20, width: 1 << 20)) {
                throw ModelError(setting: "model.convolution", detail: "entry \(index + 1) '\(entry)' \(error.detail)")
            }
            chain.append(layer)
            if layer.isAffine { chain.append(.activation(activation)) }
        }
        return chain
    }

    /// M for d inputs of `shape` (C, H, W; nil: d × 1 × 1) and k outputs, or nil when the model
    /// cannot be built or M would overflow (absurd configurations).
    public func parameterCount(inputs d: Int, shape: [Int]? = nil, outputs k: Int) -> Int? {
        if onnx != nil { return nil }   // known once the file is read (Jobs reads it)
        switch kind {
        case .mlp: return ParameterLayout.parameterCount(widths: [d] + layers + [k], biases: bias)
        case .convnet: return (try? model(inputs: d, shape: shape, outputs: k))?.parameterCount
        }
    }

    /// The model for d inputs (of `shape` C × H × W for a convnet; nil: d × 1 × 1) and k outputs,
    /// or the setting at fault: convolution layers that do not chain, a shape that does not hold d
    /// values. The one place that names the concrete models: everything above works on `any Model`.
    public func model(inputs d: Int, shape: [Int]? = nil, outputs k: Int) throws(ModelError) -> any Model {
        switch kind {
        case .mlp:
            return MultilayerPerceptron(widths: [d] + layers + [k], biases: bias, activation: activation, loss: loss)
        case .convnet:
            let dims = shape ?? [d, 1, 1]
            guard dims.count == 3, dims.allSatisfy({ $0 >= 1 }), dims.reduce(1, *) == d else {
                throw ModelError(setting: "data.shape", detail: "\(dims.map(String.init).joined(separator: "×")) does not describe the data's d = \(d) inputs; give C, H, W with C·H·W = d (e.g. [1, 28, 28] for 784)")
            }
            let input = FeatureShape(channels: dims[0], height: dims[1], width: dims[2])
            let hidden = try hiddenConvolutionalLayers()
            do {
                return try ConvolutionalNetwork(input: input, layers: hidden + [.dense(units: k)], biases: bias, loss: loss)
            } catch {
                // Layer numbers of the chain → entries of model.convolution: activations are inserted
                // and "flatten" entries build no layer, so the n-th non-activation layer is the n-th
                // entry that is not a flatten.
                let layered = convolution.indices.filter { ConvolutionalLayer.parse(convolution[$0]) != .some(nil) }
                let n = error.layer < hidden.count ? hidden[...error.layer].filter { if case .activation = $0 { false } else { true } }.count : 0
                let entry = n >= 1 && n <= layered.count ? layered[n - 1] + 1 : convolution.count + 1
                let what = entry <= convolution.count ? "entry \(entry) '\(convolution[entry - 1])'" : "the output layer (dense \(k))"
                throw ModelError(setting: "model.convolution", detail: "\(what): \(error.reason); the data are \(input) (data.shape)")
            }
        }
    }
}

/// A model setting that cannot be built: the key at fault and what is wrong with it.
public struct ModelError: Error, Sendable {
    public let setting: String
    public let detail: String
}

extension ConvolutionalLayer {
    /// One entry of `model.convolution`: "conv C KxK [stride S] [pad P]" (K alone for a square
    /// kernel), "maxpool K [stride S]", "avgpool K [stride S]" (stride defaults to K), "dense N",
    /// or "flatten" (.some(nil): dense layers flatten their input anyway). nil: not a layer.
    public static func parse(_ text: String) -> ConvolutionalLayer?? {
        let words = text.lowercased().split(separator: " ").map(String.init)
        guard let head = words.first else { return nil }
        func integer(_ word: String) -> Int? { Int(word) }
        /// "stride S" / "pad P" options after the positional words; nil on anything else.
        func options(_ rest: ArraySlice<String>, allowed: Set<String>) -> [String: Int]? {
            var result: [String: Int] = [:], words = rest
            while let name = words.first {
                guard allowed.contains(name), result[name] == nil, words.count >= 2, let value = integer(words[words.startIndex + 1]) else { return nil }
                result[name] = value
                words = words.dropFirst(2)
            }
            return result
        }
        switch head {
        case "conv":
            guard words.count >= 3, let channels = integer(words[1]) else { return nil }
            let sides = words[2].split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard sides.count == 1 || sides.count == 2, let h = sides[0], let w = sides.last!,
                  let extra = options(words.dropFirst(3), allowed: ["stride", "pad"]) else { return nil }
            return .some(.convolution(channels: channels, height: h, width: w, stride: extra["stride"] ?? 1, padding: extra["pad"] ?? 0))
        case "maxpool", "avgpool":
            guard words.count >= 2, let size = integer(words[1]), let extra = options(words.dropFirst(2), allowed: ["stride"]) else { return nil }
            let stride = extra["stride"] ?? size
            return .some(head == "maxpool" ? .maxPool(size: size, stride: stride) : .averagePool(size: size, stride: stride))
        case "dense":
            guard words.count == 2, let units = integer(words[1]) else { return nil }
            return .some(.dense(units: units))
        case "flatten":
            return words.count == 1 ? .some(nil) : nil
        default:
            return nil
        }
    }
}
