import Cluster
import Networks
import Samples

/// Which curvature of the mean loss L(θ) = (1/N) Σᵢ ℓᵢ an operator applies.
public enum CurvatureKind: String, Codable, Sendable, CaseIterable {
    /// H = ∇²L.
    case hessian
    /// G = (1/N) Σᵢ Jᵢᵀ ∇²_f ℓᵢ Jᵢ, the generalised Gauss–Newton matrix.
    case gaussNewton = "gauss-newton"
    /// R = H − G, the part that carries ∇_f ℓ (vanishes where every residual does).
    case residual

    /// "H", "G", "R": the symbols of Sagun et al.'s decomposition, used in file and table names.
    public var symbol: String {
        switch self {
        case .hessian: "H"
        case .gaussNewton: "G"
        case .residual: "R"
        }
    }

    /// The kind of a symbol, "H", "G" or "R" (either case).
    public init?(symbol: String) {
        guard let kind = Self.allCases.first(where: { $0.symbol == symbol.uppercased() }) else { return nil }
        self = kind
    }
}

/// H, G or R of a data-parallel mean loss at fixed parameters, applied to B directions at once.
///
/// This is the one place where curvature products are reduced across ranks: each rank applies
/// the model's product to its shard (sums over its samples), one allreduce of the M × B block adds
/// the shards, and the division by the global N makes it the mean — the same W on every rank, for
/// any number of ranks up to the rounding of the sum's grouping.
public struct CurvatureOperator: SymmetricOperator, Sendable {
    public let kind: CurvatureKind
    public let model: any Model
    public let parameters: [Double]
    public let shard: SampleBatch
    public let globalSampleCount: Int
    public let communicator: Communicator

    /// The shard's forward pass and backpropagation at θ, kept for every product (nil: each product
    /// recomputes them — a model that keeps nothing, or more than `linearizationBudget` bytes).
    public let linearization: (any CurvatureLinearization)?

    /// Bytes per rank a kept linearisation may take; above it products recompute the forward pass
    /// (the same numbers, slower). Plans count what is kept (`Model.linearizationBytes`).
    public static let linearizationBudget = 1 << 30

    /// Bytes an operator on `samples` of this rank's samples keeps for its linearisation: the
    /// model's count when within `linearizationBudget`, else 0 (it recomputes) — the one rule the
    /// operator and the memory plans share.
    public static func keptBytes(_ model: any Model, samples: Int) -> Int {
        let bytes = model.linearizationBytes(samples: samples)
        return bytes <= linearizationBudget ? bytes : 0
    }

    public init(kind: CurvatureKind, model: any Model, parameters: [Double], shard: SampleBatch,
                globalSampleCount: Int, communicator: Communicator, keepLinearization: Bool = true) {
        precondition(parameters.count == model.parameterCount && globalSampleCount > 0)
        self.kind = kind
        self.model = model
        self.parameters = parameters
        self.shard = shard
        self.globalSampleCount = globalSampleCount
        self.communicator = communicator
        // Every rank decides on its own shard; the choice changes no number beyond rounding.
        linearization = keepLinearization && shard.count > 0 && Self.keptBytes(model, samples: shard.count) > 0
            ? model.linearized(parameters, on: shard) : nil
    }

    public var dimension: Int { model.parameterCount }

    /// This rank's unreduced sums Σ_{i in shard} (∇²ℓᵢ or its parts) · V.
    public func localSums(_ directions: [Double], count: Int) -> [Double] {
        if let linearization {
            switch kind {
            case .hessian: return linearization.curvatureProduct(directions, count: count, residual: true)
            case .gaussNewton: return linearization.curvatureProduct(directions, count: count, residual: false)
            case .residual:
                var h = linearization.curvatureProduct(directions, count: count, residual: true)
                let g = linearization.curvatureProduct(directions, count: count, residual: false)
                for i in h.indices { h[i] -= g[i] }
                return h
            }
        }
        switch kind {
        case .hessian: return model.hessianVectorProduct(parameters, on: shard, directions: directions, count: count)
        case .gaussNewton: return model.gaussNewtonVectorProduct(parameters, on: shard, directions: directions, count: count)
        case .residual: return model.residualVectorProduct(parameters, on: shard, directions: directions, count: count)
        }
    }

    public func apply(_ directions: [Double], count: Int) throws -> [Double] {
        precondition(count >= 1 && directions.count == dimension * count, "directions must be M × B")
        var result = localSums(directions, count: count)
        try communicator.allreduce(&result, .sum)
        let scale = 1 / Double(globalSampleCount)
        for i in result.indices { result[i] *= scale }
        return result
    }
}
