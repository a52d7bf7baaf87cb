@testable import Networks
import Samples
import SeededRandom
import Testing

/// A small convolutional network with random parameters (non-zero biases) and a random batch.
struct ConvolutionFixture {
    let network: ConvolutionalNetwork
    let parameters: [Double]
    let batch: SampleBatch

    init(input: FeatureShape, layers: [ConvolutionalLayer], biases: Bool = true, loss: Loss = .crossEntropy, samples: Int = 5,
         seed: UInt64 = 3, scale: Double = 0.5) throws {
        network = try ConvolutionalNetwork(input: input, layers: layers, biases: biases, loss: loss)
        var random = SplitMix64(seed: seed)
        parameters = (0..<network.parameterCount).map { _ in scale * random.nextNormal() }
        let d = input.count, k = network.outputDimension
        let x = (0..<(samples * d)).map { _ in random.nextNormal() }
        batch = SampleBatch(inputs: x, inputDimension: d, targets: randomTargets(samples: samples, outputs: k, loss: loss, &random),
                            targetDimension: k)
    }

    func meanLoss(_ w: [Double]) -> Double { network.evaluate(w, on: batch).meanLoss }
    func meanGradient(_ w: [Double]) -> [Double] {
        var g = [Double](repeating: 0, count: w.count)
        _ = network.gradient(w, on: batch, accumulatingInto: &g)
        return g.map { $0 / Double(batch.count) }
    }
    func direction(_ seed: UInt64) -> [Double] {
        var random = SplitMix64(seed: seed)
        return (0..<network.parameterCount).map { _ in random.nextNormal() }
    }
}

@Suite struct ConvolutionTests {
    /// Smooth chains: convolution with stride and padding, average pooling, tanh and softplus,
    /// dense layers — every affine kind and every stage the finite differences can check.
    static let smooth: [ConvolutionalLayer] = [
        .convolution(channels: 3, height: 3, width: 3, stride: 1, padding: 1), .activation(.tanh), .averagePool(size: 2, stride: 2),
        .convolution(channels: 4, height: 2, width: 3, stride: 2, padding: 1), .activation(.softplus), .dense(units: 5),
        .activation(.tanh), .dense(units: 3),
    ]
    static let input = FeatureShape(channels: 2, height: 7, width: 6)
    static let maxPooled: [ConvolutionalLayer] = [
        .convolution(channels: 3, height: 3, width: 3, stride: 1, padding: 0), .activation(.relu), .maxPool(size: 2, stride: 1),
        .convolution(channels: 2, height: 2, width: 2, stride: 1, padding: 1), .activation(.tanh), .dense(units: 4),
    ]

    @Test func shapesAndNamedBlocks() throws {
        let net = try ConvolutionalNetwork(input: Self.input, layers: Self.smooth, loss: .crossEntropy)
        #expect(net.shapes.map(\.description) == ["2×7×6", "3×7×6", "3×7×6", "3×3×3", "4×2×2", "4×2×2", "5×1×1", "5×1×1", "3×1×1"])
        #expect(net.parameterBlocks.map(\.name) == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "dense3.weight",
                                                    "dense3.bias", "dense4.weight", "dense4.bias"])
        #expect(net.parameterBlocks[0].shape == [3, 2, 3, 3] && net.parameterBlocks[4].shape == [5, 16])
        #expect(net.parameterCount == 3 * 18 + 3 + 4 * 3 * 2 * 3 + 4 + 5 * 16 + 5 + 3 * 5 + 3)
        #expect(net.symmetryGroup(preservingNorm: false) == .none)
        // He initialisation takes conv fans from [O, C, kh, kw]: fan-in C·kh·kw.
        #expect(Initialization.heNormal.parameters(for: net, seed: 1).count == net.parameterCount)
    }

    @Test func refusesShapesThatDoNotChain() {
        let tooLarge = ConvolutionalLayer.shapes(input: FeatureShape(channels: 1, height: 4, width: 4),
                                                 layers: [.convolution(channels: 2, height: 5, width: 5, stride: 1, padding: 0)])
        #expect(throws: ConvolutionalLayer.ChainError.self) { try tooLarge.get() }
        if case let .failure(error) = tooLarge { #expect(error.layer == 0 && error.detail.contains("larger than its input 4x4")) }
        let afterDense = ConvolutionalLayer.shapes(input: FeatureShape(channels: 1, height: 8, width: 8),
                                                   layers: [.dense(units: 6), .maxPool(size: 2, stride: 2)])
        if case let .failure(error) = afterDense { #expect(error.layer == 1 && error.detail.contains("6×1×1")) } else { Issue.record("accepted") }
        #expect(throws: ConvolutionalLayer.ChainError.self) {
            try ConvolutionalNetwork(input: Self.input, layers: [.activation(.tanh)], loss: .meanSquaredError)
        }
    }

    /// One convolution's outputs against the textbook sum z[o,h,w] = b[o] + Σ W[o,c,r,t] x[c, h·s−p+r, w·s−p+t].
    @Test(arguments: [(1, 0), (2, 1), (3, 2)])
    func convolutionMatchesDirectSum(stride: Int, padding: Int) throws {
        let (O, kh, kw) = (3, 3, 2)
        let f = try ConvolutionFixture(input: Self.input, layers: [.convolution(channels: O, height: kh, width: kw, stride: stride, padding: padding)],
                                       loss: .meanSquaredError, samples: 3)
        let z = f.network.outputs(f.parameters, on: f.batch)
        let (C, H, W) = (Self.input.channels, Self.input.height, Self.input.width), out = f.network.shapes[1]
        var worst = 0.0
        let biasOffset = O * C * kh * kw
        for i in 0..<3 { for o in 0..<O { for h in 0..<out.height { for w in 0..<out.width {
            var sum: Double = f.parameters[biasOffset + o]
            for c in 0..<C { for r in 0..<kh { for t in 0..<kw {
                let y: Int = h * stride - padding + r
                let x: Int = w * stride - padding + t
                guard y >= 0, y < H, x >= 0, x < W else { continue }
                let weight: Double = f.parameters[((o * C + c) * kh + r) * kw + t]
                let pixel: Double = f.batch.inputs[i * C * H * W + (c * H + y) * W + x]
                sum += weight * pixel
            } } }
            let index: Int = i * out.count + (o * out.height + h) * out.width + w
            worst = max(worst, abs(sum - z[index]))
        } } } }
        #expect(worst <= 1e-13, "max difference \(worst)")
    }

    /// Central differences of the loss, component by component (h = 1e-5: error O(h²)).
    @Test(arguments: Loss.allCases)
    func gradientMatchesCentralDifferences(loss: Loss) throws {
        let f = try ConvolutionFixture(input: Self.input, layers: Self.smooth, loss: loss)
        let exact = f.meanGradient(f.parameters), h = 1e-5
        let numeric = exact.indices.map { i -> Double in
            var plus = f.parameters, minus = f.parameters
            plus[i] += h; minus[i] -= h
            return (f.meanLoss(plus) - f.meanLoss(minus)) / (2 * h)
        }
        #expect(relativeError(exact, numeric) <= 1e-7, "\(loss): \(relativeError(exact, numeric))")
    }

    /// Hv against central differences of the gradient.
    @Test(arguments: Loss.allCases)
    func hessianVectorProductMatchesDifferencesOfGradients(loss: Loss) throws {
        let f = try ConvolutionFixture(input: Self.input, layers: Self.smooth, loss: loss)
        for s in 0..<2 {
            let v = f.direction(10 + UInt64(s)), h = 1e-5
            let exact = f.network.hessianVectorProduct(f.parameters, on: f.batch, directions: v, count: 1).map { $0 / Double(f.batch.count) }
            let numeric = zip(f.meanGradient(axpy(f.parameters, h, v)), f.meanGradient(axpy(f.parameters, -h, v))).map { ($0 - $1) / (2 * h) }
            #expect(relativeError(exact, numeric) <= 1e-7, "\(loss): \(relativeError(exact, numeric))")
        }
    }

    /// Max pooling (and relu) are piecewise linear: at a tiny step that crosses no switch the
    /// differences agree with the a.e. Hessian.
    @Test func maxPoolingHessianMatchesSmallStepDifferences() throws {
        let f = try ConvolutionFixture(input: Self.input, layers: Self.maxPooled)
        let v = f.direction(5), h = 1e-7
        let exact = f.network.hessianVectorProduct(f.parameters, on: f.batch, directions: v, count: 1).map { $0 / Double(f.batch.count) }
        let numeric = zip(f.meanGradient(axpy(f.parameters, h, v)), f.meanGradient(axpy(f.parameters, -h, v))).map { ($0 - $1) / (2 * h) }
        #expect(relativeError(exact, numeric) <= 1e-5, "\(relativeError(exact, numeric))")
    }

    /// uᵀ(Hv) = vᵀ(Hu) and uᵀ(Gv) = vᵀ(Gu) to round-off, for every chain.
    @Test(arguments: [0, 1])
    func curvatureIsSymmetric(chain: Int) throws {
        let f = try ConvolutionFixture(input: Self.input, layers: chain == 0 ? Self.smooth : Self.maxPooled, samples: 6)
        let u = f.direction(1), v = f.direction(2)
        let hv = f.network.hessianVectorProduct(f.parameters, on: f.batch, directions: v, count: 1)
        let hu = f.network.hessianVectorProduct(f.parameters, on: f.batch, directions: u, count: 1)
        let gv = f.network.gaussNewtonVectorProduct(f.parameters, on: f.batch, directions: v, count: 1)
        let gu = f.network.gaussNewtonVectorProduct(f.parameters, on: f.batch, directions: u, count: 1)
        let scale = norm(u) * norm(hv)
        #expect(abs(dot(u, hv) - dot(v, hu)) <= 1e-12 * scale, "H: \(dot(u, hv)) vs \(dot(v, hu))")
        #expect(abs(dot(u, gv) - dot(v, gu)) <= 1e-12 * norm(u) * norm(gv), "G: \(dot(u, gv)) vs \(dot(v, gu))")
    }

    /// B directions in one call equal B calls with one direction each, in several tiles too.
    @Test func batchedDirectionsEqualSingleOnes() throws {
        var f = try ConvolutionFixture(input: Self.input, layers: Self.maxPooled, samples: 7)
        let B = 4, M = f.network.parameterCount
        let V = (0..<B).flatMap { f.direction(20 + UInt64($0)) }
        for tiles in [false, true] {
            var network = f.network
            if tiles { network.tileBudget = 600 }   // a few samples per tile
            f = ConvolutionFixture(network: network, parameters: f.parameters, batch: f.batch)
            for residual in [true, false] {
                let all = residual ? network.hessianVectorProduct(f.parameters, on: f.batch, directions: V, count: B)
                                   : network.gaussNewtonVectorProduct(f.parameters, on: f.batch, directions: V, count: B)
                for j in 0..<B {
                    let one = Array(V[(j * M)..<((j + 1) * M)])
                    let single = residual ? network.hessianVectorProduct(f.parameters, on: f.batch, directions: one, count: 1)
                                          : network.gaussNewtonVectorProduct(f.parameters, on: f.batch, directions: one, count: 1)
                    #expect(relativeError(Array(all[(j * M)..<((j + 1) * M)]), single) <= 1e-13, "tiles \(tiles) residual \(residual) direction \(j)")
                }
            }
            let jvp = network.jacobianVectorProduct(f.parameters, on: f.batch, directions: V, count: B)
            let k = network.outputDimension
            for j in 0..<B {
                let single = network.jacobianVectorProduct(f.parameters, on: f.batch, directions: Array(V[(j * M)..<((j + 1) * M)]), count: 1)
                var column: [Double] = []
                for i in 0..<f.batch.count {
                    let start: Int = (i * B + j) * k
                    column += jvp[start..<(start + k)]
                }
                #expect(relativeError(column, single) <= 1e-13)
            }
        }
    }

    /// G v = Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ v built from the Jacobian products and the loss's curvature.
    @Test(arguments: Loss.allCases)
    func gaussNewtonEqualsJacobianSandwich(loss: Loss) throws {
        let f = try ConvolutionFixture(input: Self.input, layers: Self.maxPooled, loss: loss)
        let v = f.direction(9), k = f.network.outputDimension, n = f.batch.count
        let jv = f.network.jacobianVectorProduct(f.parameters, on: f.batch, directions: v, count: 1)
        let logits = f.network.outputs(f.parameters, on: f.batch)
        var u = [Double](repeating: 0, count: n * k)
        for i in 0..<n {
            var g = [Double](repeating: 0, count: k), p = [Double](repeating: 0, count: k), out = [Double](repeating: 0, count: k)
            let fi = Array(logits[(i * k)..<((i + 1) * k)]), yi = Array(f.batch.targets[(i * k)..<((i + 1) * k)])
            _ = loss.evaluate(output: fi, target: yi, k: k, gradient: &g, probabilities: &p)
            loss.curvatureProduct(Array(jv[(i * k)..<((i + 1) * k)]), probabilities: p, target: yi, k: k, into: &out)
            for c in 0..<k { u[i * k + c] = out[c] }
        }
        let sandwich = f.network.transposedJacobianProduct(f.parameters, on: f.batch, cotangents: u, count: 1)
        let gv = f.network.gaussNewtonVectorProduct(f.parameters, on: f.batch, directions: v, count: 1)
        #expect(relativeError(gv, sandwich) <= 1e-13, "\(relativeError(gv, sandwich))")
    }

    /// Dense layers and activations only: the MLP with the same θ, to round-off, with and without biases.
    @Test(arguments: [true, false])
    func denseChainEqualsTheMultilayerPerceptron(biases: Bool) throws {
        let f = try ConvolutionFixture(input: FeatureShape(channels: 2, height: 2, width: 2),
                                       layers: [.dense(units: 5), .activation(.tanh), .dense(units: 4), .activation(.tanh), .dense(units: 3)],
                                       biases: biases, samples: 6)
        let mlp = MultilayerPerceptron(widths: [8, 5, 4, 3], biases: biases, activation: .tanh, loss: .crossEntropy)
        #expect(mlp.parameterCount == f.network.parameterCount)
        #expect(mlp.parameterBlocks.map(\.range) == f.network.parameterBlocks.map(\.range))
        let (w, b) = (f.parameters, f.batch)
        #expect(abs(mlp.evaluate(w, on: b).lossSum - f.network.evaluate(w, on: b).lossSum) <= 1e-13 * mlp.evaluate(w, on: b).lossSum)
        var g1 = [Double](repeating: 0, count: w.count), g2 = g1
        _ = mlp.gradient(w, on: b, accumulatingInto: &g1)
        _ = f.network.gradient(w, on: b, accumulatingInto: &g2)
        #expect(relativeError(g2, g1) <= 1e-13)
        let V = f.direction(4) + f.direction(5)
        #expect(relativeError(f.network.hessianVectorProduct(w, on: b, directions: V, count: 2), mlp.hessianVectorProduct(w, on: b, directions: V, count: 2)) <= 1e-13)
        #expect(relativeError(f.network.gaussNewtonVectorProduct(w, on: b, directions: V, count: 2),
                              mlp.gaussNewtonVectorProduct(w, on: b, directions: V, count: 2)) <= 1e-13)
        #expect(f.network.flopsPerSample(.hvp, directions: 3) == mlp.flopsPerSample(.hvp, directions: 3))
    }
}

extension ConvolutionFixture {
    init(network: ConvolutionalNetwork, parameters: [Double], batch: SampleBatch) {
        self.network = network
        self.parameters = parameters
        self.batch = batch
    }
}
