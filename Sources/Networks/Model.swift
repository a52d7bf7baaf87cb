import Samples

/// A named, contiguous block of the flat parameter vector θ ∈ Rᴹ: one weight matrix, bias vector
/// or filter bank. Everything that addresses parameters by meaning — filter/layer normalisation of
/// directions, per-layer Hessian blocks, reports — goes through these instead of offsets of its own.
public struct ParameterBlock: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable { case weight, bias }
    /// "layer1.weight", "layer1.bias", …: stable names for files and reports.
    public let name: String
    /// 1-based layer number.
    public let layer: Int
    public let role: Role
    /// The block's shape, row-major (a weight matrix is [out, in]; a bias [out]).
    public let shape: [Int]
    /// Where the block starts in θ.
    public let offset: Int

    public init(name: String, layer: Int, role: Role, shape: [Int], offset: Int) {
        self.name = name
        self.layer = layer
        self.role = role
        self.shape = shape
        self.offset = offset
    }

    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }
    /// The number of "filters" in Li et al.'s sense: output units (rows of a weight matrix).
    public var filters: Int { shape.first ?? 1 }
}

/// A differentiable model f(θ, x) with a per-sample loss ℓ(f, y): the seam between the network
/// math and everything above it (objectives, operators, exact assembly, training, geometry).
///
/// Every method works on a block of samples and returns **sums over the samples**, never means:
/// data-parallel callers add the sums of all ranks with one allreduce and divide by the global N.
/// The network math knows no ranks. Directions and results are M × B column-major (direction j
/// is `[j·M ..< (j+1)·M]`), so B products share each pass over the samples.
/// The passes a model's cost hints are given for: the loss, the gradient, and the batched
/// Hessian- and Gauss–Newton-vector products.
public enum ModelOperation: String, Codable, Sendable, CaseIterable {
    case loss, gradient, hvp = "HVP", ggn = "GGN"
}

extension ModelOperation {
    /// GEMM flops per sample of a chain of affine layers whose forward products cost u_l
    /// multiply-adds per sample (an MLP's n_{l−1}·n_l; a convolution's positions × fan-in × channels),
    /// passes as `MultilayerPerceptron.flopsPerSample` describes them; Σ' skips the first layer,
    /// whose input needs no gradient and has no tangent.
    public func gemmFlops(layerProducts u: [Double], directions b: Int) -> Double {
        let all = u.reduce(0, +), inner = all - (u.first ?? 0), first = u.first ?? 0
        switch self {
        case .loss: return 2 * all
        case .gradient: return 4 * all + 2 * inner
        case .hvp: return 2 * all + 2 * inner + Double(b) * (4 * first + 12 * inner)
        case .ggn: return 2 * all + 2 * inner + Double(b) * (4 * first + 8 * inner)
        }
    }
}

/// The most parameters a model may have: OpenBLAS's CBLAS takes 32-bit dimensions and counts
/// (`cblas_daxpy` over θ, `cblas_dgemm` over a weight block), so M ≤ 2³¹ − 1. Jobs refuse a larger
/// model before building it; `gemm`'s casts rely on it.
public let maximumParameterCount = Int(Int32.max)

public protocol Model: Sendable {
    /// M, the length of θ.
    var parameterCount: Int { get }
    /// The named blocks of θ, in θ order, covering it exactly.
    var parameterBlocks: [ParameterBlock] { get }
    /// d, the length of one input row, and k, the length of one output row.
    var inputDimension: Int { get }
    var outputDimension: Int { get }
    var loss: Loss { get }
    /// A one-line description ("MLP 100-30-30-10, relu").
    var summary: String { get }

    /// Cost hints, for plans, progress and rates — never for numbers. Flops of one `operation`
    /// over one sample with B = `directions` (a model counts what dominates, e.g. its GEMMs).
    func flopsPerSample(_ operation: ModelOperation, directions: Int) -> Double
    /// Bytes of working memory one product needs beyond its inputs and result (tile buffers).
    var workingBytes: Int { get }

    /// Σᵢ ℓᵢ and the number of correct argmax predictions.
    func evaluate(_ parameters: [Double], on batch: SampleBatch) -> LossStatistics
    /// f(θ, xᵢ), one row of k per sample.
    func outputs(_ parameters: [Double], on batch: SampleBatch) -> [Double]
    /// Σᵢ ∇_θ ℓᵢ added into `gradient`, and the loss sums.
    func gradient(_ parameters: [Double], on batch: SampleBatch, accumulatingInto gradient: inout [Double]) -> LossStatistics
    /// Σᵢ ∇²_θ ℓᵢ · V for B directions.
    func hessianVectorProduct(_ parameters: [Double], on batch: SampleBatch, directions: [Double], count: Int) -> [Double]
    /// Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ · V for B directions (the generalised Gauss–Newton matrix G times V).
    func gaussNewtonVectorProduct(_ parameters: [Double], on batch: SampleBatch, directions: [Double], count: Int) -> [Double]
    /// Jᵢ vⱼ for every sample i and direction j: n × B × k, row (i, j) holds ∂f(θ, xᵢ)/∂θ · vⱼ.
    func jacobianVectorProduct(_ parameters: [Double], on batch: SampleBatch, directions: [Double], count: Int) -> [Double]
    /// Σᵢ ℓᵢ and the correct predictions at every point θ₀ + Σⱼ cⱼ·dⱼ of an affine family (a line or
    /// plane through parameter space): `coefficients[p]` holds point p's cⱼ, one per direction.
    /// Models may share work between the points (the MLP shares its first layer's products).
    func evaluate(origin: [Double], directions: [[Double]], coefficients: [[Double]], on batch: SampleBatch) -> [LossStatistics]
    /// Σᵢ Jᵢᵀ uᵢⱼ for B cotangents per sample: `cotangents` is n × B × k as above; the result M × B.
    func transposedJacobianProduct(_ parameters: [Double], on batch: SampleBatch, cotangents: [Double], count: Int) -> [Double]

    /// The curvature products at θ on `batch` with the direction-independent passes done once and
    /// kept (`Linearization.swift`), or nil when the model recomputes them for every product.
    func linearized(_ parameters: [Double], on batch: SampleBatch) -> (any CurvatureLinearization)?
    /// Bytes `linearized` keeps for n samples (0 when it keeps nothing).
    func linearizationBytes(samples: Int) -> Int

    /// Parameters the model came with — an imported model's initialisers — used as θ₀ where a
    /// job would otherwise draw from `model.init`; nil for models that are only an architecture.
    var storedParameters: [Double]? { get }

    /// The continuous symmetry group acting on θ (`Symmetries.swift`); with an L2 term only its
    /// norm-preserving part.
    func symmetryGroup(preservingNorm: Bool) -> SymmetryGroup
    /// The tangents at θ of that group's generators: null vectors of H at every critical point.
    func symmetryTangents(at parameters: [Double], preservingNorm: Bool) -> [[Double]]
    /// Why θ is a reducible configuration (a unit that can be removed or merged), or nil.
    func reducibility(at parameters: [Double], tolerance: Double) -> String?
}

extension Model {
    public var storedParameters: [Double]? { nil }
    public func linearized(_ parameters: [Double], on batch: SampleBatch) -> (any CurvatureLinearization)? { nil }
    public func linearizationBytes(samples: Int) -> Int { 0 }

    /// A model that declares no symmetry has none the searches can use.
    public func symmetryGroup(preservingNorm: Bool) -> SymmetryGroup { .none }
    public func symmetryTangents(at parameters: [Double], preservingNorm: Bool) -> [[Double]] { [] }
    public func reducibility(at parameters: [Double], tolerance: Double) -> String? { nil }

    /// One evaluation per point, θ formed in full: what any model can do.
    public func evaluate(origin: [Double], directions: [[Double]], coefficients: [[Double]], on batch: SampleBatch) -> [LossStatistics] {
        coefficients.map { c in evaluate(AffineFamily.point(origin, directions, c), on: batch) }
    }

    /// What `flopsPerSample` counts, for reports that print rates.
    public var flopCountDescription: String { "flops as the model counts them (\(summary))" }

    /// [d, the output count of each layer's weight block …] (shape[0]): an MLP's widths
    /// [n₀, n₁, …, n_L]; for other models the width (or channels) of every layer's output.
    public var layerWidths: [Int] {
        [inputDimension] + parameterBlocks.filter { $0.role == .weight }.map { $0.shape[0] }
    }

    /// The block called `name`, if any.
    public func block(named name: String) -> ParameterBlock? { parameterBlocks.first { $0.name == name } }

    /// Σᵢ (∇²ℓᵢ − Jᵢᵀ ∇²_f ℓᵢ Jᵢ) · V: the residual R = H − G, the part that carries ∇_f ℓ.
    public func residualVectorProduct(_ parameters: [Double], on batch: SampleBatch, directions: [Double], count: Int) -> [Double] {
        var h = hessianVectorProduct(parameters, on: batch, directions: directions, count: count)
        let g = gaussNewtonVectorProduct(parameters, on: batch, directions: directions, count: count)
        for i in h.indices { h[i] -= g[i] }
        return h
    }
}

/// Points of an affine family θ₀ + Σⱼ cⱼ·dⱼ.
public enum AffineFamily {
    public static func point(_ origin: [Double], _ directions: [[Double]], _ c: [Double]) -> [Double] {
        precondition(c.count == directions.count)
        var θ = origin
        for (j, d) in directions.enumerated() {
            let s = c[j]
            for i in θ.indices { θ[i] += s * d[i] }
        }
        return θ
    }
}
