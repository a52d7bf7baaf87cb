import Foundation
@testable import Networks
import SeededRandom
import Samples
import Testing

/// Networks without biases (`model.bias = false`): z_l = W_l a_{l−1}, θ = (W₁, …, W_L).
@Suite struct NoBiasTests {
    /// Pennington & Bahri's 16-16-16 network: M = 2·16·16 = 512 without biases, 544 with.
    @Test func parameterCountsAndLayout() throws {
        let layout = ParameterLayout(widths: [16, 16, 16], biases: false)
        #expect(layout.count == 512)
        #expect(ParameterLayout(widths: [16, 16, 16]).count == 544)
        #expect(ParameterLayout.parameterCount(widths: [16, 16, 16], biases: false) == 512)
        #expect(layout.weightOffsets == [0, 256] && layout.biasOffsets.isEmpty)
        #expect(layout.biasOffset(1) == nil && layout.biasOffset(2) == nil)
        #expect(layout.blocks.map(\.name) == ["layer1.weight", "layer2.weight"])
        #expect(layout.blocks.map(\.range) == [0..<256, 256..<512])
        var specification = ModelSpecification()
        specification.layers = [16]
        specification.bias = false
        #expect(specification.parameterCount(inputs: 16, outputs: 16) == 512)
        #expect(try specification.model(inputs: 16, outputs: 16).parameterCount == 512)
        #expect(try specification.model(inputs: 16, outputs: 16).summary.hasSuffix(", no bias"))
        // The three-layer layout: W₁ [4×3] at 0, W₂ [5×4] at 12, W₃ [2×5] at 32; M = 42.
        let deep = ParameterLayout(widths: [3, 4, 5, 2], biases: false)
        #expect(deep.weightOffsets == [0, 12, 32] && deep.count == 42)
    }

    /// A specification or layout encoded before `bias` existed decodes as a network with biases;
    /// a bias-free one round-trips.
    @Test func olderEncodingsDecodeWithBiases() throws {
        let old = #"{"layers": [7, 6], "activation": "tanh", "loss": "mse", "initialization": "glorot-normal"}"#
        let specification = try JSONDecoder().decode(ModelSpecification.self, from: Data(old.utf8))
        #expect(specification.bias && specification.layers == [7, 6] && specification.activation == .tanh)
        var free = specification
        free.bias = false
        #expect(try JSONDecoder().decode(ModelSpecification.self, from: JSONEncoder().encode(free)) == free)
        let layout = #"{"widths": [3, 4, 2], "weightOffsets": [0, 16], "biasOffsets": [12, 24], "count": 26}"#
        #expect(try JSONDecoder().decode(ParameterLayout.self, from: Data(layout.utf8)) == ParameterLayout(widths: [3, 4, 2]))
        let freeLayout = ParameterLayout(widths: [3, 4, 2], biases: false)
        #expect(try JSONDecoder().decode(ParameterLayout.self, from: JSONEncoder().encode(freeLayout)) == freeLayout)
    }

    /// z = W₂ tanh(W₁ x) by hand: the documented layout, no bias anywhere.
    @Test func outputsFollowTheDocumentedLayout() {
        let network = MultilayerPerceptron(widths: [2, 3, 1], biases: false, activation: .linear, loss: .meanSquaredError)
        let theta: [Double] = [1, 2, 3, 4, 5, 6,   // W1 (3 × 2) row-major
                               1, -1, 2]           // W2 (1 × 3)
        let batch = SampleBatch(inputs: [1, 1], inputDimension: 2, targets: [0], targetDimension: 1)
        // hidden = (3, 7, 11); out = 3 − 7 + 22 = 18
        #expect(network.outputs(theta, on: batch) == [18])
    }

    /// Central differences of the loss, component by component (tanh: smooth), step 1e-5.
    @Test(arguments: Loss.allCases)
    func gradientMatchesCentralDifferences(loss: Loss) {
        let f = Fixture(widths: [4, 5, 3, 3], biases: false, activation: .tanh, loss: loss)
        #expect(f.network.parameterCount == 20 + 15 + 9)
        let exact = f.meanGradient(f.parameters)
        let h = 1e-5
        let numeric = exact.indices.map { i in
            var plus = f.parameters, minus = f.parameters
            plus[i] += h; minus[i] -= h
            return (f.meanLoss(plus) - f.meanLoss(minus)) / (2 * h)
        }
        #expect(relativeError(exact, numeric) <= 1e-6, "\(loss): \(relativeError(exact, numeric))")
    }

    /// Hv against central differences of the gradient along v (tanh), and Gauss–Newton products
    /// of several directions at once against one at a time.
    @Test(arguments: Loss.allCases)
    func hessianVectorProductMatchesDifferencesOfGradients(loss: Loss) {
        let f = Fixture(widths: [4, 5, 4, 3], biases: false, activation: .tanh, loss: loss)
        for s in 0..<3 {
            let v = f.randomDirection(seed: 7 + UInt64(s))
            let exact = f.hvp(v), numeric = f.hvpByDifferences(v, step: 1e-5)
            #expect(relativeError(exact, numeric) <= 1e-5, "\(loss): \(relativeError(exact, numeric))")
        }
        let M = f.network.parameterCount
        let directions = (0..<3).flatMap { f.randomDirection(seed: 20 + UInt64($0)) }
        let together = f.network.gaussNewtonVectorProduct(f.parameters, on: f.batch, directions: directions, count: 3)
        for j in 0..<3 {
            let alone = f.network.gaussNewtonVectorProduct(f.parameters, on: f.batch, directions: Array(directions[(j * M)..<((j + 1) * M)]), count: 1)
            #expect(relativeError(Array(together[(j * M)..<((j + 1) * M)]), alone) <= 1e-14)
        }
    }

    /// A bias-free network is the biased one with b = 0: the same outputs and loss, and its
    /// gradient, Hessian-vector products (directions without bias parts) and JVPs are the biased
    /// network's restricted to the weight entries. Holds for every activation (relu included:
    /// the same function, not a difference quotient). Initialisation draws the same weights.
    @Test(arguments: [Activation.tanh, .relu], Loss.allCases)
    func equalsABiasedNetworkWithZeroBiases(activation: Activation, loss: Loss) {
        let widths = [4, 6, 5, 3]
        let free = Fixture(widths: widths, biases: false, activation: activation, loss: loss, samples: 11)
        let biased = MultilayerPerceptron(widths: widths, activation: activation, loss: loss)
        let weights = biased.parameterBlocks.filter { $0.role == .weight }.flatMap { Array($0.range) }
        #expect(weights.count == free.network.parameterCount)
        func embed(_ w: [Double]) -> [Double] {
            var θ = [Double](repeating: 0, count: biased.parameterCount)
            for (i, index) in weights.enumerated() { θ[index] = w[i] }
            return θ
        }
        func restrict(_ θ: [Double]) -> [Double] { weights.map { θ[$0] } }
        let θ = embed(free.parameters), batch = free.batch
        #expect(free.network.outputs(free.parameters, on: batch) == biased.outputs(θ, on: batch))
        #expect(free.network.evaluate(free.parameters, on: batch) == biased.evaluate(θ, on: batch))
        var g = [Double](repeating: 0, count: biased.parameterCount)
        _ = biased.gradient(θ, on: batch, accumulatingInto: &g)
        var gFree = [Double](repeating: 0, count: free.network.parameterCount)
        _ = free.network.gradient(free.parameters, on: batch, accumulatingInto: &gFree)
        #expect(relativeError(gFree, restrict(g)) <= 1e-14)
        let v = free.randomDirection(seed: 3)
        let hv = biased.hessianVectorProduct(θ, on: batch, directions: embed(v), count: 1)
        #expect(relativeError(free.network.hessianVectorProduct(free.parameters, on: batch, directions: v, count: 1), restrict(hv)) <= 1e-13)
        let jv = biased.jacobianVectorProduct(θ, on: batch, directions: embed(v), count: 1)
        #expect(relativeError(free.network.jacobianVectorProduct(free.parameters, on: batch, directions: v, count: 1), jv) <= 1e-14)
        for scheme in Initialization.allCases {
            #expect(scheme.parameters(for: free.network, seed: 9) == restrict(scheme.parameters(for: biased, seed: 9)))
        }
    }
}
