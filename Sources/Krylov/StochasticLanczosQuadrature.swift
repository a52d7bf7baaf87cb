import Objectives
import Support

/// The Gauss quadrature of one probe (Golub & Meurant): with v = z/‖z‖ and m Lanczos steps from
/// v, T_m = S diag(θ) Sᵀ, and
///     vᵀ f(A) v ≈ Σᵢ wᵢ f(θᵢ),   wᵢ = (S₁ᵢ)²,
/// exact for every polynomial f of degree ≤ 2m − 1. The nodes are T_m's eigenvalues; the
/// weights sum to 1.
public struct ProbeQuadrature: Codable, Sendable, Equatable {
    public var probe: Int
    /// Ascending.
    public var nodes: [Double]
    public var weights: [Double]
    /// ‖z‖² (n exactly for Rademacher probes): zᵀ f(A) z = ‖z‖² · vᵀ f(A) v.
    public var normSquared: Double

    /// Σᵢ wᵢ θᵢʲ ≈ vᵀ Aʲ v.
    public func moment(_ j: Int) -> Double {
        zip(nodes, weights).reduce(0) { $0 + $1.1 * pow($1.0, Double(j)) }
    }
}

/// Stochastic Lanczos quadrature (Lin, Saad & Yang 2016; Ghorbani, Krishnan & Xiao 2019): for
/// probes z₁ … z_p, the measure (1/p) Σ_k Σᵢ w_{k,i} δ(θ_{k,i}) estimates the spectral density
/// (1/n) Σⱼ δ(λⱼ), and (1/p) Σ_k ‖z_k‖² Σᵢ w_{k,i} f(θ_{k,i}) estimates tr f(A).
///
/// Each probe's Lanczos is fully re-orthogonalised against its own basis: without it, lost
/// orthogonality yields spurious copies of the outliers and wrong weights (Ghorbani et al. §2.2;
/// NOTES.md on PyHessian). Probes are independent: a batch of them is applied as one block of
/// directions, and the probe index alone fixes each vector, so splitting the probes among groups
/// of ranks does not change any of them.
public struct StochasticLanczosQuadrature {
    public var steps: Int
    public var distribution: ProbeDistribution
    public var seed: UInt64
    /// Each probe's basis distributed by rows over the operator's ranks (see `RowShardedOperator`).
    public var shardedBasis: Bool

    public init(steps: Int, distribution: ProbeDistribution = .rademacher, seed: UInt64 = 0, shardedBasis: Bool = true) {
        precondition(steps >= 1)
        self.shardedBasis = shardedBasis
        self.steps = steps
        self.distribution = distribution
        self.seed = seed
    }

    /// Bytes of working memory per probe of a batch on one of `ranks` sharing its rows (1:
    /// replicated): its rows of its basis of m vectors, of its block column and image and of the
    /// probe itself (the whole direction an application gathers is the operator's buffer, counted
    /// with it).
    public static func bytesPerProbe(dimension n: Int, steps m: Int, ranks: Int = 1) -> Double {
        8 * Double(n) / Double(max(ranks, 1)) * Double(m + 3)
    }

    /// The quadratures of probes `indices`, applied together (one operator call of
    /// `indices.count` directions per step). Every rank returns the same values.
    public func quadratures(_ a: any SymmetricOperator, probes indices: [Int]) throws -> [ProbeQuadrature] {
        let n = a.dimension
        let m = min(steps, n)
        let stream = ProbeStream(seed: seed, purpose: .density, distribution: distribution)
        let sharded = RowShardedOperator(a, sharded: shardedBasis)
        let rows = VectorRows(sharded), length = rows.count
        var bases = indices.map { _ in Basis(rows: rows, capacity: m) }
        var alpha = indices.map { _ in [Double]() }
        var beta = indices.map { _ in [Double]() }
        var current: [[Double]] = []
        var norms: [Double] = []
        for index in indices {
            let z = sharded.partition.slice(stream.vector(index, length: n), columns: 1)
            let norm = try rows.norm(z, column: 0)
            norms.append(norm * norm)
            current.append(z.map { $0 / norm })
        }
        var active = Array(indices.indices)
        for _ in 0..<m where !active.isEmpty {
            let block = active.flatMap { current[$0] }
            let images = try sharded.apply(block, count: active.count)
            try rows.requireFinite(images, "the operator")
            var stillActive: [Int] = []
            for (column, p) in active.enumerated() {
                var w = Array(images[column * length ..< (column + 1) * length])
                bases[p].append(current[p], count: 1)
                let coefficients = try bases[p].orthogonalize(&w, count: 1)
                alpha[p].append(coefficients[bases[p].count - 1])
                let b = try rows.norm(w, column: 0)
                // A lucky breakdown (the Krylov space of this probe is invariant) ends the probe
                // with an exact quadrature on fewer nodes.
                let scale = alpha[p].map(abs).max()! + (beta[p].max() ?? 0)
                guard bases[p].count < m, b > 1e-12 * max(scale, .leastNormalMagnitude) else { continue }
                beta[p].append(b)
                current[p] = w.map { $0 / b }
                stillActive.append(p)
            }
            active = stillActive
        }
        return try indices.indices.map { p in
            let size = alpha[p].count
            var t = [Double](repeating: 0, count: size * size)
            for i in 0..<size {
                t[i * size + i] = alpha[p][i]
                if i + 1 < size {
                    t[i * size + i + 1] = beta[p][i]
                    t[(i + 1) * size + i] = beta[p][i]
                }
            }
            let projected = try ProjectedEigenproblem(t, size: size)
            let weights = (0..<size).map { i in projected.vector(i, row: 0) * projected.vector(i, row: 0) }
            return ProbeQuadrature(probe: indices[p], nodes: projected.values, weights: weights, normSquared: norms[p])
        }
    }
}

/// The estimates one reads off a set of probe quadratures.
public struct QuadratureEstimate: Sendable {
    public let probes: [ProbeQuadrature]
    public let dimension: Int

    public init(probes: [ProbeQuadrature], dimension: Int) {
        precondition(!probes.isEmpty)
        self.probes = probes
        self.dimension = dimension
    }

    /// The density measure's atoms: every probe's nodes, with its weights divided by the number
    /// of probes (total mass 1), sorted by node.
    public var atoms: [(node: Double, weight: Double)] {
        let share = 1 / Double(probes.count)
        return probes.flatMap { p in zip(p.nodes, p.weights).map { ($0, $1 * share) } }.sorted { $0.node < $1.node }
    }

    /// tr(Aʲ) ≈ (1/p) Σ_k ‖z_k‖² Σᵢ w_{k,i} θ_{k,i}ʲ, with the standard error of the mean over probes.
    public func traceOfPower(_ j: Int) -> (estimate: Double, standardError: Double) {
        let samples = probes.map { $0.normSquared * $0.moment(j) }
        return meanAndStandardError(samples)
    }

    /// The smoothed density φ(t) = Σ atoms · N(t; θ, σ²) on `points` equally spaced t covering
    /// the atoms ± 4σ.
    public func density(sigma: Double, points: Int) -> (grid: [Double], density: [Double]) {
        let atoms = self.atoms
        let low = atoms.first!.node - 4 * sigma, high = atoms.last!.node + 4 * sigma
        let grid = (0..<points).map { low + (high - low) * Double($0) / Double(max(points - 1, 1)) }
        let normalization = 1 / (sigma * (2 * Double.pi).squareRoot())
        let density = grid.map { t in
            atoms.reduce(0) { sum, atom in
                let u = (t - atom.node) / sigma
                return sum + atom.weight * normalization * exp(-0.5 * u * u)
            }
        }
        return (grid, density)
    }
}

/// The mean of samples and its standard error s/√n (s the sample standard deviation; ∞ for one sample).
public func meanAndStandardError(_ samples: [Double]) -> (estimate: Double, standardError: Double) {
    let n = Double(samples.count)
    let mean = samples.reduce(0, +) / n
    guard samples.count > 1 else { return (mean, .infinity) }
    let variance = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
    return (mean, (variance / n).squareRoot())
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
