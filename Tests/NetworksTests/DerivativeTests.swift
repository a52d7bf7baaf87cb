@testable import Networks
import Testing
import Samples

/// Gradient and Hessian-vector products against finite differences (smooth activations) and
/// against exact identities (every activation, relu included).
@Suite struct DerivativeTests {
    static let smooth: [Activation] = [.tanh, .softplus, .sigmoid, .linear]
    static let allPairs: [(Activation, Loss)] = Activation.allCases.flatMap { a in Loss.allCases.map { (a, $0) } }

    /// Central differences, component by component, step 1e-5 (error O(h²) ≈ 1e-10).
    @Test(arguments: smooth, Loss.allCases)
    func gradientMatchesCentralDifferences(activation: Activation, loss: Loss) {
        let f = Fixture(widths: [4, 5, 3, 3], activation: activation, loss: loss)
        let exact = f.meanGradient(f.parameters)
        let h = 1e-5
        var numeric = [Double](repeating: 0, count: exact.count)
        for i in exact.indices {
            var plus = f.parameters, minus = f.parameters
            plus[i] += h; minus[i] -= h
            numeric[i] = (f.meanLoss(plus) - f.meanLoss(minus)) / (2 * h)
        }
        #expect(relativeError(exact, numeric) <= 1e-6, "\(activation) \(loss): \(relativeError(exact, numeric))")
    }

    /// ReLU: finite differences are only trustworthy with a tiny step that crosses no kink, so
    /// check directional derivatives gᵀv at step 1e-7 on a few directions.
    @Test(arguments: Loss.allCases)
    func reluGradientMatchesDirectionalDifferences(loss: Loss) {
        let f = Fixture(widths: [4, 6, 5, 3], activation: .relu, loss: loss)
        let g = f.meanGradient(f.parameters)
        for s in 0..<4 {
            let v = f.randomDirection(seed: 100 + UInt64(s))
            let h = 1e-7
            let numeric = (f.meanLoss(axpy(f.parameters, h, v)) - f.meanLoss(axpy(f.parameters, -h, v))) / (2 * h)
            let exact = dot(g, v)
            #expect(abs(exact - numeric) <= 1e-6 * max(abs(exact), norm(g) * norm(v) * 1e-3), "\(loss) direction \(s): \(exact) vs \(numeric)")
        }
    }

    /// Hv vs (∇L(w + hv) − ∇L(w − hv)) / 2h. Smooth activations at h = 1e-5; relu at h = 1e-7,
    /// where the gradient is smooth inside the activation region the steps stay in.
    @Test(arguments: allPairs.indices)
    func hessianVectorProductMatchesDifferencesOfGradients(index: Int) {
        let (activation, loss) = Self.allPairs[index]
        let f = Fixture(widths: [4, 5, 4, 3], activation: activation, loss: loss)
        let h = activation == .relu ? 1e-7 : 1e-5
        for s in 0..<3 {
            let v = f.randomDirection(seed: 7 + UInt64(s))
            let exact = f.hvp(v), numeric = f.hvpByDifferences(v, step: h)
            #expect(relativeError(exact, numeric) <= 1e-5, "\(activation) \(loss): \(relativeError(exact, numeric))")
        }
    }

    /// uᵀ(Hv) = vᵀ(Hu): the R-operator yields a symmetric operator, to round-off.
    @Test(arguments: allPairs.indices)
    func hessianIsSymmetric(index: Int) {
        let (activation, loss) = Self.allPairs[index]
        let f = Fixture(widths: [5, 6, 4, 3], activation: activation, loss: loss, samples: 11)
        let u = f.randomDirection(seed: 1), v = f.randomDirection(seed: 2)
        let uHv = dot(u, f.hvp(v)), vHu = dot(v, f.hvp(u))
        let scale = norm(u) * norm(f.hvp(v))
        #expect(abs(uHv - vHu) <= 1e-12 * scale, "\(activation) \(loss): \(uHv) vs \(vHu)")
        // The Gauss–Newton product is symmetric too, and positive semi-definite.
        let ggn = { (w: [Double]) in f.network.gaussNewtonVectorProduct(f.parameters, on: f.batch, directions: w, count: 1) }
        let uGv = dot(u, ggn(v)), vGu = dot(v, ggn(u))
        #expect(abs(uGv - vGu) <= 1e-12 * norm(u) * norm(ggn(v)))
        #expect(dot(v, ggn(v)) >= -1e-12 * norm(v) * norm(ggn(v)))
    }

    /// A linear model with MSE and one output: ℓ = ½(w̄ᵀx̄ − y)², so H = G = X̄ᵀX̄ / N exactly.
    @Test func linearModelHessianIsDataCovariance() {
        let f = Fixture(widths: [6, 1], activation: .linear, loss: .meanSquaredError, samples: 9)
        let v = f.randomDirection(seed: 3)
        let n = f.batch.count, d = 6
        var expected = [Double](repeating: 0, count: d + 1)
        for i in 0..<n {
            let xbar = Array(f.batch.inputs[(i * d)..<((i + 1) * d)]) + [1]
            let projection = dot(xbar, v)
            for q in 0...d { expected[q] += xbar[q] * projection / Double(n) }
        }
        let hv = f.hvp(v)
        let gv = f.network.gaussNewtonVectorProduct(f.parameters, on: f.batch, directions: v, count: 1).map { $0 / Double(n) }
        #expect(relativeError(hv, expected) <= 1e-14)
        #expect(relativeError(gv, expected) <= 1e-14)
    }

    /// Where every residual vanishes (MSE targets = the network's own outputs) the Hessian is
    /// exactly the Gauss–Newton matrix: the residual terms are all multiplied by δ = 0.
    @Test(arguments: Activation.allCases)
    func hessianEqualsGaussNewtonAtZeroResidual(activation: Activation) {
        let f = Fixture(widths: [4, 5, 4, 3], activation: activation, loss: .meanSquaredError)
        let outputs = f.network.outputs(f.parameters, on: f.batch)
        let exact = SampleBatch(inputs: f.batch.inputs, inputDimension: 4, targets: outputs, targetDimension: 3)
        let v = f.randomDirection(seed: 9)
        let hv = f.network.hessianVectorProduct(f.parameters, on: exact, directions: v, count: 1)
        let gv = f.network.gaussNewtonVectorProduct(f.parameters, on: exact, directions: v, count: 1)
        #expect(relativeError(hv, gv) <= 1e-13, "\(activation)")
        // And away from it they differ (the residual term is really there), except for relu/linear
        // one-hidden-layer cases where it can be small — this net has two hidden layers.
        let hvFar = f.network.hessianVectorProduct(f.parameters, on: f.batch, directions: v, count: 1)
        let gvFar = f.network.gaussNewtonVectorProduct(f.parameters, on: f.batch, directions: v, count: 1)
        #expect(relativeError(hvFar, gvFar) > 1e-6, "\(activation)")
    }

    /// B directions in one call = B calls with one direction (the batched dgemms change only the
    /// grouping of independent sums), and tiling the samples changes nothing beyond round-off.
    @Test(arguments: [Activation.tanh, .relu], Loss.allCases)
    func batchedProductsEqualSingleProducts(activation: Activation, loss: Loss) {
        let f = Fixture(widths: [5, 7, 6, 4], activation: activation, loss: loss, samples: 13)
        let m = f.network.parameterCount, b = 5
        let directions = (0..<b).flatMap { f.randomDirection(seed: 50 + UInt64($0)) }
        for residual in [true, false] {
            let product = residual ? f.network.hessianVectorProduct : f.network.gaussNewtonVectorProduct
            let batched = product(f.parameters, f.batch, directions, b)
            var tiled = f.network
            tiled.tileBudget = 7 * b * 2   // two samples per tile
            let tiledProduct = residual ? tiled.hessianVectorProduct : tiled.gaussNewtonVectorProduct
            let tiledBatched = tiledProduct(f.parameters, f.batch, directions, b)
            for j in 0..<b {
                let single = product(f.parameters, f.batch, Array(directions[(j * m)..<((j + 1) * m)]), 1)
                let column = Array(batched[(j * m)..<((j + 1) * m)])
                #expect(relativeError(column, single) <= 1e-14, "direction \(j): \(relativeError(column, single))")
                #expect(relativeError(Array(tiledBatched[(j * m)..<((j + 1) * m)]), single) <= 1e-14)
            }
        }
    }

    /// Gradient sums over tiles equal the gradient of the whole batch.
    @Test func tiledGradientEqualsWholeBatch() {
        var f = Fixture(widths: [3, 4, 2], activation: .tanh, loss: .crossEntropy, samples: 10)
        let whole = f.meanGradient(f.parameters)
        var tiled = f.network
        tiled.tileBudget = 4 * 3
        f = Fixture(widths: [3, 4, 2], activation: .tanh, loss: .crossEntropy, samples: 10)
        var g = [Double](repeating: 0, count: whole.count)
        let stats = tiled.gradient(f.parameters, on: f.batch, accumulatingInto: &g)
        #expect(relativeError(g.map { $0 / 10 }, whole) <= 1e-14)
        #expect(abs(stats.meanLoss - f.meanLoss(f.parameters)) <= 1e-15 * abs(stats.meanLoss) * 10)
    }
}
