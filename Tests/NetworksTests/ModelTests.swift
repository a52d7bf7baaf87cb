@testable import Networks
import SeededRandom
import Testing
import Samples

/// The `Model` seam on the MLP: named blocks, output Jacobian products (against finite
/// differences of the outputs and against each other), and the Gauss–Newton product rebuilt from
/// them — so a model that implements J v and Jᵀ u gets a checked G.
@Suite struct ModelTests {
    static let allPairs: [(Activation, Loss)] = Activation.allCases.flatMap { a in Loss.allCases.map { (a, $0) } }

    @Test func blocksCoverTheParameterVectorInOrder() {
        let network = MultilayerPerceptron(widths: [4, 5, 3, 2], activation: .tanh, loss: .crossEntropy)
        let blocks = network.parameterBlocks
        #expect(blocks.map(\.name) == ["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias", "layer3.weight", "layer3.bias"])
        var next = 0
        for block in blocks {
            #expect(block.offset == next)
            next += block.count
        }
        #expect(next == network.parameterCount)
        #expect(network.block(named: "layer2.weight")?.shape == [3, 5])
        #expect(network.block(named: "layer3.bias")?.range == network.layout.biasOffset(3)!..<network.parameterCount)
    }

    /// Jᵢ v against (f(w + hv) − f(w − hv)) / 2h, smooth activations, h = 1e-5.
    @Test(arguments: [Activation.tanh, .softplus, .sigmoid, .linear])
    func jacobianVectorProductMatchesDifferencesOfOutputs(activation: Activation) {
        let f = Fixture(widths: [4, 5, 4, 3], activation: activation, loss: .meanSquaredError)
        let B = 3
        let v = (0..<B).flatMap { f.randomDirection(seed: 40 + UInt64($0)) }
        let jv = f.network.jacobianVectorProduct(f.parameters, on: f.batch, directions: v, count: B)
        let n = f.batch.count, k = 3, M = f.network.parameterCount, h = 1e-5
        for j in 0..<B {
            let vj = Array(v[(j * M)..<((j + 1) * M)])
            let plus = f.network.outputs(axpy(f.parameters, h, vj), on: f.batch)
            let minus = f.network.outputs(axpy(f.parameters, -h, vj), on: f.batch)
            var exact: [Double] = [], numeric: [Double] = []
            for i in 0..<n {
                for c in 0..<k {
                    exact.append(jv[(i * B + j) * k + c])
                    numeric.append((plus[i * k + c] - minus[i * k + c]) / (2 * h))
                }
            }
            #expect(relativeError(exact, numeric) <= 1e-8, "\(activation) direction \(j): \(relativeError(exact, numeric))")
        }
    }

    /// ⟨U, J V⟩ = ⟨Jᵀ U, V⟩ summed over samples: the two products are adjoint (every activation).
    @Test(arguments: Activation.allCases)
    func transposedJacobianIsTheAdjoint(activation: Activation) {
        let f = Fixture(widths: [4, 6, 5, 3], activation: activation, loss: .crossEntropy)
        let B = 2, n = f.batch.count, k = 3
        let v = (0..<B).flatMap { f.randomDirection(seed: 70 + UInt64($0)) }
        var random = SplitMix64(seed: 99)
        let u = (0..<(n * B * k)).map { _ in random.nextNormal() }
        let jv = f.network.jacobianVectorProduct(f.parameters, on: f.batch, directions: v, count: B)
        let jtu = f.network.transposedJacobianProduct(f.parameters, on: f.batch, cotangents: u, count: B)
        let left = dot(u, jv), right = dot(jtu, v)
        #expect(abs(left - right) <= 1e-12 * max(abs(left), 1), "\(activation): \(left) vs \(right)")
    }

    /// G v = Σᵢ Jᵢᵀ (∇²_f ℓᵢ (Jᵢ v)): the GGN product equals its definition built from J v and Jᵀ u.
    @Test(arguments: allPairs.indices)
    func gaussNewtonProductIsJacobianTransposeLossHessianJacobian(index: Int) {
        let (activation, loss) = Self.allPairs[index]
        let f = Fixture(widths: [4, 5, 4, 3], activation: activation, loss: loss)
        let B = 2, n = f.batch.count, k = 3
        let v = (0..<B).flatMap { f.randomDirection(seed: 11 + UInt64($0)) }
        let jv = f.network.jacobianVectorProduct(f.parameters, on: f.batch, directions: v, count: B)
        let logits = f.network.outputs(f.parameters, on: f.batch)
        var u = [Double](repeating: 0, count: jv.count)
        var p = [Double](repeating: 0, count: k), g = [Double](repeating: 0, count: k)
        for i in 0..<n {
            logits.withUnsafeBufferPointer { z in
                f.batch.targets.withUnsafeBufferPointer { y in
                    _ = loss.evaluate(output: z.baseAddress! + i * k, target: y.baseAddress! + i * k, k: k, gradient: &g, probabilities: &p)
                    for j in 0..<B {
                        let t = (i * B + j) * k
                        jv.withUnsafeBufferPointer { r in
                            u.withUnsafeMutableBufferPointer { out in
                                loss.curvatureProduct(r.baseAddress! + t, probabilities: p, target: y.baseAddress! + i * k, k: k,
                                                      into: out.baseAddress! + t)
                            }
                        }
                    }
                }
            }
        }
        let rebuilt = f.network.transposedJacobianProduct(f.parameters, on: f.batch, cotangents: u, count: B)
        let direct = f.network.gaussNewtonVectorProduct(f.parameters, on: f.batch, directions: v, count: B)
        #expect(relativeError(rebuilt, direct) <= 1e-12, "\(activation) \(loss): \(relativeError(rebuilt, direct))")
    }

    /// Tiling does not change the products: a tile budget that forces one-sample tiles gives the
    /// same J v and Jᵀ u.
    @Test func jacobianProductsDoNotDependOnTiling() {
        let f = Fixture(widths: [4, 5, 3], activation: .tanh, loss: .crossEntropy, samples: 9)
        var tiny = f.network
        tiny.tileBudget = 1
        let v = f.randomDirection(seed: 5)
        var random = SplitMix64(seed: 6)
        let u = (0..<(9 * 3)).map { _ in random.nextNormal() }
        #expect(relativeError(tiny.jacobianVectorProduct(f.parameters, on: f.batch, directions: v, count: 1),
                              f.network.jacobianVectorProduct(f.parameters, on: f.batch, directions: v, count: 1)) <= 1e-14)
        #expect(relativeError(tiny.transposedJacobianProduct(f.parameters, on: f.batch, cotangents: u, count: 1),
                              f.network.transposedJacobianProduct(f.parameters, on: f.batch, cotangents: u, count: 1)) <= 1e-14)
    }
}
