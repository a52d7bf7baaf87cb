import Samples

/// A model's curvature products at one θ on one batch, with everything that does not depend on
/// the directions — the forward pass (z_l, a_l, σ′, σ″), the loss head (ℓ, ∇_f ℓ, softmax p) and
/// backpropagation (δ_l, e_l) — computed once and kept. Each product afterwards is the R-forward
/// and R-backward pass only: what a Krylov method applying H or G dozens of times at a fixed point
/// should pay (PyHessian keeps the gradient's graph for the same reason).
///
/// The numbers are the model's own products' to rounding: the same passes, run in the same order
/// on the same tiles (tests: kept = recomputed to 1e-13, H and G, every activation).
public protocol CurvatureLinearization: AnyObject, Sendable {
    /// Σᵢ ∇²ℓᵢ · V (`residual`: the Hessian) or Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ · V (the Gauss–Newton matrix) for
    /// B directions, M × B column-major, as `Model.hessianVectorProduct` / `gaussNewtonVectorProduct`.
    func curvatureProduct(_ directions: [Double], count: Int, residual: Bool) -> [Double]
    /// Bytes it keeps (the passes' per-sample quantities and its copies of θ and the batch).
    var keptBytes: Int { get }
}

/// θ and a batch copied into storage owned by a linearisation, so that the passes it keeps may
/// point into them for as long as they live (the caller's arrays may move or go).
final class PinnedInputs {
    let theta: Buffer
    let inputs: Buffer
    let targets: Buffer

    init(_ parameters: [Double], _ batch: SampleBatch) {
        theta = Buffer(parameters.count, zeroed: false)
        inputs = Buffer(batch.inputs.count, zeroed: false)
        targets = Buffer(batch.targets.count, zeroed: false)
        parameters.withUnsafeBufferPointer { theta.pointer.update(from: $0.baseAddress!, count: $0.count) }
        batch.inputs.withUnsafeBufferPointer { if let base = $0.baseAddress { inputs.pointer.update(from: base, count: $0.count) } }
        batch.targets.withUnsafeBufferPointer { if let base = $0.baseAddress { targets.pointer.update(from: base, count: $0.count) } }
    }

    var bytes: Int { 8 * (theta.count + inputs.count + targets.count) }

    /// One pass per tile of at most `tile` of the `samples` pinned samples (d inputs, k targets
    /// each), made by `make(θ, inputs, targets, n)` — the passes a linearisation keeps.
    func tiles<Pass>(of tile: Int, samples: Int, inputs d: Int, targets k: Int,
                     _ make: (UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>, Int) -> Pass) -> [Pass] {
        stride(from: 0, to: samples, by: tile).map { start in
            make(theta.pointer, inputs.pointer + start * d, targets.pointer + start * k, min(tile, samples - start))
        }
    }
}

/// Directions a kept tile is sized for: calls with more go in blocks of this many.
let linearizedDirections = 16

/// The products of kept passes: `apply` runs one pass's R-passes for a block of directions into
/// `out`. Calls with more directions than the tiles were sized for go in blocks of that many (the
/// R buffers of a tile then stay within the model's tile budget).
func keptCurvatureProduct(_ directions: [Double], count: Int, parameters m: Int, blockDirections: Int,
                          apply: (_ v: UnsafePointer<Double>, _ b: Int, _ out: UnsafeMutablePointer<Double>) -> Void) -> [Double] {
    precondition(count >= 1 && directions.count == m * count, "directions must be M × B")
    var result = [Double](repeating: 0, count: m * count)
    result.withUnsafeMutableBufferPointer { out in
        directions.withUnsafeBufferPointer { v in
            var first = 0
            while first < count {
                let b = min(blockDirections, count - first)
                apply(v.baseAddress! + first * m, b, out.baseAddress! + first * m)
                first += b
            }
        }
    }
    return result
}

extension MultilayerPerceptron {
    public func linearized(_ parameters: [Double], on batch: SampleBatch) -> (any CurvatureLinearization)? {
        PerceptronLinearization(self, parameters, batch)
    }

    /// z_l, δ_l (every layer), a_l, σ′, σ″, e_l (hidden layers) and softmax p per sample, plus θ and the samples.
    public func linearizationBytes(samples n: Int) -> Int {
        let widths = layout.widths, hidden = widths.dropFirst().dropLast().reduce(0, +)
        let all = widths.dropFirst().reduce(0, +), k = widths.last!
        return 8 * (n * (2 * all + 4 * hidden + k + widths[0] + k) + layout.count)
    }
}

/// The MLP's kept passes: one `TilePass` per tile after its forward pass and backpropagation.
final class PerceptronLinearization: CurvatureLinearization, @unchecked Sendable {
    let network: MultilayerPerceptron
    let pinned: PinnedInputs
    /// Read-only after init: `accumulateCurvatureProduct` reads a pass's kept buffers and writes
    /// only buffers of its own.
    let tiles: [TilePass]

    init(_ network: MultilayerPerceptron, _ parameters: [Double], _ batch: SampleBatch) {
        precondition(parameters.count == network.parameterCount, "parameter vector has \(parameters.count) entries, the model needs \(network.parameterCount)")
        self.network = network
        pinned = PinnedInputs(parameters, batch)
        tiles = pinned.tiles(of: network.tileSize(samples: batch.count, directions: linearizedDirections), samples: batch.count,
                             inputs: network.inputDimension, targets: network.outputDimension) { θ, x, y, n in
            let pass = TilePass(network: network, parameters: θ, inputs: x, targets: y, count: n)
            pass.forward(keepDerivatives: true)
            pass.backward()
            return pass
        }
    }

    var keptBytes: Int { network.linearizationBytes(samples: tiles.reduce(0) { $0 + $1.n }) }

    func curvatureProduct(_ directions: [Double], count: Int, residual: Bool) -> [Double] {
        let layout = network.layout
        return keptCurvatureProduct(directions, count: count, parameters: layout.count, blockDirections: linearizedDirections) { v, b, out in
            let packing = DirectionPacking(v, count: b, layout: layout, residual: residual)
            // A direction block is M-strided like the whole: the passes read direction j at v + j·M.
            for pass in tiles { pass.accumulateCurvatureProduct(v, packing, residual: residual, into: out) }
        }
    }
}

extension ConvolutionalNetwork {
    public func linearized(_ parameters: [Double], on batch: SampleBatch) -> (any CurvatureLinearization)? {
        ConvolutionLinearization(self, parameters, batch)
    }

    /// Per sample: every feature map and its δ, each affine stage's lowered input L(x) (P × K) and
    /// lowered δ (P × O), σ′ and σ″ at each activation's input, max pooling's argmax (4 bytes per
    /// output) and softmax p; plus θ and the samples.
    public func linearizationBytes(samples n: Int) -> Int {
        var perSample = 8 * outputDimension
        for stage in stages {
            perSample += 8 * 2 * stage.output.count
            switch stage.kind {
            case let .affine(g): perSample += 8 * g.positions * (g.fanIn + g.channels)
            case .activation: perSample += 8 * 2 * stage.input.count
            case let .pool(_, maximum): perSample += maximum ? 4 * stage.output.count : 0
            }
        }
        return n * (perSample + 8 * (inputDimension + outputDimension)) + 8 * parameterCount
    }
}

/// The convnet's kept passes: one `ConvolutionPass` per tile after its forward pass and
/// backpropagation (with the lowered inputs and δ the R-passes reuse).
final class ConvolutionLinearization: CurvatureLinearization, @unchecked Sendable {
    let network: ConvolutionalNetwork
    let pinned: PinnedInputs
    /// Read-only after init, as `PerceptronLinearization.tiles`.
    let tiles: [ConvolutionPass]

    init(_ network: ConvolutionalNetwork, _ parameters: [Double], _ batch: SampleBatch) {
        precondition(parameters.count == network.parameterCount, "parameter vector has \(parameters.count) entries, the model needs \(network.parameterCount)")
        self.network = network
        pinned = PinnedInputs(parameters, batch)
        tiles = pinned.tiles(of: network.tileSize(samples: batch.count, directions: linearizedDirections), samples: batch.count,
                             inputs: network.inputDimension, targets: network.outputDimension) { θ, x, y, n in
            let pass = ConvolutionPass(network: network, parameters: θ, inputs: x, targets: y, count: n)
            pass.forward(keepDerivatives: true)
            pass.backward(accumulatingInto: nil)
            return pass
        }
    }

    var keptBytes: Int { network.linearizationBytes(samples: tiles.reduce(0) { $0 + $1.n }) }

    func curvatureProduct(_ directions: [Double], count: Int, residual: Bool) -> [Double] {
        let network = network
        return keptCurvatureProduct(directions, count: count, parameters: network.parameterCount, blockDirections: linearizedDirections) { v, b, out in
            let packing = ConvolutionPacking(v, count: b, network: network, residual: residual)
            for pass in tiles { pass.accumulateCurvatureProduct(v, packing, residual: residual, into: out) }
        }
    }
}
