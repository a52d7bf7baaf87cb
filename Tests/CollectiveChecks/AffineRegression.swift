import Networks
import Samples

/// The second `Model`, written independently of the MLP to prove the seam: an affine map
/// f(θ, x) = W x + b with θ = (b, W) — the bias *first*, W ∈ R^{k×d} row-major after it, so any job
/// that assumed the MLP's (W, b) order or its `ParameterLayout` would go wrong — in plain loops,
/// no BLAS, no tiles.
///
/// f is linear in θ, so ∇²_θ f = 0 and H = G = Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ exactly (R = 0). With the MSE loss
/// ℓ = ½(1/k)‖f − y‖², H = (1/(N·k)) Σᵢ x̃ᵢx̃ᵢᵀ ⊗ I_k with x̃ = (1, x): a constant matrix whose
/// spectrum, minimiser and loss along any line are closed forms (`SeamChecks`).
struct AffineRegression: Model {
    let inputDimension: Int
    let outputDimension: Int
    let loss: Loss

    var parameterCount: Int { outputDimension * (inputDimension + 1) }
    var parameterBlocks: [ParameterBlock] {
        [ParameterBlock(name: "affine.bias", layer: 1, role: .bias, shape: [outputDimension], offset: 0),
         ParameterBlock(name: "affine.weight", layer: 1, role: .weight, shape: [outputDimension, inputDimension],
                        offset: outputDimension)]
    }
    var summary: String { "affine regression \(inputDimension) → \(outputDimension), \(loss.rawValue)" }

    func flopsPerSample(_ operation: ModelOperation, directions: Int) -> Double {
        let dk = Double(inputDimension * outputDimension)
        switch operation {
        case .loss: return 2 * dk
        case .gradient: return 4 * dk
        case .hvp, .ggn: return 2 * dk + Double(directions) * 4 * dk
        }
    }
    var workingBytes: Int { 8 * 4 * outputDimension }

    private var d: Int { inputDimension }
    private var k: Int { outputDimension }

    /// f(θ, xᵢ) for sample i of the batch.
    private func output(_ θ: [Double], _ batch: SampleBatch, _ i: Int) -> [Double] {
        (0..<k).map { c in
            var s = θ[c]
            for j in 0..<d { s += θ[k + c * d + j] * batch.inputs[i * d + j] }
            return s
        }
    }

    /// Jᵢ v = V_W xᵢ + v_b for v = (v_b, v_W): the output's change along v.
    private func tangent(_ v: ArraySlice<Double>, _ batch: SampleBatch, _ i: Int) -> [Double] {
        let o = v.startIndex
        return (0..<k).map { c in
            var s = v[o + c]
            for j in 0..<d { s += v[o + k + c * d + j] * batch.inputs[i * d + j] }
            return s
        }
    }

    /// Adds Jᵢᵀ u (u ∈ Rᵏ) into `into[offset ..< offset + M]`.
    private func addTransposedJacobian(_ u: [Double], _ batch: SampleBatch, _ i: Int, into: inout [Double], offset: Int) {
        for c in 0..<k {
            into[offset + c] += u[c]
            for j in 0..<d { into[offset + k + c * d + j] += u[c] * batch.inputs[i * d + j] }
        }
    }

    /// ℓᵢ and ∇_f ℓᵢ, and the probabilities ∇²_f ℓ needs (cross-entropy).
    private func lossAt(_ f: [Double], _ batch: SampleBatch, _ i: Int) -> (Double, [Double], [Double]) {
        var g = [Double](repeating: 0, count: k), p = [Double](repeating: 0, count: k)
        let y = Array(batch.targets[(i * k)..<((i + 1) * k)])
        let value = f.withUnsafeBufferPointer { fp in y.withUnsafeBufferPointer { yp in
            g.withUnsafeMutableBufferPointer { gp in p.withUnsafeMutableBufferPointer { pp in
                loss.evaluate(output: fp.baseAddress!, target: yp.baseAddress!, k: k, gradient: gp.baseAddress!, probabilities: pp.baseAddress!)
            } }
        } }
        return (value, g, p)
    }

    private func isCorrect(_ f: [Double], _ batch: SampleBatch, _ i: Int) -> Bool {
        let y = Array(batch.targets[(i * k)..<((i + 1) * k)])
        return f.indices.max { f[$0] < f[$1] } == y.indices.max { y[$0] < y[$1] }
    }

    func evaluate(_ parameters: [Double], on batch: SampleBatch) -> LossStatistics {
        var total = LossStatistics()
        for i in 0..<batch.count {
            let f = output(parameters, batch, i)
            total = total + LossStatistics(lossSum: lossAt(f, batch, i).0, correct: isCorrect(f, batch, i) ? 1 : 0, count: 1)
        }
        return total
    }

    func outputs(_ parameters: [Double], on batch: SampleBatch) -> [Double] {
        (0..<batch.count).flatMap { output(parameters, batch, $0) }
    }

    func gradient(_ parameters: [Double], on batch: SampleBatch, accumulatingInto gradient: inout [Double]) -> LossStatistics {
        var total = LossStatistics()
        for i in 0..<batch.count {
            let f = output(parameters, batch, i)
            let (value, g, _) = lossAt(f, batch, i)
            addTransposedJacobian(g, batch, i, into: &gradient, offset: 0)
            total = total + LossStatistics(lossSum: value, correct: isCorrect(f, batch, i) ? 1 : 0, count: 1)
        }
        return total
    }

    /// Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ V: both H·V and G·V (they are equal for a model linear in θ).
    private func curvature(_ parameters: [Double], _ batch: SampleBatch, _ directions: [Double], _ count: Int) -> [Double] {
        let m = parameterCount
        precondition(directions.count == m * count, "directions must be M × B")
        var result = [Double](repeating: 0, count: m * count)
        for i in 0..<batch.count {
            let (_, _, p) = lossAt(output(parameters, batch, i), batch, i)
            let y = Array(batch.targets[(i * k)..<((i + 1) * k)])
            for j in 0..<count {
                let r = tangent(directions[(j * m)..<((j + 1) * m)], batch, i)
                var u = [Double](repeating: 0, count: k)
                r.withUnsafeBufferPointer { rp in p.withUnsafeBufferPointer { pp in y.withUnsafeBufferPointer { yp in
                    u.withUnsafeMutableBufferPointer { up in
                        loss.curvatureProduct(rp.baseAddress!, probabilities: pp.baseAddress!, target: yp.baseAddress!, k: k, into: up.baseAddress!)
                    }
                } } }
                addTransposedJacobian(u, batch, i, into: &result, offset: j * m)
            }
        }
        return result
    }

    func hessianVectorProduct(_ parameters: [Double], on batch: SampleBatch, directions: [Double], count: Int) -> [Double] {
        curvature(parameters, batch, directions, count)
    }

    func gaussNewtonVectorProduct(_ parameters: [Double], on batch: SampleBatch, directions: [Double], count: Int) -> [Double] {
        curvature(parameters, batch, directions, count)
    }

    func jacobianVectorProduct(_ parameters: [Double], on batch: SampleBatch, directions: [Double], count: Int) -> [Double] {
        let m = parameterCount
        var rows: [Double] = []
        for i in 0..<batch.count {
            for j in 0..<count { rows += tangent(directions[(j * m)..<((j + 1) * m)], batch, i) }
        }
        return rows
    }

    func transposedJacobianProduct(_ parameters: [Double], on batch: SampleBatch, cotangents: [Double], count: Int) -> [Double] {
        let m = parameterCount
        var result = [Double](repeating: 0, count: m * count)
        for i in 0..<batch.count {
            for j in 0..<count {
                let u = Array(cotangents[((i * count + j) * k)..<((i * count + j + 1) * k)])
                addTransposedJacobian(u, batch, i, into: &result, offset: j * m)
            }
        }
        return result
    }
}
