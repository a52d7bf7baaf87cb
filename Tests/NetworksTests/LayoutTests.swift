@testable import Networks
import Testing
import Samples
import SeededRandom

@Suite struct LayoutTests {
    /// The reference MLP 100 → 30 → 30 → k of Sagun et al.: M = 4022, 4115, 4270, 4580, 5510.
    @Test func referenceParameterCounts() {
        let counts = [2, 5, 10, 20, 50].map { ParameterLayout(widths: [100, 30, 30, $0]).count }
        #expect(counts == [4022, 4115, 4270, 4580, 5510])
    }

    @Test func offsetsFollowWeightsThenBiases() {
        let layout = ParameterLayout(widths: [3, 4, 2])
        #expect(layout.weightOffsets == [0, 16])
        #expect(layout.biasOffsets == [12, 24])
        #expect(layout.count == 26)
    }

    /// θ layout is the one a NumPy user reads: z = x @ W.T + b with W = θ[off:off+out·in].reshape(out, in).
    @Test func outputsFollowTheDocumentedLayout() {
        let network = MultilayerPerceptron(widths: [2, 3, 1], activation: .linear, loss: .meanSquaredError)
        let theta: [Double] = [1, 2, 3, 4, 5, 6,   // W1 (3 × 2) row-major
                               0.1, 0.2, 0.3,      // b1
                               1, -1, 2,           // W2 (1 × 3)
                               0.5]                // b2
        let batch = SampleBatch(inputs: [1, 1], inputDimension: 2, targets: [0], targetDimension: 1)
        // hidden = (1+2+0.1, 3+4+0.2, 5+6+0.3) = (3.1, 7.2, 11.3); out = 3.1 − 7.2 + 22.6 + 0.5
        #expect(abs(network.outputs(theta, on: batch)[0] - 19.0) < 1e-12)
    }

    @Test(arguments: Initialization.allCases)
    func initialisationIsAFunctionOfTheSeedWithTheRightScale(scheme: Initialization) {
        let layout = ParameterLayout(widths: [200, 100, 10])
        let a = scheme.parameters(for: layout.blocks, count: layout.count, seed: 42)
        let b = scheme.parameters(for: layout.blocks, count: layout.count, seed: 42)
        #expect(a == b)
        #expect(a != scheme.parameters(for: layout.blocks, count: layout.count, seed: 43))
        let w1 = a[0..<20000]
        let variance = w1.reduce(0) { $0 + $1 * $1 } / Double(w1.count)
        let expected = scheme == .heNormal || scheme == .heUniform ? 2.0 / 200 : 2.0 / 300
        #expect(abs(variance / expected - 1) < 0.05, "\(scheme): variance \(variance), expected \(expected)")
        #expect(a[layout.biasOffset(1)!..<(layout.biasOffset(1)! + 100)].allSatisfy { $0 == 0 })
    }

    /// The block-shaped initialisation draws exactly what the per-layer one did before it (params.npy
    /// of every earlier run stays reproducible): layer l's n_l·n_{l−1} weights from fork(l), fans
    /// n_{l−1} and n_l — written out here independently of the blocks.
    @Test(arguments: Initialization.allCases)
    func blockInitialisationEqualsThePerLayerDraws(scheme: Initialization) {
        let widths = [7, 5, 4, 3]
        let network = MultilayerPerceptron(widths: widths, activation: .tanh, loss: .crossEntropy)
        var expected = [Double](repeating: 0, count: network.parameterCount)
        let base = SplitMix64(seed: 9).fork(Initialization.stream)
        for l in 1..<widths.count {
            var random = base.fork(UInt64(l))
            let fanIn = Double(widths[l - 1]), fanOut = Double(widths[l])
            for i in 0..<(widths[l] * widths[l - 1]) {
                let at = network.layout.weightOffset(l) + i
                switch scheme {
                case .heNormal: expected[at] = (2 / fanIn).squareRoot() * random.nextNormal()
                case .glorotNormal: expected[at] = (2 / (fanIn + fanOut)).squareRoot() * random.nextNormal()
                case .heUniform: expected[at] = (6 / fanIn).squareRoot() * (2 * random.nextUniform() - 1)
                case .glorotUniform: expected[at] = (6 / (fanIn + fanOut)).squareRoot() * (2 * random.nextUniform() - 1)
                }
            }
        }
        #expect(scheme.parameters(for: network, seed: 9) == expected)
    }

    /// A filter bank [c_out, c_in, k, k] has fan_in = c_in·k² (He: variance 2 / fan_in).
    @Test func filterBankFansIncludeTheReceptiveField() {
        let blocks = [ParameterBlock(name: "conv1.weight", layer: 1, role: .weight, shape: [64, 8, 5, 5], offset: 0)]
        let θ = Initialization.heNormal.parameters(for: blocks, count: 64 * 8 * 25, seed: 1)
        let variance = θ.reduce(0) { $0 + $1 * $1 } / Double(θ.count)
        #expect(abs(variance / (2.0 / 200) - 1) < 0.05, "variance \(variance)")
    }

    @Test func crossEntropyOfUniformLogitsIsLogK() {
        let network = MultilayerPerceptron(widths: [2, 4], activation: .relu, loss: .crossEntropy)
        let theta = [Double](repeating: 0, count: network.parameterCount)
        let batch = SampleBatch(inputs: [1, 2], inputDimension: 2, targets: [0, 0, 1, 0], targetDimension: 4)
        #expect(abs(network.evaluate(theta, on: batch).meanLoss - 1.3862943611198906) < 1e-15)
        let mse = MultilayerPerceptron(widths: [2, 4], activation: .relu, loss: .meanSquaredError)
        let unit = SampleBatch(inputs: [1, 2], inputDimension: 2, targets: [1, -1, 1, -1], targetDimension: 4)
        #expect(mse.evaluate(theta, on: unit).meanLoss == 0.5)   // zero predictor, unit targets: ε = ½
    }
}
