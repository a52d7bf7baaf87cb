import Foundation
@testable import Networks
import SeededRandom
import Testing
import Samples

/// The continuous symmetries a critical-point search deflates (GEOMETRY.md §6b): every tangent is
/// orthogonal to ∇L at any θ (L is constant on the orbit), a null vector of H at a critical point
/// (here the closed-form Baldi–Hornik points of a linear 2-1-2 network), and orthogonal to θ when
/// only the norm-preserving part is asked for; and the reducible configurations are named.
@Suite struct SymmetryTests {
    @Test func everyTangentIsOrthogonalToTheGradientAtAnyPoint() {
        for (widths, activation, expected) in [([3, 2, 3], Activation.linear, 2 * 2 + 2), ([3, 4, 2], .relu, 4), ([2, 3, 3, 2], .linear, 9 + 3 + 9 + 3)] {
            let f = Fixture(widths: widths, activation: activation, loss: .meanSquaredError, samples: 9, seed: 5)
            let tangents = f.network.symmetryTangents(at: f.parameters, preservingNorm: false)
            #expect(tangents.count == expected, "\(widths) \(activation): \(tangents.count) tangents")
            let g = f.meanGradient(f.parameters)
            for (i, t) in tangents.enumerated() {
                #expect(abs(dot(g, t)) <= 1e-12 * norm(g) * norm(t), "\(widths) \(activation) tangent \(i): ∇L·t = \(dot(g, t))")
            }
        }
        let tanh = Fixture(widths: [3, 4, 2], activation: .tanh, loss: .meanSquaredError)
        #expect(tanh.network.symmetryGroup(preservingNorm: false) == .none && tanh.network.symmetryTangents(at: tanh.parameters, preservingNorm: false).isEmpty)
    }

    /// With an L2 term only O(h) is left for a linear network (antisymmetric generators: h(h−1)/2 per
    /// layer, each orthogonal to θ) and nothing for ReLU.
    @Test func theNormPreservingPartIsOrthogonalToTheParameters() {
        let f = Fixture(widths: [3, 4, 3], activation: .linear, loss: .meanSquaredError, seed: 9)
        let tangents = f.network.symmetryTangents(at: f.parameters, preservingNorm: true)
        #expect(tangents.count == 6)
        for t in tangents { #expect(abs(dot(t, f.parameters)) <= 1e-13 * norm(t) * norm(f.parameters)) }
        let relu = Fixture(widths: [3, 4, 3], activation: .relu, loss: .meanSquaredError)
        #expect(relu.network.symmetryTangents(at: relu.parameters, preservingNorm: true).isEmpty)
    }

    /// The linear 2-1-2 network with biases on centred data: with Σ = Σ_yx Σ_xx⁻¹ Σ_xy and u a unit
    /// eigenvector of Σ, W₂ = u, W₁ = uᵀΣ_yxΣ_xx⁻¹, b₁ = 0, b₂ = ȳ − W₂W₁x̄ is a critical point
    /// (Baldi & Hornik 1989) — the minimum for the top eigenvector, a saddle for the other. There
    /// H t = 0 for the GL(1) tangent and the bias translation, to rounding.
    @Test func theTangentsAreNullVectorsOfTheHessianAtClosedFormCriticalPoints() {
        var random = SplitMix64(seed: 21)
        let n = 40
        var x: [Double] = [], y: [Double] = []
        for _ in 0..<n {
            let a = random.nextNormal(), b = random.nextNormal()
            x += [a, b]
            y += [1.5 * a + 0.2 * random.nextNormal() + 0.3, 0.5 * b - 0.4 * a + 0.2 * random.nextNormal() - 1]
        }
        let batch = SampleBatch(inputs: x, inputDimension: 2, targets: y, targetDimension: 2)
        let network = MultilayerPerceptron(widths: [2, 1, 2], activation: .linear, loss: .meanSquaredError)
        func mean(_ v: [Double], _ j: Int) -> Double { (0..<n).reduce(0) { $0 + v[2 * $1 + j] } / Double(n) }
        let xm = [mean(x, 0), mean(x, 1)], ym = [mean(y, 0), mean(y, 1)]
        // 2 × 2 moments of the centred data, row-major.
        func moment(_ a: [Double], _ am: [Double], _ b: [Double], _ bm: [Double]) -> [Double] {
            var m = [Double](repeating: 0, count: 4)
            for e in 0..<4 {
                let (r, c) = (e / 2, e % 2)
                for i in 0..<n { m[e] += (a[2 * i + r] - am[r]) * (b[2 * i + c] - bm[c]) }
            }
            return m
        }
        let sxx = moment(x, xm, x, xm), syx = moment(y, ym, x, xm)
        let det = sxx[0] * sxx[3] - sxx[1] * sxx[2]
        let inverse = [sxx[3] / det, -sxx[1] / det, -sxx[2] / det, sxx[0] / det]
        func product(_ a: [Double], _ b: [Double]) -> [Double] {
            [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]]
        }
        let regression = product(syx, inverse)                      // Σ_yx Σ_xx⁻¹
        let sigma = product(regression, [syx[0], syx[2], syx[1], syx[3]])   // … Σ_xy
        // The eigenvectors of the symmetric 2 × 2 Σ in closed form.
        let angle = 0.5 * atan2(2 * sigma[1], sigma[0] - sigma[3])
        for u in [[cos(angle), sin(angle)], [-sin(angle), cos(angle)]] {
            let w1 = [u[0] * regression[0] + u[1] * regression[2], u[0] * regression[1] + u[1] * regression[3]]
            let b2 = (0..<2).map { ym[$0] - u[$0] * (w1[0] * xm[0] + w1[1] * xm[1]) }
            let θ = w1 + [0] + u + b2
            var g = [Double](repeating: 0, count: θ.count)
            _ = network.gradient(θ, on: batch, accumulatingInto: &g)
            #expect(norm(g) / Double(n) <= 1e-13, "the closed form is a critical point: ‖∇L‖ = \(norm(g) / Double(n))")
            let tangents = network.symmetryTangents(at: θ, preservingNorm: false)
            #expect(tangents.count == 2)
            // ‖H‖ from H's action on the coordinate vectors (its Frobenius norm).
            let columns = (0..<θ.count).map { i in network.hessianVectorProduct(θ, on: batch, directions: (0..<θ.count).map { $0 == i ? 1 : 0 }, count: 1) }
            let scale = columns.map { norm($0) * norm($0) }.reduce(0, +).squareRoot()
            for t in tangents {
                let ht = network.hessianVectorProduct(θ, on: batch, directions: t, count: 1)
                #expect(norm(ht) <= 1e-10 * scale * norm(t), "H t = \(norm(ht)) vs ‖H‖ \(scale)")
            }
        }
    }

    @Test func reducibleConfigurationsAreNamed() {
        let f = Fixture(widths: [3, 3, 2], activation: .tanh, loss: .meanSquaredError)
        #expect(f.network.reducibility(at: f.parameters, tolerance: 1e-6) == nil)
        let blocks = f.network.parameterBlocks
        let w1 = blocks[0], b1 = blocks[1], w2 = blocks[2]
        var dead = f.parameters
        for p in 0..<2 { dead[w2.offset + p * 3 + 1] = 0 }
        #expect(f.network.reducibility(at: dead, tolerance: 1e-6) == "layer 1 unit 2 has zero outgoing weights")
        var twins = f.parameters
        for q in 0..<3 { twins[w1.offset + 2 * 3 + q] = -twins[w1.offset + q] }
        twins[b1.offset + 2] = -twins[b1.offset]
        #expect(f.network.reducibility(at: twins, tolerance: 1e-6) == "layer 1 units 1 and 3 are duplicates (up to sign)")
    }
}
