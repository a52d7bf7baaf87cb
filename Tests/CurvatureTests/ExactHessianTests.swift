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

    /// The assembled matrix (in tiles of 16 samples: several, one partial) and its largest
    /// difference from `reference`, relative to the reference's largest entry.
    static func assembledAgainstReference(_ network: MultilayerPerceptron, _ θ: [Double], _ batch: SampleBatch,
                                          _ part: CurvaturePart) -> (H: [Double], error: Double) {
        var assembler = ExactHessian(network: network)
        assembler.sampleTile = 16
        let H = assembler.dense(θ, batch: batch, part: part)
        let R = reference(network, θ, batch, part)
        return (H, zip(H, R).map { abs($0 - $1) }.max()! / R.map(abs).max()!)
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
        let (H, error) = Self.assembledAgainstReference(network, θ, batch, part)
        #expect(error <= 1e-12, "\(widths) \(activation) \(loss) \(part): \(error)")
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
        let error = Self.relativeError(network, θ, batch)
        #expect(error <= 1e-6, "\(net.0) \(net.1): relative \(error)")
    }

    /// max |FD − H| over every entry, relative to max |H| (step 1e-5: error O(h²)).
    static func relativeError(_ network: MultilayerPerceptron, _ θ: [Double], _ batch: SampleBatch) -> Double {
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
        return worst / scale
    }
}

/// The sample-GEMM assembly of networks without biases (`model.bias = false`): no bias slot in
/// Ā, no bias rows or b segments — against the same independent references.
@Suite struct ExactHessianWithoutBiases {
    static func problem(widths: [Int], activation: Activation, loss: Loss, samples: Int, seed: UInt64)
        -> (MultilayerPerceptron, [Double], SampleBatch) {
        // The batch of the biased problem; θ drawn the same way for the bias-free M.
        let (_, _, batch) = ExactHessianAgainstHVP.problem(widths: widths, activation: activation, loss: loss, samples: samples, seed: seed)
        let network = MultilayerPerceptron(widths: widths, biases: false, activation: activation, loss: loss)
        var rng = SplitMix64(seed: seed &+ 100)
        return (network, (0..<network.parameterCount).map { _ in 0.7 * rng.nextNormal() }, batch)
    }

    @Test(arguments: [
        ([3, 4, 2], Activation.tanh, Loss.crossEntropy),
        ([4, 3, 3, 3, 2], .softplus, .crossEntropy),
        ([3, 5, 4, 3], .tanh, .meanSquaredError),
        ([3, 6, 5, 4], .relu, .crossEntropy),
        ([4, 3], .tanh, .crossEntropy),
    ], CurvaturePart.allCases)
    func matchesHessianVectorProducts(net: ([Int], Activation, Loss), part: CurvaturePart) {
        let (widths, activation, loss) = net
        let (network, θ, batch) = Self.problem(widths: widths, activation: activation, loss: loss, samples: 37, seed: 5)
        let error = ExactHessianAgainstHVP.assembledAgainstReference(network, θ, batch, part).error
        #expect(error <= 1e-12, "\(widths) \(activation) \(loss) \(part): \(error)")
        // Row blocks have n_{l−1} rows, all weight slots, and together cover θ once, in order.
        var rows: [Int] = []
        ExactHessian(network: network).forEachRowBlock(θ, batch: batch, part: part) { rows += $0.rows }
        #expect(rows == Array(0..<network.parameterCount))
        let biased = ExactHessian(network: MultilayerPerceptron(widths: widths, activation: activation, loss: loss))
        #expect(ExactHessian(network: network).gemmFlops(samples: 10) < biased.gemmFlops(samples: 10))
    }

    /// Windows of columns (the distributed assembly's pieces) give exactly those columns of the
    /// whole row blocks' panels: every block cut into 1–4 windows of uneven widths, with and
    /// without biases, for H and G (the cross term's diagonal and B segments cut at every place).
    @Test(arguments: [([4, 3, 3, 3, 2], Activation.softplus, Loss.crossEntropy), ([3, 5, 4, 3], .tanh, .meanSquaredError)],
          CurvaturePart.allCases)
    func piecesAreWindowsOfTheRowBlocks(net: ([Int], Activation, Loss), part: CurvaturePart) {
        for biases in [true, false] {
            let (full, θ, batch) = Self.problem(widths: net.0, activation: net.1, loss: net.2, samples: 29, seed: 4)
            let network = biases ? full : MultilayerPerceptron(widths: net.0, biases: false, activation: net.1, loss: net.2)
            let parameters = biases ? θ : Array(θ.prefix(network.parameterCount))
            let assembler = ExactHessian(network: network), M = network.parameterCount
            var whole: [Int: (rows: Int, width: Int, panel: [Double])] = [:]
            assembler.forEachRowBlock(parameters, batch: batch, part: part) {
                whole[$0.index] = ($0.rows.count, $0.width, Array($0.panel))
            }
            var pieces: [ExactHessian.Piece] = []
            for (b, block) in assembler.rowBlockGeometry.enumerated() {
                let width = M - block.firstColumn, cuts = 1 + b % 4
                var cut = [0] + (1..<cuts).map { width * $0 * $0 / (cuts * cuts) } + [width]
                cut = Array(Set(cut)).sorted()
                for (a, z) in zip(cut, cut.dropFirst()) { pieces.append(ExactHessian.Piece(block: b, columns: a..<z)) }
            }
            var worst = 0.0, covered = 0
            assembler.forEachPiece(parameters, batch: batch, part: part, pieces: pieces) { piece in
                let reference = whole[piece.index]!, offset = piece.firstColumn - assembler.rowBlockGeometry[piece.index].firstColumn
                for k in 0..<reference.rows {
                    for j in 0..<piece.width {
                        let a = piece.panel[k * piece.width + j], b = reference.panel[k * reference.width + offset + j]
                        worst = max(worst, abs(a - b) / max(abs(b), 1e-300 + 1e-12))
                    }
                }
                covered += piece.width
            }
            #expect(worst <= 1e-12, "\(net.0) biases \(biases) \(part): \(worst)")
            #expect(covered == whole.values.reduce(0) { $0 + $1.width })
        }
    }

    /// Pennington & Bahri's 16-16-16 shape, M = 512: the assembly against 512 HVP columns.
    @Test func sixteenSixteenSixteen() {
        let (network, θ, batch) = Self.problem(widths: [16, 16, 16], activation: .tanh, loss: .meanSquaredError, samples: 40, seed: 3)
        #expect(network.parameterCount == 512)
        #expect(ExactHessianAgainstHVP.assembledAgainstReference(network, θ, batch, .hessian).error <= 1e-12)
    }

    /// Tiny nets' Hessians against central differences of the exact gradient, column by column.
    @Test(arguments: [([3, 4, 3], Activation.tanh, Loss.crossEntropy), ([2, 3, 3, 2], .tanh, .meanSquaredError)])
    func columnsAreFiniteDifferencesOfTheGradient(net: ([Int], Activation, Loss)) {
        let (network, θ, batch) = Self.problem(widths: net.0, activation: net.1, loss: net.2, samples: 23, seed: 8)
        let error = ExactHessianAgainstFiniteDifferences.relativeError(network, θ, batch)
        #expect(error <= 1e-6, "\(net.0) \(net.1): relative \(error)")
    }

    /// The bias-free Hessian is the weight–weight block of the biased network's Hessian at b = 0.
    @Test(arguments: [Activation.tanh, .relu])
    func isTheWeightBlockOfTheBiasedHessianAtZeroBiases(activation: Activation) {
        let widths = [4, 5, 4, 3]
        let (network, θ, batch) = Self.problem(widths: widths, activation: activation, loss: .crossEntropy, samples: 29, seed: 12)
        let biased = MultilayerPerceptron(widths: widths, activation: activation, loss: .crossEntropy)
        let weights = biased.parameterBlocks.filter { $0.role == .weight }.flatMap { Array($0.range) }
        var θb = [Double](repeating: 0, count: biased.parameterCount)
        for (i, index) in weights.enumerated() { θb[index] = θ[i] }
        let H = ExactHessian(network: network).dense(θ, batch: batch)
        let Hb = ExactHessian(network: biased).dense(θb, batch: batch)
        let M = network.parameterCount, Mb = biased.parameterCount
        let scale = H.map(abs).max()!
        var worst = 0.0
        for i in 0..<M { for j in 0..<M { worst = max(worst, abs(H[i * M + j] - Hb[weights[i] * Mb + weights[j]])) } }
        #expect(worst <= 1e-13 * scale, "\(activation): relative \(worst / scale)")
    }
}
