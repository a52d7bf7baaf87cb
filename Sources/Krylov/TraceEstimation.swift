import Cluster
import Objectives

/// How `TraceEstimator` estimates tr(Aᵖ).
public enum TraceMethod: String, Codable, Sendable, CaseIterable {
    /// Hutchinson 1989: the mean of zᵀ Aᵖ z over independent probes; variance 2‖Aᵖ‖_F² − 2Σ(Aᵖ)ᵢᵢ²
    /// per Rademacher probe.
    case hutchinson
    /// Meyer, Musco, Musco & Woodruff 2021: a third of the budget sketches the range of A
    /// (Q = orth(A S)), a third takes tr(Qᵀ Aᵖ Q) exactly, the rest runs Hutchinson on the
    /// deflated (I − QQᵀ) Aᵖ (I − QQᵀ) — whose variance lacks the top eigenvalues' share, so a
    /// spectrum of a few outliers over a small bulk (a trained network's G) needs far fewer matvecs.
    case hutchPlusPlus = "hutch++"
}

public struct TraceSettings: Sendable, Equatable {
    public var method: TraceMethod
    /// p = 1 (tr A) or 2 (tr A² = ‖A‖_F², the sum of squared eigenvalues).
    public var power: Int
    public var distribution: ProbeDistribution
    /// Stop once the standard error is ≤ tolerance · |estimate| (0: run the whole budget).
    public var tolerance: Double
    /// Operator applications allowed, per direction (Hutch++'s thirds are thirds of this).
    public var maxMatvecs: Int
    /// No stop on the tolerance before this many Hutchinson samples: a standard error from a
    /// handful of samples is itself too noisy to stop on.
    public var minimumSamples: Int
    /// Probes applied together.
    public var blockSize: Int
    public var seed: UInt64
    /// Probes and Hutch++'s range basis distributed by rows over the operator's ranks.
    public var shardedBasis: Bool

    public init(method: TraceMethod = .hutchinson, power: Int = 1, distribution: ProbeDistribution = .rademacher,
                tolerance: Double = 1e-2, maxMatvecs: Int = 1000, minimumSamples: Int = 10, blockSize: Int = 8, seed: UInt64 = 0,
                shardedBasis: Bool = true) {
        self.shardedBasis = shardedBasis
        self.method = method
        self.power = power
        self.distribution = distribution
        self.tolerance = tolerance
        self.maxMatvecs = maxMatvecs
        self.minimumSamples = minimumSamples
        self.blockSize = blockSize
        self.seed = seed
    }
}

public struct TraceEstimate: Codable, Sendable {
    public var method: TraceMethod
    public var power: Int
    public var estimate: Double
    /// The standard error of the estimate (of its stochastic part for Hutch++); nil with fewer
    /// than two samples.
    public var standardError: Double?
    /// Hutchinson samples taken (of the deflated operator for Hutch++).
    public var samples: Int { rawSamples.count }
    /// The samples themselves (zᵢᵀ Aᵖ zᵢ, in probe order): what a resumed run continues from.
    public var rawSamples: [Double]
    public var matvecs: Int
    /// Hutch++: tr(Qᵀ Aᵖ Q) and the rank of Q.
    public var lowRankPart: Double?
    public var sketchRank: Int?
    /// (matvecs, estimate, standard error) after every block: the estimate's convergence.
    public var history: [HistoryPoint]
    public var stoppedBy: String

    public struct HistoryPoint: Codable, Sendable {
        public var matvecs: Int
        public var estimate: Double
        public var standardError: Double?
    }
}

/// Hutchinson and Hutch++ on any symmetric operator. The probes are functions of the seed and
/// their index, so the estimate is the same on any number of ranks.
public struct TraceEstimator {
    public let settings: TraceSettings

    public init(_ settings: TraceSettings) {
        precondition(settings.power == 1 || settings.power == 2)
        self.settings = settings
    }

    /// Runs to the tolerance or the budget. `resuming` are the Hutchinson samples of a stopped
    /// run (probes 0 ..< count; Hutch++ recomputes its sketch, the same from the seed); `observe`
    /// sees every block's point on every rank and returns false to stop (`stoppedBy` "signal").
    public func run(_ a: any SymmetricOperator, resuming: [Double] = [],
                    observe: (TraceEstimate.HistoryPoint) -> Bool = { _ in true }) throws -> TraceEstimate {
        let sharded = RowShardedOperator(a, sharded: settings.shardedBasis)
        switch settings.method {
        case .hutchinson: return try estimate(sharded, deflation: nil, samples: resuming, observe: observe)
        case .hutchPlusPlus:
            let n = a.dimension, rows = VectorRows(sharded)
            let sketchSize = max(1, min(settings.maxMatvecs / 3, n))
            let sketch = ProbeStream(seed: settings.seed, purpose: .sketch, distribution: settings.distribution).block(0..<sketchSize, length: n)
            let image = try sharded.apply(sharded.partition.slice(sketch, columns: sketchSize), count: sketchSize)
            try rows.requireFinite(image, "the operator")
            // Q spans A S; a rank-deficient sketch (A of low rank) just gives a smaller Q.
            let q = try orthonormalize(image, rows: rows, count: sketchSize, against: nil).q
            let rank = q.count / rows.count
            var lowRank = 0.0
            if rank > 0 {
                let aq = try sharded.apply(q, count: rank)
                try rows.requireFinite(aq, "the operator")
                lowRank = try samples(q, aq, count: rank, rows: rows).reduce(0, +)
            }
            var deflation = Basis(rows: rows, capacity: max(rank, 1))
            deflation.append(q, count: rank)
            var result = try estimate(sharded, deflation: (deflation, lowRank, sketchSize + rank), samples: resuming, observe: observe)
            result.lowRankPart = lowRank
            result.sketchRank = rank
            return result
        }
    }

    /// zⱼᵀ Aᵖ zⱼ of the `count` columns of Z given A Z: zᵀ(Az), or ‖Az‖² for p = 2 — in one
    /// reduction of the block's partial sums when the rows are sharded.
    private func samples(_ z: [Double], _ az: [Double], count: Int, rows: VectorRows) throws -> [Double] {
        settings.power == 1 ? try rows.dots(z, az, columns: 0..<count) : try rows.norms(az, columns: 0..<count).map(pow2)
    }

    /// Hutchinson's mean over probes of zᵀ Aᵖ z, or with a deflation basis Q of (z')ᵀ Aᵖ z' with
    /// z' = (I − QQᵀ) z, plus tr(Qᵀ Aᵖ Q), stopping on the tolerance or the budget.
    private func estimate(_ a: RowShardedOperator, deflation: (basis: Basis, trace: Double, spent: Int)?, samples resumed: [Double],
                          observe: (TraceEstimate.HistoryPoint) -> Bool) throws -> TraceEstimate {
        let n = a.dimension, rows = VectorRows(a)
        let stream = ProbeStream(seed: settings.seed, purpose: deflation == nil ? .trace : .residual, distribution: settings.distribution)
        var samples = resumed
        var matvecs = (deflation?.spent ?? 0) + resumed.count
        let offset = deflation?.trace ?? 0
        var history: [TraceEstimate.HistoryPoint] = []
        var stoppedBy = "budget"
        while matvecs < settings.maxMatvecs {
            let count = min(settings.blockSize, settings.maxMatvecs - matvecs)
            var z = a.partition.slice(stream.block(samples.count ..< samples.count + count, length: n), columns: count)
            if let deflation { _ = try deflation.basis.orthogonalize(&z, count: count) }
            let az = try a.apply(z, count: count)
            try rows.requireFinite(az, "the operator")
            matvecs += count
            samples += try self.samples(z, az, count: count, rows: rows)
            let (mean, error) = meanAndStandardError(samples)
            let point = TraceEstimate.HistoryPoint(matvecs: matvecs, estimate: offset + mean, standardError: error.isFinite ? error : nil)
            history.append(point)
            // One verdict for every rank (a signal may reach one rank only).
            if try a.communicator.allreduce(observe(point) ? 0 : 1, .max) == 1 {
                stoppedBy = "signal"
                break
            }
            if settings.tolerance > 0, samples.count >= settings.minimumSamples, error <= settings.tolerance * abs(offset + mean) {
                stoppedBy = "tolerance"
                break
            }
        }
        let (mean, error) = samples.isEmpty ? (0, Double.infinity) : meanAndStandardError(samples)
        if samples.isEmpty { stoppedBy = "budget (no matvecs left for the stochastic part)" }
        return TraceEstimate(method: settings.method, power: settings.power, estimate: offset + mean,
                             standardError: error.isFinite ? error : (samples.isEmpty && deflation != nil ? 0 : nil),
                             rawSamples: samples, matvecs: matvecs, lowRankPart: nil, sketchRank: nil, history: history, stoppedBy: stoppedBy)
    }
}

@inline(__always) func pow2(_ x: Double) -> Double { x * x }
