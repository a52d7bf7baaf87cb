import Samples
/// One tile of n samples going through the network: the forward pass (z_l, a_l, σ′, σ″), the
/// loss head (ℓ, ∇_f ℓ, softmax p), backpropagation (δ_l, e_l) and the R-operator passes.
///
/// Storage is row-major with one row per sample: z_l, a_l, δ_l, e_l are n × n_l. In the R passes
/// a row holds all B directions of one sample: R z_l is n × (B·n_l) with column j·n_l + p, which is
/// the same memory as an (n·B) × n_l matrix — so products with W_l are one dgemm for every
/// direction at once.
final class TilePass {
    let network: MultilayerPerceptron
    let theta: UnsafePointer<Double>
    let x: UnsafePointer<Double>
    let y: UnsafePointer<Double>
    let n: Int
    let widths: [Int]
    let depth: Int

    /// Index l = 1…L (entry 0 unused): pre-activations z_l.
    var z: [Buffer] = []
    /// Index l = 1…L−1: a_l = σ(z_l), σ′(z_l), σ″(z_l).
    var a: [Buffer] = []
    var d1: [Buffer] = []
    var d2: [Buffer] = []
    /// Index l = 1…L: δ_l = ∂ℓ/∂z_l; index l = 1…L−1: e_l = ∂ℓ/∂a_l.
    var delta: [Buffer] = []
    var e: [Buffer] = []
    /// softmax(z_L) for cross-entropy (n × k).
    var probabilities: Buffer
    var statistics = LossStatistics()

    init(network: MultilayerPerceptron, parameters: UnsafePointer<Double>, inputs: UnsafePointer<Double>,
         targets: UnsafePointer<Double>, count: Int) {
        self.network = network
        theta = parameters
        x = inputs
        y = targets
        n = count
        widths = network.layout.widths
        depth = network.layout.layerCount
        probabilities = Buffer(count * widths[depth])
    }

    /// a_{l}: the input for l = 0, the hidden activations otherwise.
    @inline(__always) func input(_ l: Int) -> UnsafePointer<Double> { l == 0 ? x : UnsafePointer(a[l].pointer) }
    @inline(__always) func weights(_ l: Int) -> UnsafePointer<Double> { theta + network.layout.weightOffset(l) }

    /// z_l = a_{l−1} W_lᵀ + 1 b_lᵀ (one dgemm per layer; without biases z_l = a_{l−1} W_lᵀ),
    /// a_l = σ(z_l); then the loss head.
    /// `firstLayer`, when given, writes z₁ (n × n₁) into the buffer it is handed: the pass starts from it.
    func forward(keepDerivatives: Bool, firstLayer: ((UnsafeMutablePointer<Double>) -> Void)? = nil) {
        let activation = network.activation
        z = [Buffer(0)]; a = [Buffer(0)]; d1 = [Buffer(0)]; d2 = [Buffer(0)]
        for l in 1...depth {
            let nin = widths[l - 1], nout = widths[l]
            let zl = Buffer(n * nout, zeroed: false)   // written whole below
            if l == 1, let firstLayer {
                firstLayer(zl.pointer)
            } else {
                // With a bias z_l starts as its rows and the product is added (β = 1); without,
                // β = 0 writes the product over the unwritten buffer (BLAS reads no C when β = 0).
                var beta = 0.0
                if let b = network.layout.biasOffset(l) {
                    for i in 0..<n { (zl.pointer + i * nout).update(from: theta + b, count: nout) }
                    beta = 1
                }
                gemm(transposeB: true, m: n, n: nout, k: nin, input(l - 1), lda: nin, weights(l), ldb: nin,
                     beta: beta, zl.pointer, ldc: nout)
            }
            z.append(zl)
            guard l < depth else { break }
            let al = Buffer(n * nout, zeroed: false)   // written whole below
            if keepDerivatives {
                let first = Buffer(n * nout, zeroed: false), second = Buffer(n * nout, zeroed: false)
                for t in 0..<(n * nout) {
                    let (v, s1, s2) = activation.derivatives(zl.pointer[t])
                    al.pointer[t] = v; first.pointer[t] = s1; second.pointer[t] = s2
                }
                d1.append(first); d2.append(second)
            } else {
                for t in 0..<(n * nout) { al.pointer[t] = activation.value(zl.pointer[t]) }
            }
            a.append(al)
        }
        lossHead()
    }

    /// ℓᵢ, δ_L = ∇_f ℓᵢ, pᵢ and argmax agreement for every sample.
    private func lossHead() {
        let k = widths[depth]
        let g = Buffer(n * k)
        statistics = network.loss.head(outputs: z[depth].pointer, targets: y, count: n, outputs: k, gradient: g.pointer,
                                       probabilities: probabilities.pointer)
        delta = [Buffer](repeating: Buffer(0), count: depth + 1)
        delta[depth] = g
    }

    /// δ_{l−1} = σ′(z_{l−1}) ⊙ (δ_l W_l), keeping e_{l−1} = δ_l W_l for the σ″ term.
    func backward() {
        e = [Buffer](repeating: Buffer(0), count: depth)
        for l in stride(from: depth, to: 1, by: -1) {
            let nin = widths[l - 1], nout = widths[l]
            let el = Buffer(n * nin), dl = Buffer(n * nin)
            gemm(m: n, n: nin, k: nout, delta[l].pointer, lda: nout, weights(l), ldb: nin, beta: 0, el.pointer, ldc: nin)
            for t in 0..<(n * nin) { dl.pointer[t] = d1[l - 1].pointer[t] * el.pointer[t] }
            e[l - 1] = el
            delta[l - 1] = dl
        }
    }

    /// ∇W_l += Δ_lᵀ A_{l−1}, ∇b_l += Σᵢ δ_{l,i} (if the layer has a bias).
    func accumulateGradient(into g: UnsafeMutablePointer<Double>) {
        let layout = network.layout
        for l in 1...depth {
            let nin = widths[l - 1], nout = widths[l]
            gemm(transposeA: true, m: nout, n: nin, k: n, delta[l].pointer, lda: nout, input(l - 1), ldb: nin,
                 beta: 1, g + layout.weightOffset(l), ldc: nin)
            guard let b = layout.biasOffset(l) else { continue }
            let gb = g + b, dl = delta[l].pointer
            for i in 0..<n { for p in 0..<nout { gb[p] += dl[i * nout + p] } }
        }
    }

    /// The forward R-pass: R z_l = J_{z_l} v and R a_l for every direction of `packing` (entry 0
    /// unused). R z_L is the output Jacobian product Jᵢ v of each sample; the curvature products
    /// continue from here backwards.
    func tangentForward(_ v: UnsafePointer<Double>, _ packing: DirectionPacking) -> (rz: [Buffer], ra: [Buffer]) {
        let B = packing.count
        let layout = network.layout, M = layout.count
        var rz = [Buffer(0)], ra = [Buffer(0)]
        for l in 1...depth {
            let nin = widths[l - 1], nout = widths[l]
            let packed = packing.stacked[l]
            let rzl = Buffer(n * B * nout)
            // R z_l ← 1 ⊗ v_b (each sample row gets every direction's bias part; 0 without biases) …
            if let boff = layout.biasOffset(l) {
                for i in 0..<n { for j in 0..<B { (rzl.pointer + (i * B + j) * nout).update(from: v + j * M + boff, count: nout) } }
            }
            // … + a_{l−1} V_lᵀ (n × B·nout) …
            gemm(transposeB: true, m: n, n: B * nout, k: nin, input(l - 1), lda: nin, packed.pointer, ldb: nin,
                 beta: 1, rzl.pointer, ldc: B * nout)
            // … + R a_{l−1} W_lᵀ ((n·B) × nout).
            if l > 1 {
                gemm(transposeB: true, m: n * B, n: nout, k: nin, ra[l - 1].pointer, lda: nin, weights(l), ldb: nin,
                     beta: 1, rzl.pointer, ldc: nout)
            }
            rz.append(rzl)
            if l < depth {
                let ral = Buffer(n * B * nout), s1 = d1[l].pointer
                for i in 0..<n { for j in 0..<B { for p in 0..<nout {
                    let t = (i * B + j) * nout + p
                    ral.pointer[t] = s1[i * nout + p] * rzl.pointer[t]
                } } }
                ra.append(ral)
            }
        }
        return (rz, ra)
    }

    /// Σᵢ Jᵢᵀ uᵢ added into `g` for cotangents u (n × k rows): backpropagation from δ_L = u.
    /// Needs `forward(keepDerivatives: true)` first; leaves δ and e describing u.
    func accumulateTransposedJacobian(_ u: UnsafePointer<Double>, into g: UnsafeMutablePointer<Double>) {
        let k = widths[depth]
        let seed = Buffer(n * k)
        seed.pointer.update(from: u, count: n * k)
        delta[depth] = seed
        backward()
        accumulateGradient(into: g)
    }

    /// out[:, j] += Σᵢ ∇²ℓᵢ v_j (residual) or Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ v_j (Gauss–Newton), j < B.
    /// See `MultilayerPerceptron.hessianVectorProduct` for the recursions.
    func accumulateCurvatureProduct(_ v: UnsafePointer<Double>, _ packing: DirectionPacking, residual: Bool,
                                    into out: UnsafeMutablePointer<Double>) {
        let B = packing.count
        let layout = network.layout, M = layout.count, k = widths[depth]
        let sigmaSecondMatters = residual && network.activation.hasCurvature
        let (rz, ra) = tangentForward(v, packing)

        // Output: R δ_L = ∇²_f ℓ R z_L, sample by sample and direction by direction.
        var rd = Buffer(n * B * k)
        network.loss.curvatureProducts(rz[depth].pointer, probabilities: probabilities.pointer, targets: y, count: n, directions: B,
                                       outputs: k, into: rd.pointer)

        // Backward.
        for l in stride(from: depth, through: 1, by: -1) {
            let nin = widths[l - 1], nout = widths[l], woff = layout.weightOffset(l)
            // (Hv)_{W_l} += R Δ_lᵀ A_{l−1} and (Hessian only) Δ_lᵀ R A_{l−1} (R a₀ = 0): one dgemm
            // each for all B directions — rows (j, p) of R Δᵀ are direction j's rows, and the
            // columns (j, q) of R A are direction j's — then added into each direction's
            // n_l × n_{l−1} block. B small dgemms per layer would run far below peak on narrow
            // layers; the adds are 1/(2·tile) of the dgemm's flops.
            let block = nout * nin
            let stacked = Buffer(B * block)
            gemm(transposeA: true, m: B * nout, n: nin, k: n, rd.pointer, lda: B * nout, input(l - 1), ldb: nin,
                 beta: 0, stacked.pointer, ldc: nin)
            for j in 0..<B {
                let target = out + j * M + woff, source = stacked.pointer + j * block
                for t in 0..<block { target[t] += source[t] }
            }
            if residual && l > 1 {
                let side = Buffer(nout * B * nin)
                gemm(transposeA: true, m: nout, n: B * nin, k: n, delta[l].pointer, lda: nout, ra[l - 1].pointer, ldb: B * nin,
                     beta: 0, side.pointer, ldc: B * nin)
                for p in 0..<nout { for j in 0..<B {
                    let target = out + j * M + woff + p * nin, source = side.pointer + (p * B + j) * nin
                    for q in 0..<nin { target[q] += source[q] }
                } }
            }
            // (Hv)_{b_l} += Σᵢ R δ_{l,i}.
            if let boff = layout.biasOffset(l) {
                for i in 0..<n { for j in 0..<B {
                    let target = out + j * M + boff, source = rd.pointer + (i * B + j) * nout
                    for p in 0..<nout { target[p] += source[p] }
                } }
            }
            guard l > 1 else { break }
            // R e_{l−1} = R δ_l W_l (+ δ_l V_l for the Hessian).
            let re = Buffer(n * B * nin)
            gemm(m: n * B, n: nin, k: nout, rd.pointer, lda: nout, weights(l), ldb: nin, beta: 0, re.pointer, ldc: nin)
            if residual {
                let side = packing.sideBySide[l]
                gemm(m: n, n: B * nin, k: nout, delta[l].pointer, lda: nout, side.pointer, ldb: B * nin,
                     beta: 1, re.pointer, ldc: B * nin)
            }
            // R δ_{l−1} = σ′ ⊙ R e_{l−1} (+ σ″ ⊙ e_{l−1} ⊙ R z_{l−1}).
            let next = Buffer(n * B * nin)
            let s1 = d1[l - 1].pointer, s2 = d2[l - 1].pointer, el = e[l - 1].pointer, rzl = rz[l - 1].pointer
            for i in 0..<n { for j in 0..<B { for q in 0..<nin {
                let t = (i * B + j) * nin + q, u = i * nin + q
                var value = s1[u] * re.pointer[t]
                if sigmaSecondMatters { value += s2[u] * el[u] * rzl[t] }
                next.pointer[t] = value
            } } }
            rd = next
        }
    }
}

/// The directions' weight blocks rearranged once per call (not per tile) for the R-pass dgemms:
/// `stacked[l]` holds the rows (j, p) of every V_{l,j} — (B·n_l) × n_{l−1}; `sideBySide[l]` holds
/// the V_{l,j} next to each other — n_l × (B·n_{l−1}), entry [p, j·n_{l−1} + q] = V_{l,j}[p, q]
/// (only needed for the Hessian's δ V_l term, l > 1).
final class DirectionPacking {
    let count: Int
    var stacked: [Buffer] = [Buffer(0)]
    var sideBySide: [Buffer] = [Buffer(0)]

    init(_ v: UnsafePointer<Double>, count B: Int, layout: ParameterLayout, residual: Bool) {
        count = B
        let M = layout.count
        for l in 1...layout.layerCount {
            let nin = layout.widths[l - 1], nout = layout.widths[l], woff = layout.weightOffset(l)
            let stack = Buffer(B * nout * nin)
            for j in 0..<B { (stack.pointer + j * nout * nin).update(from: v + j * M + woff, count: nout * nin) }
            stacked.append(stack)
            guard residual && l > 1 else { sideBySide.append(Buffer(0)); continue }
            let side = Buffer(nout * B * nin)
            for p in 0..<nout { for j in 0..<B {
                (side.pointer + (p * B + j) * nin).update(from: v + j * M + woff + p * nin, count: nin)
            } }
            sideBySide.append(side)
        }
    }
}

extension Activation {
    /// Whether σ″ can be non-zero (relu and linear have none: their σ″ terms vanish identically).
    var hasCurvature: Bool { self != .relu && self != .linear }
}
