@testable import Networks
import SeededRandom
import Samples

/// Small random networks and batches for derivative checks.
struct Fixture {
    let network: MultilayerPerceptron
    let parameters: [Double]
    let batch: SampleBatch

    /// widths [d, hidden…, k]; classification targets are one-hot, regression targets normal.
    init(widths: [Int], biases: Bool = true, activation: Activation, loss: Loss, samples: Int = 7, seed: UInt64 = 1, scale: Double = 1) {
        network = MultilayerPerceptron(widths: widths, biases: biases, activation: activation, loss: loss)
        var random = SplitMix64(seed: seed)
        // Non-zero biases, so that every parameter block is exercised away from a special point.
        parameters = (0..<network.parameterCount).map { _ in scale * 0.6 * random.nextNormal() }
        let d = widths.first!, k = widths.last!
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

    func hvp(_ v: [Double]) -> [Double] {
        network.hessianVectorProduct(parameters, on: batch, directions: v, count: 1).map { $0 / Double(batch.count) }
    }

    /// (∇L(w + hv) − ∇L(w − hv)) / 2h: Hv by central differences of the gradient.
    func hvpByDifferences(_ v: [Double], step h: Double) -> [Double] {
        zip(meanGradient(axpy(parameters, h, v)), meanGradient(axpy(parameters, -h, v))).map { ($0 - $1) / (2 * h) }
    }

    func randomDirection(seed: UInt64) -> [Double] {
        var random = SplitMix64(seed: seed)
        return (0..<network.parameterCount).map { _ in random.nextNormal() }
    }
}

func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
func dot(_ u: [Double], _ v: [Double]) -> Double { zip(u, v).reduce(0) { $0 + $1.0 * $1.1 } }
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    norm(zip(a, b).map { $0 - $1 }) / max(norm(b), 1e-300)
}
func axpy(_ w: [Double], _ h: Double, _ v: [Double]) -> [Double] { zip(w, v).map { $0 + h * $1 } }

/// Targets for `loss`: one-hot rows of random classes (cross-entropy) or standard normal rows.
func randomTargets(samples: Int, outputs k: Int, loss: Loss, _ random: inout SplitMix64) -> [Double] {
    var y = [Double](repeating: 0, count: samples * k)
    for i in 0..<samples {
        if loss == .crossEntropy {
            y[i * k + Int(random.next() % UInt64(k))] = 1
        } else {
            for c in 0..<k { y[i * k + c] = random.nextNormal() }
        }
    }
    return y
}
