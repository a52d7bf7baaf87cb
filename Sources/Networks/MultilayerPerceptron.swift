import CBLAS
import Samples
/// A fully connected network: z_l = W_l a_{l−1} + b_l, a_l = σ(z_l) for the hidden layers
/// l = 1…L−1, f = z_L (no activation on the output; the loss applies softmax if any). Without
/// biases (`layout.biases == false`) z_l = W_l a_{l−1}: every b_l term below drops out, decided
/// once per layer, never per element.
///
/// Every method works on a block of samples at once (one `dgemm` per layer and per pass) and
/// returns **sums over the samples**, not means: data-parallel callers add the sums of all ranks
/// with one allreduce and divide by the global N, so L(w) = (1/N) Σᵢ ℓ(f(w, xᵢ), yᵢ) and its
/// derivatives come out the same for any number of ranks. Large blocks are processed in tiles of
/// samples so that the working memory stays bounded.
public struct MultilayerPerceptron: Model {
    public let layout: ParameterLayout
    public let activation: Activation
    public let loss: Loss
    /// The number of doubles a tile's per-direction work buffers may hold (bounds the tile size).
    /// 2¹⁹ doubles (4 MiB) keeps a tile's R-pass buffers near the caches: measured fastest for
    /// batched HVPs of the 100-30-30-10 net (2¹⁷ and 2²¹ were 1.5–1.8× slower).
    public var tileBudget = 1 << 19

    public init(layout: ParameterLayout, activation: Activation, loss: Loss) {
        self.layout = layout
        self.activation = activation
        self.loss = loss
    }

    /// Widths [d, hidden…, k] → the network (with a bias in every layer unless `biases` is false).
    public init(widths: [Int], biases: Bool = true, activation: Activation, loss: Loss) {
        self.init(layout: ParameterLayout(widths: widths, biases: biases), activation: activation, loss: loss)
    }

    public var parameterCount: Int { layout.count }
    public var parameterBlocks: [ParameterBlock] { layout.blocks }
    public var inputDimension: Int { layout.inputDimension }
    public var outputDimension: Int { layout.outputDimension }
    public var summary: String {
        "MLP \(layout.widths.map(String.init).joined(separator: "-")), \(activation.rawValue), \(loss.rawValue)" + (layout.biases ? "" : ", no bias")
    }

    /// GEMM flops per sample: the 2·m·n·k of every `dgemm` a pass issues; element-wise work
    /// (activations, softmax, the loss Hessian's products, bias sums) is not counted, so rates
    /// compare with `dgemm`'s. With u_l = n_{l−1}·n_l (the size of W_l) and Σ' the sum over l ≥ 2:
    /// - loss: forward z_l = a_{l−1} W_lᵀ, 2 Σ u_l;
    /// - gradient: forward, backward e_{l−1} = δ_l W_l (2 Σ' u_l) and ∇W_l = Δ_lᵀ A_{l−1} (2 Σ u_l):
    ///   4 Σ u_l + 2 Σ' u_l;
    /// - HVP over B directions: the forward and backward pass once (2 Σ u_l + 2 Σ' u_l), then per
    ///   direction the R-passes: a_{l−1} V_lᵀ and R a_{l−1} W_lᵀ, R δ_lᵀ A_{l−1} and δ_lᵀ R A_{l−1},
    ///   R δ_l W_l and δ_l V_l — 4 u₁ + 12 Σ' u_l;
    /// - GGN over B directions: the same without the δ terms — 4 u₁ + 8 Σ' u_l per direction.
    public func flopsPerSample(_ operation: ModelOperation, directions b: Int) -> Double {
        let widths = layout.widths
        return operation.gemmFlops(layerProducts: (1..<widths.count).map { Double(widths[$0 - 1] * widths[$0]) }, directions: b)
    }

    public var flopCountDescription: String {
        "2mnk per dgemm issued (forward, backprop, R-passes); element-wise work and the allreduce not counted; u_l = n_{l-1} n_l, S = sum u_l, S' = sum over l >= 2: loss 2S, gradient 4S + 2S', HVP 2S + 2S' + B(4u_1 + 12S'), GGN 2S + 2S' + B(4u_1 + 8S') per sample"
    }

    /// A tile holds ≤ `tileBudget` doubles per layer quantity, a few (six) per layer.
    public var workingBytes: Int { 8 * tileBudget * 6 * layout.layerCount }

    /// Σᵢ ℓᵢ and the number of correct argmax predictions over the batch.
    public func evaluate(_ parameters: [Double], on batch: SampleBatch) -> LossStatistics {
        check(parameters, batch)
        var total = LossStatistics()
        forEachTile(parameters, batch, directions: 1) { pass in
            pass.forward(keepDerivatives: false)
            total = total + pass.statistics
        }
        return total
    }

    /// The loss at every point θ₀ + Σⱼ cⱼ·dⱼ of an affine family, sharing the first layer: z₁ =
    /// X W₁ᵀ + 1 b₁ᵀ is linear in (W₁, b₁), so z₁(θ) = z₁(θ₀) + Σⱼ cⱼ·z₁(dⱼ) (with z₁(dⱼ) the same
    /// product with dⱼ's first-layer block, bias included if the network has one). Per tile that is r + 1 products of
    /// n × d × n₁ for all the points, and per point an axpy of n × n₁ instead of a product —
    /// the first layer is most of the work when d is large (784-100-100-10: 88 % of the flops).
    /// The other layers run per point as in `evaluate`. Equal to it up to rounding.
    public func evaluate(origin: [Double], directions: [[Double]], coefficients: [[Double]], on batch: SampleBatch) -> [LossStatistics] {
        check(origin, batch)
        precondition(directions.allSatisfy { $0.count == layout.count } && coefficients.allSatisfy { $0.count == directions.count })
        let points = coefficients.map { AffineFamily.point(origin, directions, $0) }
        var totals = [LossStatistics](repeating: LossStatistics(), count: points.count)
        guard !points.isEmpty else { return totals }
        let n1 = layout.widths[1], d = layout.inputDimension
        let family = [origin] + directions
        forEachTile(origin, batch, directions: 1) { tile in
            // z₁ of θ₀ and of every direction for this tile's samples.
            let products: [[Double]] = family.map { vector in
                vector.withUnsafeBufferPointer { v in
                    var z = [Double](repeating: 0, count: tile.n * n1)
                    let w = v.baseAddress! + layout.weightOffset(1)
                    z.withUnsafeMutableBufferPointer { out in
                        if let b = layout.biasOffset(1) {
                            for i in 0..<tile.n { (out.baseAddress! + i * n1).update(from: v.baseAddress! + b, count: n1) }
                        }
                        // Without a bias z starts at 0 (the array's zeros), so β = 1 serves both.
                        gemm(transposeB: true, m: tile.n, n: n1, k: d, tile.x, lda: d, w, ldb: d, beta: 1, out.baseAddress!, ldc: n1)
                    }
                    return z
                }
            }
            for (p, θ) in points.enumerated() {
                θ.withUnsafeBufferPointer { theta in
                    let pass = TilePass(network: self, parameters: theta.baseAddress!, inputs: tile.x, targets: tile.y, count: tile.n)
                    // z₁ = z₁(θ₀) + Σⱼ cⱼ·z₁(dⱼ), combined straight into the pass's own buffer.
                    pass.forward(keepDerivatives: false) { z in
                        let count = tile.n * n1
                        products[0].withUnsafeBufferPointer { z.update(from: $0.baseAddress!, count: count) }
                        for (j, c) in coefficients[p].enumerated() {
                            products[j + 1].withUnsafeBufferPointer { cblas_daxpy(Int32(count), c, $0.baseAddress!, 1, z, 1) }
                        }
                    }
                    totals[p] = totals[p] + pass.statistics
                }
            }
        }
        return totals
    }

    /// The outputs f(w, xᵢ) = z_L (logits for cross-entropy), one row of k per sample.
    public func outputs(_ parameters: [Double], on batch: SampleBatch) -> [Double] {
        check(parameters, batch)
        var result: [Double] = []
        result.reserveCapacity(batch.count * layout.outputDimension)
        forEachTile(parameters, batch, directions: 1) { pass in
            pass.forward(keepDerivatives: false)
            result.append(contentsOf: UnsafeBufferPointer(start: pass.z[pass.depth].pointer, count: pass.n * layout.outputDimension))
        }
        return result
    }

    /// Σᵢ ∇_w ℓᵢ by backpropagation, added into `gradient` (length M), and the loss sums.
    ///
    /// δ_L = ∇_f ℓ, e_{l−1} = W_lᵀ δ_l, δ_{l−1} = σ′(z_{l−1}) ⊙ e_{l−1};
    /// ∂ℓ/∂W_l = δ_l a_{l−1}ᵀ, ∂ℓ/∂b_l = δ_l — batched: ∇W_l += Δ_lᵀ A_{l−1} (one dgemm).
    public func gradient(_ parameters: [Double], on batch: SampleBatch,
                         accumulatingInto gradient: inout [Double]) -> LossStatistics {
        check(parameters, batch)
        precondition(gradient.count == layout.count)
        var total = LossStatistics()
        gradient.withUnsafeMutableBufferPointer { g in
            forEachTile(parameters, batch, directions: 1) { pass in
                pass.forward(keepDerivatives: true)
                pass.backward()
                pass.accumulateGradient(into: g.baseAddress!)
                total = total + pass.statistics
            }
        }
        return total
    }

    /// Σᵢ ∇²ℓᵢ · V for B directions at once (exact; Pearlmutter's R-operator, forward over reverse).
    ///
    /// `directions` is M × B column-major: direction j is `directions[j·M ..< (j+1)·M]`, and the
    /// result has the same shape. With R{·} = d/dr (·)(w + r v) at r = 0:
    /// forward  R z_l = W_l R a_{l−1} + V_l a_{l−1} + v_{b_l},  R a_l = σ′(z_l) ⊙ R z_l  (R a₀ = 0);
    /// backward R δ_L = ∇²_f ℓ · R z_L,
    ///          R e_{l−1} = W_lᵀ R δ_l + V_lᵀ δ_l,
    ///          R δ_{l−1} = σ′(z_{l−1}) ⊙ R e_{l−1} + σ″(z_{l−1}) ⊙ e_{l−1} ⊙ R z_{l−1};
    /// (Hv)_{W_l} = R δ_l a_{l−1}ᵀ + δ_l (R a_{l−1})ᵀ,  (Hv)_{b_l} = R δ_l
    /// (without biases neither v_{b_l} nor (Hv)_{b_l} exists).
    /// All B directions ride in the sample dimension of the same dgemms (rows = (sample, direction)).
    public func hessianVectorProduct(_ parameters: [Double], on batch: SampleBatch,
                                     directions: [Double], count: Int) -> [Double] {
        curvatureProduct(parameters, batch, directions, count, residual: true)
    }

    /// Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ · V for B directions (the generalised Gauss–Newton matrix G times V), where
    /// Jᵢ = ∂f(w, xᵢ)/∂w. The same passes as `hessianVectorProduct` without the terms that carry δ
    /// or σ″: the forward pass is J v, the backward pass is Jᵀ applied to ∇²_f ℓ · J v.
    public func gaussNewtonVectorProduct(_ parameters: [Double], on batch: SampleBatch,
                                         directions: [Double], count: Int) -> [Double] {
        curvatureProduct(parameters, batch, directions, count, residual: false)
    }

    /// Jᵢ vⱼ for every sample and direction (n × B × k, row (i, j)): the forward R-pass alone,
    /// R z_l = W_l R a_{l−1} + V_l a_{l−1} + v_{b_l}, R a_l = σ′(z_l) ⊙ R z_l, read at l = L.
    public func jacobianVectorProduct(_ parameters: [Double], on batch: SampleBatch,
                                      directions: [Double], count: Int) -> [Double] {
        check(parameters, batch)
        precondition(count >= 1 && directions.count == layout.count * count, "directions must be M × B")
        var result: [Double] = []
        result.reserveCapacity(batch.count * count * layout.outputDimension)
        directions.withUnsafeBufferPointer { v in
            let packing = DirectionPacking(v.baseAddress!, count: count, layout: layout, residual: false)
            forEachTile(parameters, batch, directions: count) { pass in
                pass.forward(keepDerivatives: true)
                let rz = pass.tangentForward(v.baseAddress!, packing).rz[pass.depth]
                result.append(contentsOf: UnsafeBufferPointer(start: rz.pointer, count: rz.count))
            }
        }
        return result
    }

    /// Σᵢ Jᵢᵀ uᵢⱼ for B cotangents per sample (`cotangents` n × B × k, row (i, j)); M × B result.
    /// Backpropagation seeded with δ_L = uᵢⱼ instead of ∇_f ℓ, one backward pass per direction.
    public func transposedJacobianProduct(_ parameters: [Double], on batch: SampleBatch,
                                          cotangents: [Double], count: Int) -> [Double] {
        check(parameters, batch)
        let k = layout.outputDimension, M = layout.count
        precondition(count >= 1 && cotangents.count == batch.count * count * k, "cotangents must be n × B × k")
        var result = [Double](repeating: 0, count: M * count)
        var row = 0
        result.withUnsafeMutableBufferPointer { out in
            cotangents.withUnsafeBufferPointer { u in
                forEachTile(parameters, batch, directions: 1) { pass in
                    pass.forward(keepDerivatives: true)
                    let seed = Buffer(pass.n * k)
                    for j in 0..<count {
                        gatherDirection(u.baseAddress!, firstRow: row, rows: pass.n, direction: j, directions: count, outputs: k, into: seed.pointer)
                        pass.accumulateTransposedJacobian(seed.pointer, into: out.baseAddress! + j * M)
                    }
                    row += pass.n
                }
            }
        }
        return result
    }

    private func curvatureProduct(_ parameters: [Double], _ batch: SampleBatch, _ directions: [Double],
                                  _ count: Int, residual: Bool) -> [Double] {
        check(parameters, batch)
        precondition(count >= 1 && directions.count == layout.count * count, "directions must be M × B")
        var result = [Double](repeating: 0, count: layout.count * count)
        result.withUnsafeMutableBufferPointer { out in
            directions.withUnsafeBufferPointer { v in
                let packing = DirectionPacking(v.baseAddress!, count: count, layout: layout, residual: residual)
                forEachTile(parameters, batch, directions: count) { pass in
                    pass.forward(keepDerivatives: true)
                    pass.backward()
                    pass.accumulateCurvatureProduct(v.baseAddress!, packing, residual: residual, into: out.baseAddress!)
                }
            }
        }
        return result
    }

    /// The per-sample first-order quantities of the whole batch in one pass (no tiling), for the
    /// exact assembly: a_l (a₀ = x), σ′(z_l), σ″(z_l), e_l = ∂ℓ/∂a_l, δ_l = ∂ℓ/∂z_l, p = softmax(z_L)
    /// — the same forward and backward pass as every other product of this type.
    package func sampleQuantities(_ parameters: [Double], on batch: SampleBatch) -> SampleQuantities {
        check(parameters, batch)
        return parameters.withUnsafeBufferPointer { theta in
            batch.inputs.withUnsafeBufferPointer { x in
                batch.targets.withUnsafeBufferPointer { y in
                    let pass = TilePass(network: self, parameters: theta.baseAddress!, inputs: x.baseAddress!,
                                        targets: y.baseAddress!, count: batch.count)
                    pass.forward(keepDerivatives: true)
                    pass.backward()
                    func array(_ b: Buffer) -> [Double] { Array(UnsafeBufferPointer(start: b.pointer, count: b.count)) }
                    let L = layout.layerCount
                    var q = SampleQuantities(activations: [batch.inputs], slopes: [[]], curvatures: [[]],
                                             backpropagated: Array(repeating: [], count: L + 1),
                                             deltas: pass.delta.map(array), probabilities: array(pass.probabilities))
                    for l in 1..<L {
                        q.activations.append(array(pass.a[l]))
                        q.slopes.append(array(pass.d1[l]))
                        q.curvatures.append(array(pass.d2[l]))
                        q.backpropagated[l] = array(pass.e[l])
                    }
                    return q
                }
            }
        }
    }

    private func check(_ parameters: [Double], _ batch: SampleBatch) {
        precondition(parameters.count == layout.count, "parameter vector has \(parameters.count) entries, the model needs \(layout.count)")
        precondition(batch.inputDimension == layout.inputDimension && batch.targetDimension == layout.outputDimension,
                     "batch shape does not match the network")
    }

    /// Samples per tile for B directions: at most `tileBudget / (B · widest layer)`, at least 1.
    func tileSize(samples: Int, directions: Int) -> Int {
        max(1, min(samples, tileBudget / (directions * layout.widths.dropFirst().max()!)))
    }

    /// Calls `body` with a pass over each tile of at most `tileBudget / (B · widest layer)` samples
    /// (the input width does not count: no buffer of the R passes is n × B × d).
    private func forEachTile(_ parameters: [Double], _ batch: SampleBatch, directions: Int, _ body: (TilePass) -> Void) {
        guard batch.count > 0 else { return }
        let tile = tileSize(samples: batch.count, directions: directions)
        let d = layout.inputDimension, k = layout.outputDimension
        parameters.withUnsafeBufferPointer { theta in
            batch.inputs.withUnsafeBufferPointer { x in
                batch.targets.withUnsafeBufferPointer { y in
                    var start = 0
                    while start < batch.count {
                        let n = min(tile, batch.count - start)
                        body(TilePass(network: self, parameters: theta.baseAddress!,
                                      inputs: x.baseAddress! + start * d, targets: y.baseAddress! + start * k, count: n))
                        start += n
                    }
                }
            }
        }
    }
}

/// Per-sample quantities of a batch, row-major with one row per sample, indexed by layer
/// l = 0…L (entries that do not exist for a layer are empty): `activations[l]` = a_l (a₀ = x),
/// `slopes[l]` = σ′(z_l), `curvatures[l]` = σ″(z_l), `backpropagated[l]` = e_l (l = 1…L−1),
/// `deltas[l]` = δ_l (l = 1…L), `probabilities` = softmax(z_L) (cross-entropy only).
package struct SampleQuantities {
    package var activations: [[Double]]
    package var slopes: [[Double]]
    package var curvatures: [[Double]]
    package var backpropagated: [[Double]]
    package var deltas: [[Double]]
    package var probabilities: [Double]
}
