import Networks
import SeededRandom
import Testing
import Samples
@testable import Curvature

/// The sample-GEMM Hessian against the independent exact reference: the dense matrix whose
/// columns are Hessian-vector products (Pearlmutter's R-operator) with the unit vectors.
@Suite struct ExactHessianAgainstHVP {
    static func problem(widths: [Int], activation: Activation, loss: Loss, samples: Int, seed: UInt64)
        -> (MultilayerPerceptron, [Double], SampleBatch) {
        let network = MultilayerPerceptron(widths: widths, activation: activation, loss: loss)
        var rng = SplitMix64(seed: seed)
        let θ = (0..<network.parameterCount).map { _ in 0.7 * rng.nextNormal() }
        let d = widths.first!, k = widths.last!
        let x = (0..<(samples * d)).map { _ in rng.nextNormal() }
        var y = [Double](repeating: 0, count: samples * k)
        for i in 0..<samples {
            if loss == .crossEntropy { y[i * k + Int(rng.next() % UInt64(k))] = 1 }
            else { for c in 0..<k { y[i * k + c] = rng.nextNormal() } }
        }
        return (network, θ, SampleBatch(inputs: x, inputDimension: d, targets: y, targetDimension: k))
    }

    /// (1/N) Σᵢ ∇²ℓᵢ from M Hessian-vector products with unit vectors (or Gauss–Newton products).
    static func reference(_ network: MultilayerPerceptron, _ θ: [Double], _ batch: SampleBatch, _ part: CurvaturePart) -> [Double] {
        let M = network.parameterCount
        var identity = [Double](repeating: 0, count: M * M)
        for j in 0..<M { identity[j * M + j] = 1 }
        let columns = part == .hessian
            ? network.hessianVectorProduct(θ, on: batch, directions: identity, count: M)
            : network.gaussNewtonVectorProduct(θ, on: batch, directions: identity, count: M)
        return columns.map { $0 / Double(batch.count) }   // column j = H e_j; H is symmetric
    }

    @Test(arguments: [
        ([3, 4, 2], Activation.tanh, Loss.crossEntropy),
        ([3, 5, 4, 3], .tanh, .meanSquaredError),
        ([4, 3, 3, 3, 2], .softplus, .crossEntropy),
        ([4, 3, 3, 3, 2], .sigmoid, .meanSquaredError),
        ([3, 6, 5, 4], .relu, .crossEntropy),
        ([5, 4, 3], .linear, .meanSquaredError),
        ([4, 3], .tanh, .crossEntropy),
    ], CurvaturePart.allCases)
    func matchesHessianVectorProducts(net: ([Int], Activation, Loss), part: CurvaturePart) {
        let (widths, activation, loss) = net
        let (network, θ, batch) = Self.problem(widths: widths, activation: activation, loss: loss, samples: 37, seed: 5)
        var assembler = ExactHessian(network: network)
        assembler.sampleTile = 16   // several tiles, one partial
        let H = assembler.dense(θ, batch: batch, part: part)
        let R = Self.reference(network, θ, batch, part)
        let scale = R.map(abs).max()!
        let error = zip(H, R).map { abs($0 - $1) }.max()!
        #expect(error <= 1e-12 * scale, "\(widths) \(activation) \(loss) \(part): \(error / scale)")
        let M = network.parameterCount
        for i in 0..<M { for j in 0..<i { #expect(H[i * M + j] == H[j * M + i]) } }
    }

    /// Linear model with MSE and one output: H = G = XᵀX/N (with the bias column), R = 0.
    @Test func linearRegressionHessianIsTheGramMatrix() {
        let (network, θ, batch) = Self.problem(widths: [4, 1], activation: .linear, loss: .meanSquaredError, samples: 20, seed: 2)
        let H = ExactHessian(network: network).dense(θ, batch: batch)
        let G = ExactHessian(network: network).dense(θ, batch: batch, part: .gaussNewton)
        for i in 0..<5 {
            for j in 0..<5 {
                var gram = 0.0
                for s in 0..<20 {
                    let xi = i < 4 ? batch.inputs[s * 4 + i] : 1, xj = j < 4 ? batch.inputs[s * 4 + j] : 1
                    gram += xi * xj / 20
                }
                #expect(abs(H[i * 5 + j] - gram) <= 1e-14 * 10)
                #expect(H[i * 5 + j] == G[i * 5 + j])
            }
        }
    }

    @Test func flopCountIsAboutNTimesMSquared() {
        let network = MultilayerPerceptron(widths: [100, 30, 30, 50], activation: .relu, loss: .crossEntropy)
        let flops = ExactHessian(network: network).gemmFlops(samples: 1000)
        #expect(network.parameterCount == 5510)
        #expect(abs(flops - 30.93e9) < 0.05e9)   // HESSIAN_MATH.md §5: 30.93 GFLOP
    }
}

/// The assembled Hessian against central finite differences of the exact gradient, column by
/// column (smooth activations only: finite differences across ReLU kinks are meaningless).
@Suite struct ExactHessianAgainstFiniteDifferences {
    @Test(arguments: [([3, 4, 3], Activation.tanh, Loss.crossEntropy), ([3, 4, 4, 2], .softplus, .meanSquaredError),
                      ([2, 5, 3], .sigmoid, .crossEntropy)])
    func columnsAreFiniteDifferencesOfTheGradient(net: ([Int], Activation, Loss)) {
        let (network, θ, batch) = ExactHessianAgainstHVP.problem(widths: net.0, activation: net.1, loss: net.2, samples: 23, seed: 8)
        let M = network.parameterCount
        let H = ExactHessian(network: network).dense(θ, batch: batch)
        let h = 1e-5
        var worst = 0.0, scale = 0.0
        for j in 0..<M {
            var plus = θ, minus = θ
            plus[j] += h; minus[j] -= h
            var gp = [Double](repeating: 0, count: M), gm = [Double](repeating: 0, count: M)
            _ = network.gradient(plus, on: batch, accumulatingInto: &gp)
            _ = network.gradient(minus, on: batch, accumulatingInto: &gm)
            for i in 0..<M {
                let fd = (gp[i] - gm[i]) / (2 * h) / Double(batch.count)
                worst = max(worst, abs(fd - H[i * M + j]))
                scale = max(scale, abs(H[i * M + j]))
            }
        }
        #expect(worst <= 1e-6 * scale, "\(net.0) \(net.1): relative \(worst / scale)")
    }
}
