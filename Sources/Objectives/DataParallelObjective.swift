import Cluster
import Datasets
import Networks
import Samples

/// The mean training loss L(w) = (1/N) Σᵢ ℓ(f(w, xᵢ), yᵢ) of any `Model` over data sharded across
/// the ranks of `communicator`, with its gradient and its curvature operators.
///
/// Each rank sums over the samples it holds; one allreduce of [Σ∇ℓ (M values), Σℓ, #correct, n]
/// then gives every rank the same global sums, which are divided by the global sample count. The
/// result is the same for any number of ranks up to the rounding of the sums' grouping.
public struct DataParallelObjective: Sendable {
    public let model: any Model
    public let dataset: Dataset
    public let communicator: Communicator

    public init(model: any Model, dataset: Dataset, communicator: Communicator) {
        precondition(model.inputDimension == dataset.inputDimension && model.outputDimension == dataset.outputDimension,
                     "the model's input/output sizes do not match the data")
        self.model = model
        self.dataset = dataset
        self.communicator = communicator
    }

    /// H, G or R = H − G of the mean loss at `parameters`, as a collective operator.
    public func curvature(_ kind: CurvatureKind, at parameters: [Double]) -> CurvatureOperator {
        CurvatureOperator(kind: kind, model: model, parameters: parameters, shard: dataset.samples,
                          globalSampleCount: dataset.globalCount, communicator: communicator)
    }

    /// L(w), accuracy and (if asked) ∇L(w) with its norm, over the whole dataset.
    public func evaluate(_ parameters: [Double], gradient wantGradient: Bool = true) throws -> Evaluation {
        try reduce(parameters, on: dataset.samples, gradient: wantGradient)
    }

    /// The mean loss and gradient over the minibatch of global sample indices `indices` (every
    /// rank passes the same list; each uses the members of its own shard).
    public func minibatch(_ parameters: [Double], indices: [Int]) throws -> Evaluation {
        let shard = dataset.shard
        let local = indices.compactMap { shard.range.contains($0) ? $0 - shard.start : nil }
        return try reduce(parameters, on: dataset.samples.rows(local), gradient: true)
    }

    /// L and accuracy at every point θ₀ + Σⱼ cⱼ·dⱼ of an affine family (no gradients), with one
    /// allreduce of 3 numbers per point; the model may share work between the points.
    public func evaluate(origin: [Double], directions: [[Double]], coefficients: [[Double]]) throws -> [Evaluation] {
        let statistics = model.evaluate(origin: origin, directions: directions, coefficients: coefficients, on: dataset.samples)
        var buffer = statistics.flatMap { [$0.lossSum, Double($0.correct), Double($0.count)] }
        try communicator.allreduce(&buffer, .sum)
        return (0..<coefficients.count).map { p in
            let n = max(buffer[3 * p + 2], 1)
            return Evaluation(loss: buffer[3 * p] / n, accuracy: dataset.isClassification ? buffer[3 * p + 1] / n : nil,
                              gradient: nil, gradientNorm: nil, samples: Int(n))
        }
    }

    private func reduce(_ parameters: [Double], on batch: SampleBatch, gradient wantGradient: Bool) throws -> Evaluation {
        let m = model.parameterCount
        var buffer = [Double](repeating: 0, count: (wantGradient ? m : 0) + 3)
        let statistics: LossStatistics
        if wantGradient {
            var gradient = [Double](repeating: 0, count: m)
            statistics = model.gradient(parameters, on: batch, accumulatingInto: &gradient)
            buffer.replaceSubrange(0..<m, with: gradient)
        } else {
            statistics = model.evaluate(parameters, on: batch)
        }
        let tail = buffer.count - 3
        buffer[tail] = statistics.lossSum
        buffer[tail + 1] = Double(statistics.correct)
        buffer[tail + 2] = Double(statistics.count)
        try communicator.allreduce(&buffer, .sum)
        let n = max(buffer[tail + 2], 1)
        var gradient: [Double]? = nil, norm: Double? = nil
        if wantGradient {
            let g = buffer[0..<m].map { $0 / n }
            norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
            gradient = g
        }
        return Evaluation(loss: buffer[tail] / n,
                          accuracy: dataset.isClassification ? buffer[tail + 1] / n : nil,
                          gradient: gradient, gradientNorm: norm, samples: Int(n))
    }
}

/// The loss (and derivatives) at one point, already reduced over all ranks.
public struct Evaluation: Sendable {
    public var loss: Double
    /// The fraction of samples classified correctly; nil for regression data.
    public var accuracy: Double?
    /// ∇L (mean over the samples), when computed.
    public var gradient: [Double]?
    /// ‖∇L‖₂, when computed.
    public var gradientNorm: Double?
    public var samples: Int
}

extension Evaluation {
    /// The same evaluation of the energy L + λ‖θ‖²/2 (the L2 term, the energy-landscape codes'
    /// convention: `train.weight-decay`, `critical.l2`): loss + λ‖θ‖²/2, gradient ∇L + λθ and its
    /// norm; the accuracy and sample count are the data's. λ = 0 returns it unchanged, bit for bit.
    public func addingL2(_ λ: Double, at θ: [Double]) -> Evaluation {
        guard λ != 0 else { return self }
        var e = self
        e.loss += 0.5 * λ * θ.reduce(0) { $0 + $1 * $1 }
        if var g = gradient {
            for i in g.indices { g[i] += λ * θ[i] }
            e.gradientNorm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
            e.gradient = g
        }
        return e
    }
}

extension DataParallelObjective {
    /// The class means of the output gradients, (1/N_c) Σ_{i: yᵢ = c} ∇_θ f_{c′}(θ, xᵢ) for every
    /// class c and output c′: M × (C·k) column-major, column c·k + c′ — the vectors whose span the
    /// explanation of the Hessian's outliers by class structure puts them in (Papyan; Sagun et al.).
    /// Collective: each rank's samples of class c through one transposed-Jacobian product with the
    /// k unit cotangents, one allreduce. nil for data without class labels.
    public func classMeanOutputGradients(_ θ: [Double]) throws -> [Double]? {
        guard let classes = dataset.classes, let labels = dataset.localLabels else { return nil }
        let m = model.parameterCount, k = model.outputDimension
        var means = [Double](repeating: 0, count: m * classes * k)
        var counts = [Double](repeating: 0, count: classes)
        for c in 0..<classes {
            let members = labels.indices.filter { labels[$0] == c }
            counts[c] = Double(members.count)
            guard !members.isEmpty else { continue }
            var unit = [Double](repeating: 0, count: members.count * k * k)
            for i in 0..<members.count { for j in 0..<k { unit[(i * k + j) * k + j] = 1 } }
            let sums = model.transposedJacobianProduct(θ, on: dataset.samples.rows(members), cotangents: unit, count: k)
            means.replaceSubrange((c * k * m)..<((c + 1) * k * m), with: sums)
        }
        try communicator.allreduce(&means, .sum)
        try communicator.allreduce(&counts, .sum)
        for c in 0..<classes where counts[c] > 0 {
            let scale = 1 / counts[c]
            for i in (c * k * m)..<((c + 1) * k * m) { means[i] *= scale }
        }
        return means
    }
}
