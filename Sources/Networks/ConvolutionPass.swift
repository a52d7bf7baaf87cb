import CBLAS
import Samples
/// The layers of a `ConvolutionalNetwork` as the passes see them, and one tile of samples going
/// through them: forward (with max pooling's argmax, σ′, σ″), the loss head, backpropagation, and
/// the R-operator passes for B directions at once.
///
/// Layouts. A block of m samples' feature maps is m × (C·H·W) row-major (NCHW). Tangents and
/// their backpropagated counterparts hold B directions per sample: row (i, j) = i·B + j, as the MLP's
/// R passes do, so a tangent buffer is an (n·B)-sample block of feature maps.
///
/// Affine layers go through im2col ("lowering"): a convolution with P = H′·W′ output positions and
/// fan-in K = C·kh·kw becomes, per sample, the P × K matrix L(x) whose row p holds the receptive
/// field of position p (zeros where it covers padding), so z = L(x) Wᵀ (P × O) then transposed to
/// O × P (NCHW). A dense layer is the convolution whose kernel is its whole input: P = 1, K = C·H·W,
/// L(x) = x. Lowered rows are ordered (i, p, j) — sample, position, direction — which makes every
/// product of a pass one dgemm over all samples and directions:
///   forward      Z = L(x) Wᵀ                              (n·P) × O
///   tangent      R Z = L(R x) Wᵀ + L(x) [V₁ … V_B]ᵀ         (n·P·B) × O = (n·P) × (B·O)
///   gradient     ∇W += Gᵀ L(x),  G = lowered δ              O × K
///   R gradient   (Hv)_W ⫽ j += (R G)ᵀ L(x)  [+ Gᵀ L(R x)]    (B·O) × K  [O × (B·K)]
///   backprop     L-gradient = G W, then col2im adds it back onto the input positions
///   R backprop   R G W [+ G [V₁ | … | V_B]]                 (n·P·B) × K
/// (bracketed terms carry δ: Hessian only, not Gauss–Newton).
struct AffineGeometry {
    let input: FeatureShape
    let output: FeatureShape
    let kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int
    let weightOffset: Int
    let biasOffset: Int?

    init(input: FeatureShape, output: FeatureShape, kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int,
         weightOffset: Int, biasOffset: Int?) {
        self.input = input
        self.output = output
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
        self.weightOffset = weightOffset
        self.biasOffset = biasOffset
    }

    /// P, K and O.
    var positions: Int { output.height * output.width }
    var fanIn: Int { input.channels * kernelHeight * kernelWidth }
    var channels: Int { output.channels }

    /// im2col: the lowered rows of m samples × B directions (`source` holds m·B feature maps, row
    /// (i, j)), row (i, p, j) at `lowered + ((i·P + p)·B + j)·K`. Every entry is written.
    func lower(_ source: UnsafePointer<Double>, samples m: Int, directions B: Int, into lowered: UnsafeMutablePointer<Double>) {
        forEachRun(samples: m, directions: B) { sourceIndex, loweredIndex, count in
            if let sourceIndex { (lowered + loweredIndex).update(from: source + sourceIndex, count: count) }
            else { (lowered + loweredIndex).update(repeating: 0, count: count) }
        }
    }

    /// col2im: adds each lowered entry back onto the input value it was copied from (the adjoint
    /// of `lower`), into m·B feature maps.
    func scatter(_ lowered: UnsafePointer<Double>, samples m: Int, directions B: Int, into target: UnsafeMutablePointer<Double>) {
        forEachRun(samples: m, directions: B) { sourceIndex, loweredIndex, count in
            guard let sourceIndex else { return }
            let (x, l) = (target + sourceIndex, lowered + loweredIndex)
            for t in 0..<count { x[t] += l[t] }
        }
    }

    /// im2col as runs: every stretch of a kernel row that lies wholly inside the input (its first
    /// input index) or wholly in the padding (nil), with its first lowered index and its length, in
    /// lowered order. A kernel row inside the image is one contiguous run of kw inputs — copied
    /// whole instead of tap by tap, which is what makes lowering run at memory speed.
    @inline(__always)
    private func forEachRun(samples m: Int, directions B: Int, _ body: (Int?, Int, Int) -> Void) {
        let (C, H, W) = (input.channels, input.height, input.width)
        let (P, K, outW, kw) = (positions, fanIn, output.width, kernelWidth)
        for i in 0..<m { for j in 0..<B {
            let sample = (i * B + j) * input.count
            for p in 0..<P {
                let top = (p / outW) * stride - padding, left = (p % outW) * stride - padding
                // The taps t of a kernel row with 0 ≤ left + t < W: [first, last).
                let first = max(0, -left), last = min(kw, W - left)
                var index = ((i * P + p) * B + j) * K
                for c in 0..<C { for r in 0..<kernelHeight {
                    let h = top + r
                    if h < 0 || h >= H || first >= last {
                        body(nil, index, kw)
                    } else {
                        if first > 0 { body(nil, index, first) }
                        body(sample + (c * H + h) * W + left + first, index + first, last - first)
                        if last < kw { body(nil, index + last, kw - last) }
                    }
                    index += kw
                } }
            }
        } }
    }

    /// Lowered output rows (i, p, j) × O → feature maps row (i, j) [o, p], plus direction j's bias
    /// `bias + j·biasStride` (nil: none).
    func raise(_ lowered: UnsafePointer<Double>, samples m: Int, directions B: Int, bias: UnsafePointer<Double>?, biasStride: Int,
               into target: UnsafeMutablePointer<Double>) {
        let (P, O) = (positions, channels)
        for i in 0..<m { for j in 0..<B {
            // Row (i, p, j) starts at rows + p·B·O: channel o of every position, strided, into map row o.
            let map = target + (i * B + j) * O * P, rows = lowered + (i * P * B + j) * O, b = bias.map { $0 + j * biasStride }
            for o in 0..<O {
                let offset = b?[o] ?? 0, column = map + o * P, source = rows + o
                for p in 0..<P { column[p] = source[p * B * O] + offset }
            }
        } }
    }

    /// The inverse arrangement of `raise` (without bias): feature maps row (i, j) → rows (i, p, j) × O.
    func lowerOutput(_ source: UnsafePointer<Double>, samples m: Int, directions B: Int, into lowered: UnsafeMutablePointer<Double>) {
        let (P, O) = (positions, channels)
        for i in 0..<m { for j in 0..<B {
            let map = source + (i * B + j) * O * P
            for p in 0..<P {
                let row = lowered + ((i * P + p) * B + j) * O
                for o in 0..<O { row[o] = map[o * P + p] }
            }
        } }
    }
}

/// A pooling window `size` × `size`, `stride` apart, per channel, no padding.
struct PoolGeometry {
    let input: FeatureShape
    let output: FeatureShape
    let size: Int
    let stride: Int

    /// Calls `body(output index, input index)` for every tap of every window of one feature map.
    @inline(__always)
    func forEachTap(_ body: (Int, Int) -> Void) {
        let (H, W, outH, outW) = (input.height, input.width, output.height, output.width)
        for c in 0..<input.channels { for oh in 0..<outH { for ow in 0..<outW {
            let e = (c * outH + oh) * outW + ow
            for r in 0..<size { for t in 0..<size { body(e, (c * H + oh * stride + r) * W + ow * stride + t) } }
        } } }
    }

    /// Max pooling of n feature maps: the maxima into `target`, and the input index (within its
    /// map) of each: the first maximum of the window.
    func maximum(_ source: UnsafePointer<Double>, samples n: Int, into target: UnsafeMutablePointer<Double>) -> [Int32] {
        var argmax = [Int32](repeating: -1, count: n * output.count)
        for i in 0..<n {
            let x = source + i * input.count, y = target + i * output.count, base = i * output.count
            forEachTap { e, q in
                if argmax[base + e] < 0 || x[q] > y[e] { y[e] = x[q]; argmax[base + e] = Int32(q) }
            }
        }
        return argmax
    }

    /// The mean of each window of m feature maps (linear: tangents take the same map).
    func average(_ source: UnsafePointer<Double>, samples m: Int, into target: UnsafeMutablePointer<Double>) {
        let scale = 1 / Double(size * size)
        target.update(repeating: 0, count: m * output.count)
        for v in 0..<m {
            let x = source + v * input.count, y = target + v * output.count
            forEachTap { e, q in y[e] += scale * x[q] }
        }
    }

    /// The adjoint of `average`: each window's gradient spread evenly over it, added into `target`.
    func averageAdjoint(_ source: UnsafePointer<Double>, samples m: Int, into target: UnsafeMutablePointer<Double>) {
        let scale = 1 / Double(size * size)
        for v in 0..<m {
            let g = source + v * output.count, x = target + v * input.count
            forEachTap { e, q in x[q] += scale * g[e] }
        }
    }
}

/// One layer of the chain with its shapes.
struct ConvolutionStage {
    enum Kind {
        case affine(AffineGeometry)
        case pool(PoolGeometry, maximum: Bool)
        case activation(Activation)
    }
    let input: FeatureShape
    let output: FeatureShape
    let kind: Kind

    /// The largest per-sample, per-direction buffer the stage's passes allocate.
    var largestBuffer: Int {
        guard case let .affine(g) = kind else { return max(input.count, output.count) }
        return max(g.positions * max(g.fanIn, g.channels), input.count, output.count)
    }
}

/// The directions' weight blocks arranged once per call (not per tile): `stacked[s]` holds
/// [V₁; …; V_B] ((B·O) × K) for the tangent's L(x) Vᵀ, `sideBySide[s]` holds [V₁ | … | V_B]
/// (O × (B·K)) for the Hessian's backpropagated G V term (needed only past the first affine layer).
final class ConvolutionPacking {
    let count: Int
    var stacked: [Buffer?]
    var sideBySide: [Buffer?]

    init(_ v: UnsafePointer<Double>, count B: Int, network: ConvolutionalNetwork, residual: Bool) {
        count = B
        let M = network.parameterCount
        stacked = Array(repeating: nil, count: network.stages.count)
        sideBySide = stacked
        for (s, stage) in network.stages.enumerated() {
            guard case let .affine(g) = stage.kind else { continue }
            let (O, K) = (g.channels, g.fanIn)
            let stack = Buffer(B * O * K)
            for j in 0..<B { (stack.pointer + j * O * K).update(from: v + j * M + g.weightOffset, count: O * K) }
            stacked[s] = stack
            guard residual && s > network.firstAffine else { continue }
            let side = Buffer(O * B * K)
            for o in 0..<O { for j in 0..<B {
                (side.pointer + (o * B + j) * K).update(from: v + j * M + g.weightOffset + o * K, count: K)
            } }
            sideBySide[s] = side
        }
    }
}

/// One tile of n samples through a `ConvolutionalNetwork`. Index s = 0…S over the feature maps
/// between the S stages: a[s] is the input of stage s (a[0] the samples, a[S] the outputs f),
/// delta[s] = ∂ℓ/∂a[s].
final class ConvolutionPass {
    let network: ConvolutionalNetwork
    let theta: UnsafePointer<Double>
    let x: UnsafePointer<Double>
    let y: UnsafePointer<Double>
    let n: Int

    var a: [Buffer] = []
    /// Per affine stage: L(a[s]), (n·P) × K, and the lowered δ of its output, (n·P) × O.
    var lowered: [Buffer?] = []
    var loweredDelta: [Buffer?] = []
    /// Per activation stage: σ′ and σ″ at its input; per max-pooling stage: the argmax.
    var slopes: [Buffer?] = []
    var curvatures: [Buffer?] = []
    var argmax: [[Int32]?] = []
    var delta: [Buffer?] = []
    var probabilities: Buffer
    var statistics = LossStatistics()

    init(network: ConvolutionalNetwork, parameters: UnsafePointer<Double>, inputs: UnsafePointer<Double>,
         targets: UnsafePointer<Double>, count: Int) {
        self.network = network
        theta = parameters
        x = inputs
        y = targets
        n = count
        probabilities = Buffer(count * network.outputDimension)
    }

    var stages: [ConvolutionStage] { network.stages }

    /// a[s]: the samples for s = 0.
    @inline(__always) func input(_ s: Int) -> UnsafePointer<Double> { s == 0 ? x : UnsafePointer(a[s].pointer) }

    func forward(keepDerivatives: Bool) {
        let S = stages.count
        a = [Buffer(0)]
        lowered = Array(repeating: nil, count: S); loweredDelta = lowered; slopes = lowered; curvatures = lowered
        argmax = Array(repeating: nil, count: S)
        for (s, stage) in stages.enumerated() {
            let out = Buffer(n * stage.output.count, zeroed: false)   // written whole below
            switch stage.kind {
            case let .affine(g):
                let (P, K, O) = (g.positions, g.fanIn, g.channels)
                let L = Buffer(n * P * K, zeroed: false), Z = Buffer(n * P * O, zeroed: false)
                g.lower(input(s), samples: n, directions: 1, into: L.pointer)
                gemm(transposeB: true, m: n * P, n: O, k: K, L.pointer, lda: K, theta + g.weightOffset, ldb: K, beta: 0, Z.pointer, ldc: O)
                g.raise(Z.pointer, samples: n, directions: 1, bias: g.biasOffset.map { theta + $0 }, biasStride: 0, into: out.pointer)
                lowered[s] = L
            case let .pool(g, maximum):
                if maximum { argmax[s] = g.maximum(input(s), samples: n, into: out.pointer) }
                else { g.average(input(s), samples: n, into: out.pointer) }
            case let .activation(σ):
                let z = input(s), count = n * stage.output.count
                if keepDerivatives {
                    let first = Buffer(count, zeroed: false), second = Buffer(count, zeroed: false)
                    for t in 0..<count {
                        let (value, d1, d2) = σ.derivatives(z[t])
                        out.pointer[t] = value; first.pointer[t] = d1; second.pointer[t] = d2
                    }
                    slopes[s] = first; curvatures[s] = second
                } else {
                    for t in 0..<count { out.pointer[t] = σ.value(z[t]) }
                }
            }
            a.append(out)
        }
        let k = network.outputDimension, g = Buffer(n * k)
        statistics = network.loss.head(outputs: a[S].pointer, targets: y, count: n, outputs: k, gradient: g.pointer,
                                       probabilities: probabilities.pointer)
        delta = Array(repeating: nil, count: S + 1)
        delta[S] = g
    }

    /// Backpropagation from delta[S] (∇_f ℓ after `forward`, or a seed the caller put there):
    /// delta[s] for every s past the first affine stage, each affine stage's lowered δ, and, when
    /// `g` is given, Σᵢ ∇_θ of ⟨delta[S], f⟩ added into it.
    func backward(accumulatingInto g: UnsafeMutablePointer<Double>?) {
        for s in stride(from: stages.count - 1, through: network.firstAffine, by: -1) {
            let stage = stages[s], gy = delta[s + 1]!.pointer
            let needInput = s > network.firstAffine
            let gx = needInput ? Buffer(n * stage.input.count) : nil
            switch stage.kind {
            case let .affine(geometry):
                let (P, K, O) = (geometry.positions, geometry.fanIn, geometry.channels)
                let G = Buffer(n * P * O, zeroed: false)
                geometry.lowerOutput(gy, samples: n, directions: 1, into: G.pointer)
                loweredDelta[s] = G
                if let g {
                    // ∇W += Gᵀ L(x) (O × K), ∇b += column sums of G.
                    gemm(transposeA: true, m: O, n: K, k: n * P, G.pointer, lda: O, lowered[s]!.pointer, ldb: K,
                         beta: 1, g + geometry.weightOffset, ldc: K)
                    if let b = geometry.biasOffset { addColumnSums(G.pointer, rows: n * P, columns: O, into: g + b) }
                }
                if let gx {
                    let LG = Buffer(n * P * K, zeroed: false)
                    gemm(m: n * P, n: K, k: O, G.pointer, lda: O, theta + geometry.weightOffset, ldb: K, beta: 0, LG.pointer, ldc: K)
                    geometry.scatter(LG.pointer, samples: n, directions: 1, into: gx.pointer)
                }
            case let .pool(geometry, maximum):
                guard let gx else { break }
                if maximum { scatterMaxima(gy, argmax[s]!, stage: stage, samples: n, directions: 1, into: gx.pointer) }
                else { geometry.averageAdjoint(gy, samples: n, into: gx.pointer) }
            case .activation:
                guard let gx else { break }
                let slope = slopes[s]!.pointer
                for t in 0..<(n * stage.input.count) { gx.pointer[t] = slope[t] * gy[t] }
            }
            delta[s] = gx
        }
    }

    /// The forward R-pass: R a[s] = J_{a[s]} v for every direction of `packing`, nil where it is
    /// zero (up to the first affine stage's input). Entry S is the output Jacobian product.
    func tangentForward(_ v: UnsafePointer<Double>, _ packing: ConvolutionPacking) -> [Buffer?] {
        let B = packing.count, M = network.parameterCount
        var ra: [Buffer?] = [nil]
        tangentLowered = Array(repeating: nil, count: stages.count)
        for (s, stage) in stages.enumerated() {
            guard let rx = ra[s] else {
                guard case let .affine(g) = stage.kind else { ra.append(nil); continue }
                ra.append(affineTangent(g, s, nil, v, packing, M))
                continue
            }
            let out = Buffer(n * B * stage.output.count, zeroed: false)
            switch stage.kind {
            case let .affine(g):
                ra.append(affineTangent(g, s, rx, v, packing, M))
                continue
            case let .pool(g, maximum):
                if maximum {
                    let arg = argmax[s]!, (inCount, outCount) = (stage.input.count, stage.output.count)
                    for i in 0..<n { for j in 0..<B {
                        let source = rx.pointer + (i * B + j) * inCount, target = out.pointer + (i * B + j) * outCount
                        for e in 0..<outCount { target[e] = source[Int(arg[i * outCount + e])] }
                    } }
                } else {
                    g.average(rx.pointer, samples: n * B, into: out.pointer)
                }
            case .activation:
                let slope = slopes[s]!.pointer, count = stage.input.count
                for i in 0..<n { for j in 0..<B {
                    let t = (i * B + j) * count
                    for q in 0..<count { out.pointer[t + q] = slope[i * count + q] * rx.pointer[t + q] }
                } }
            }
            ra.append(out)
        }
        return ra
    }

    /// L(R a[s]) per affine stage, rows (i, p, j) × K, kept for the Hessian's Gᵀ L(R x) term
    /// during one product (cleared at its end).
    var tangentLowered: [Buffer?] = []

    /// R z = L(R x) Wᵀ + L(x) [V₁ … V_B]ᵀ + v_b, raised to feature maps.
    private func affineTangent(_ g: AffineGeometry, _ s: Int, _ rx: Buffer?, _ v: UnsafePointer<Double>,
                               _ packing: ConvolutionPacking, _ M: Int) -> Buffer {
        let B = packing.count, (P, K, O) = (g.positions, g.fanIn, g.channels)
        let Z = Buffer(n * P * B * O)
        if let rx {
            let L = Buffer(n * P * B * K, zeroed: false)
            g.lower(rx.pointer, samples: n, directions: B, into: L.pointer)
            gemm(transposeB: true, m: n * P * B, n: O, k: K, L.pointer, lda: K, theta + g.weightOffset, ldb: K, beta: 0, Z.pointer, ldc: O)
            tangentLowered[s] = L
        }
        gemm(transposeB: true, m: n * P, n: B * O, k: K, lowered[s]!.pointer, lda: K, packing.stacked[s]!.pointer, ldb: K,
             beta: 1, Z.pointer, ldc: B * O)
        let out = Buffer(n * B * g.output.count, zeroed: false)
        g.raise(Z.pointer, samples: n, directions: B, bias: g.biasOffset.map { v + $0 }, biasStride: M, into: out.pointer)
        return out
    }

    /// out[:, j] += Σᵢ ∇²ℓᵢ v_j (residual) or Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ v_j (Gauss–Newton). Needs `forward`
    /// and `backward` first. With R{·} = d/dr (·)(θ + r v) at r = 0, from R δ_S = ∇²_f ℓ · R f down:
    /// affine   (Hv)_W += (R G)ᵀ L(x) + Gᵀ L(R x),  (Hv)_b += Σ R G,  R δ_x = col2im(R G W + G V);
    /// pooling  R δ_x = Pᵀ R δ_y (the same linear map as δ: average, or the argmax selection);
    /// σ        R δ_z = σ′ ⊙ R δ_a + σ″ ⊙ δ_a ⊙ R z.
    /// Gauss–Newton drops G V, Gᵀ L(R x) and the σ″ term (the terms that carry δ).
    func accumulateCurvatureProduct(_ v: UnsafePointer<Double>, _ packing: ConvolutionPacking, residual: Bool,
                                    into out: UnsafeMutablePointer<Double>) {
        let B = packing.count, M = network.parameterCount, S = stages.count, k = network.outputDimension
        let ra = tangentForward(v, packing)
        var rd = Buffer(n * B * k)
        network.loss.curvatureProducts(ra[S]!.pointer, probabilities: probabilities.pointer, targets: y, count: n, directions: B,
                                       outputs: k, into: rd.pointer)
        for s in stride(from: S - 1, through: network.firstAffine, by: -1) {
            let stage = stages[s]
            let needInput = s > network.firstAffine
            let next = needInput ? Buffer(n * B * stage.input.count) : nil
            switch stage.kind {
            case let .affine(g):
                let (P, K, O) = (g.positions, g.fanIn, g.channels)
                let RG = Buffer(n * P * B * O, zeroed: false)
                g.lowerOutput(rd.pointer, samples: n, directions: B, into: RG.pointer)
                // (Hv)_W of direction j: rows j·O… of (R G)ᵀ L(x), with R G read as (n·P) × (B·O).
                let stacked = Buffer(B * O * K, zeroed: false)
                gemm(transposeA: true, m: B * O, n: K, k: n * P, RG.pointer, lda: B * O, lowered[s]!.pointer, ldb: K,
                     beta: 0, stacked.pointer, ldc: K)
                for j in 0..<B {
                    let target = out + j * M + g.weightOffset, source = stacked.pointer + j * O * K
                    for t in 0..<(O * K) { target[t] += source[t] }
                }
                if residual, let Lt = tangentLowered[s] {
                    // Gᵀ L(R x): L(R x) read as (n·P) × (B·K), entry [o, j·K + q] for direction j.
                    let side = Buffer(O * B * K, zeroed: false)
                    gemm(transposeA: true, m: O, n: B * K, k: n * P, loweredDelta[s]!.pointer, lda: O, Lt.pointer, ldb: B * K,
                         beta: 0, side.pointer, ldc: B * K)
                    for o in 0..<O { for j in 0..<B {
                        let target = out + j * M + g.weightOffset + o * K, source = side.pointer + (o * B + j) * K
                        for q in 0..<K { target[q] += source[q] }
                    } }
                }
                if let b = g.biasOffset {
                    // Σ over the n·P rows of R G, (B·O) column sums in one dgemv, then per direction.
                    let sums = Buffer(B * O)
                    addColumnSums(RG.pointer, rows: n * P, columns: B * O, into: sums.pointer)
                    for j in 0..<B {
                        let target = out + j * M + b, source = sums.pointer + j * O
                        for o in 0..<O { target[o] += source[o] }
                    }
                }
                if let next {
                    let LG = Buffer(n * P * B * K, zeroed: false)
                    gemm(m: n * P * B, n: K, k: O, RG.pointer, lda: O, theta + g.weightOffset, ldb: K, beta: 0, LG.pointer, ldc: K)
                    if residual {
                        gemm(m: n * P, n: B * K, k: O, loweredDelta[s]!.pointer, lda: O, packing.sideBySide[s]!.pointer, ldb: B * K,
                             beta: 1, LG.pointer, ldc: B * K)
                    }
                    g.scatter(LG.pointer, samples: n, directions: B, into: next.pointer)
                }
            case let .pool(g, maximum):
                guard let next else { break }
                if maximum { scatterMaxima(rd.pointer, argmax[s]!, stage: stage, samples: n, directions: B, into: next.pointer) }
                else { g.averageAdjoint(rd.pointer, samples: n * B, into: next.pointer) }
            case .activation:
                guard let next else { break }
                let count = stage.input.count, slope = slopes[s]!.pointer, curvature = curvatures[s]!.pointer
                let gy = delta[s + 1]!.pointer, rz = ra[s]!.pointer
                let withCurvature: Bool
                if case let .activation(σ) = stage.kind { withCurvature = residual && σ.hasCurvature } else { withCurvature = false }
                for i in 0..<n { for j in 0..<B {
                    let t = (i * B + j) * count
                    for q in 0..<count {
                        let u = i * count + q
                        var value = slope[u] * rd.pointer[t + q]
                        if withCurvature { value += curvature[u] * gy[u] * rz[t + q] }
                        next.pointer[t + q] = value
                    }
                } }
            }
            guard let next else { break }
            rd = next
        }
        // The product's own buffers go with it: a pass kept by a linearisation must hold only the
        // direction-independent quantities between products (and `linearizationBytes` counts no more).
        tangentLowered = []
    }

    /// Max pooling's adjoint: each output's gradient onto the input its window selected, added
    /// into m·B feature maps (the argmax of sample i serves all its directions).
    private func scatterMaxima(_ source: UnsafePointer<Double>, _ arg: [Int32], stage: ConvolutionStage, samples m: Int, directions B: Int,
                               into target: UnsafeMutablePointer<Double>) {
        let (inCount, outCount) = (stage.input.count, stage.output.count)
        for i in 0..<m { for j in 0..<B {
            let g = source + (i * B + j) * outCount, x = target + (i * B + j) * inCount
            for e in 0..<outCount { x[Int(arg[i * outCount + e])] += g[e] }
        } }
    }

    /// Adds the column sums of a rows × columns row-major matrix into `target`: matrixᵀ · 1 by
    /// dgemv (a loop over short rows — a convolution's few channels — does not vectorise).
    private func addColumnSums(_ matrix: UnsafePointer<Double>, rows: Int, columns: Int, into target: UnsafeMutablePointer<Double>) {
        guard rows > 0 && columns > 0 else { return }
        let ones = [Double](repeating: 1, count: rows)
        cblas_dgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(columns), 1, matrix, Int32(columns), ones, 1, 1, target, 1)
    }
}
