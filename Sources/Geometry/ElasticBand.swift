import Support

/// The nudged elastic band's geometry (GEOMETRY.md §3; Jónsson, Mills & Jacobsen 1998; Henkelman
/// & Jónsson 2000; Henkelman, Uberuaga & Jónsson 2000 for the climbing image): the pivots of a
/// path between two fixed end points, and the NEB force on each interior pivot from the pivots'
/// energies and gradients. Pure arithmetic on vectors — the energies and gradients come from
/// whoever evaluates the loss, so the same code moves a band on a closed-form surface (the unit
/// tests) and on a network's training loss (`landscape path`).
///
/// Layout: the pivots p₀ = A, p₁ … p_P, p_{P+1} = B are rows of one flat array, pivot i at
/// `i·M ..< (i + 1)·M`, so an update rule moves all interior pivots as one vector.
///
/// A band may be one shard of a band sharded by rows: `dimension` is then this shard's rows of
/// every pivot, the elementwise steps (interpolation, insertion, the forces' rows) are local, and
/// whatever needs a sum over all rows (lengths, tangents' norms, projections) takes the
/// `ShardSums` that combines the shards' partial sums.
public struct ElasticBand: Sendable, Equatable {
    /// Parameters per pivot.
    public let dimension: Int
    /// Every pivot, end points included, row after row.
    public var pivots: [Double]

    public init(pivots: [Double], dimension: Int) {
        precondition(dimension > 0 && pivots.count % dimension == 0 && pivots.count / dimension >= 2)
        self.pivots = pivots
        self.dimension = dimension
    }

    /// The straight band from `a` to `b` with `interior` equally spaced pivots between them:
    /// pᵢ = (1 − tᵢ)·A + tᵢ·B, tᵢ = i / (P + 1) (so the ends are A and B bit for bit).
    public init(from a: [Double], to b: [Double], interior: Int) {
        precondition(a.count == b.count && interior >= 0)
        var flat: [Double] = []
        flat.reserveCapacity((interior + 2) * a.count)
        for i in 0...(interior + 1) {
            let t = Double(i) / Double(interior + 1)
            flat += Self.interpolate(a[...], b[...], t)
        }
        self.init(pivots: flat, dimension: a.count)
    }

    /// Pivots, end points included.
    public var count: Int { pivots.count / dimension }
    public var interiorCount: Int { count - 2 }

    public func pivot(_ i: Int) -> ArraySlice<Double> { pivots[(i * dimension)..<((i + 1) * dimension)] }

    /// The interior pivots as one vector (what an update rule moves).
    public var interior: ArraySlice<Double> { pivots[dimension..<((count - 1) * dimension)] }

    public mutating func setInterior(_ values: [Double]) {
        precondition(values.count == interiorCount * dimension)
        pivots.replaceSubrange(dimension..<((count - 1) * dimension), with: values)
    }

    /// (1 − t)·a + t·b: t = 0 and t = 1 give a and b exactly.
    public static func interpolate(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>, _ t: Double) -> [Double] {
        if t == 0 { return Array(a) }
        if t == 1 { return Array(b) }
        return zip(a, b).map { (1 - t) * $0 + t * $1 }
    }

    /// |p_{i+1} − pᵢ| for every segment i = 0 … count − 2 (collective over the shards).
    public func segmentLengths(_ sums: ShardSums = .whole) throws -> [Double] {
        try sums(segmentSquares).map { $0.squareRoot() }
    }

    /// This shard's part of |p_{i+1} − pᵢ|² for every segment.
    private var segmentSquares: [Double] {
        (0..<(count - 1)).map { i in Self.squaredDistance(pivot(i), pivot(i + 1)) }
    }

    /// Arc length at every pivot, from 0 at A to the path length at B (collective over the shards).
    public func arcLengths(_ sums: ShardSums = .whole) throws -> [Double] {
        Self.arcLengths(segments: try segmentLengths(sums))
    }

    /// Running sums of segment lengths, from 0.
    public static func arcLengths(segments: [Double]) -> [Double] {
        var s = [0.0]
        for l in segments { s.append(s.last! + l) }
        return s
    }

    /// |a − b| of two whole vectors.
    public static func distance(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>) -> Double {
        squaredDistance(a, b).squareRoot()
    }

    /// |a − b| of two vectors sharded alike (this shard's rows of each; collective).
    public static func distance(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>, _ sums: ShardSums) throws -> Double {
        try sums([squaredDistance(a, b)])[0].squareRoot()
    }

    static func squaredDistance(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>) -> Double {
        zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
    }

    /// Henkelman & Jónsson's improved tangent at interior pivot i, normalised: towards the
    /// higher-energy neighbour when the energy rises monotonically through i; at a local extremum
    /// of the band, both neighbour directions weighted by the larger and smaller energy difference
    /// (so the tangent turns smoothly as the extremum passes, and kinks do not form). Collective
    /// over the shards (its norm).
    public func tangent(at i: Int, energies E: [Double], _ sums: ShardSums = .whole) throws -> [Double] {
        let τ = unnormalizedTangent(at: i, energies: E)
        let norm = try sums([τ.reduce(0) { $0 + $1 * $1 }])[0].squareRoot()
        return norm > 0 ? τ.map { $0 / norm } : τ
    }

    /// The tangent's direction before normalisation: only the energies choose between the cases,
    /// so every shard picks the same case and its rows of the same vector.
    private func unnormalizedTangent(at i: Int, energies E: [Double]) -> [Double] {
        precondition(i > 0 && i < count - 1 && E.count == count)
        // τ = wf·(p_{i+1} − pᵢ) + wb·(pᵢ − p_{i−1}), in one pass (M may be millions of rows).
        let (wf, wb): (Double, Double)
        if E[i + 1] > E[i] && E[i] > E[i - 1] {
            (wf, wb) = (1, 0)
        } else if E[i + 1] < E[i] && E[i] < E[i - 1] {
            (wf, wb) = (0, 1)
        } else {
            let up = abs(E[i + 1] - E[i]), down = abs(E[i - 1] - E[i])
            let (large, small) = (max(up, down), min(up, down))
            let weights = E[i + 1] > E[i - 1] ? (large, small) : (small, large)
            // Equal neighbours and a flat band: the plain bisector.
            (wf, wb) = weights == (0, 0) ? (1, 1) : weights
        }
        return pivots.withUnsafeBufferPointer { all in
            let previous = all.baseAddress! + (i - 1) * dimension, p = previous + dimension, next = p + dimension
            return [Double](unsafeUninitializedCapacity: dimension) { τ, initialized in
                for j in 0..<dimension {
                    let forward = next[j] - p[j], backward = p[j] - previous[j]
                    τ[j] = wf == 1 && wb == 0 ? forward : wf == 0 && wb == 1 ? backward : wf * forward + wb * backward
                }
                initialized = dimension
            }
        }
    }

    /// The force on every interior pivot and what convergence is judged by.
    public struct Forces: Sendable {
        /// The NEB force of every interior pivot, as one vector (the interior's layout).
        public var force: [Double]
        /// |F⊥| of every interior pivot: the loss force perpendicular to the path. For the
        /// climbing pivot, the norm of its whole force (|∇L| with the parallel part inverted), which
        /// vanishes only where ∇L does.
        public var residual: [Double]
        /// The interior pivot that climbs (its index among all pivots), if any.
        public var climbing: Int?
        /// |p_{i+1} − pᵢ| of every segment, as the springs saw them.
        public var segmentLengths: [Double]

        /// The convergence measure: the largest residual.
        public var largestResidual: Double { residual.max() ?? 0 }
    }

    /// The NEB force on every interior pivot i (GEOMETRY.md §3):
    /// Fᵢ = −∇L(pᵢ) + (∇L(pᵢ)·τᵢ)τᵢ + k(|p_{i+1} − pᵢ| − |pᵢ − p_{i−1}|)τᵢ, and, with `climb`, for
    /// the highest interior pivot F = −∇L + 2(∇L·τ)τ (no spring: it climbs along the path to the
    /// saddle while the others keep it nudged). `gradients` holds ∇L of the interior pivots in the
    /// interior's layout; `energies` every pivot's loss, end points included.
    ///
    /// On a sharded band (`sums` over the shards) every shard computes its rows of the forces;
    /// the sums they need travel in two reductions: the segment lengths with the tangents' norms
    /// and their products with ∇L, then the residuals' squares.
    public func forces(energies E: [Double], gradients: [Double], spring k: Double, climb: Bool,
                       _ sums: ShardSums = .whole) throws -> Forces {
        precondition(E.count == count && gradients.count == interiorCount * dimension)
        let climbing: Int? = climb && interiorCount > 0 ? (1..<(count - 1)).max { E[$0] < E[$1] } : nil
        let n = interiorCount
        let tangents = (1..<(count - 1)).map { unnormalizedTangent(at: $0, energies: E) }
        // [|segment|² …, |τ|² …, ∇L·τ …] in one reduction.
        var partial = segmentSquares
        for τ in tangents { partial.append(τ.reduce(0) { $0 + $1 * $1 }) }
        for (p, τ) in tangents.enumerated() {
            let base = p * dimension
            var dot = 0.0
            for j in 0..<dimension { dot += gradients[base + j] * τ[j] }
            partial.append(dot)
        }
        let whole = try sums(partial)
        let lengths = whole[0..<(count - 1)].map { $0.squareRoot() }
        let norms = whole[(count - 1)..<(count - 1 + n)].map { $0.squareRoot() }
        let dots = Array(whole[(count - 1 + n)...])
        var force = [Double](repeating: 0, count: gradients.count), squares: [Double] = []
        for i in 1..<(count - 1) {
            let p = i - 1, base = p * dimension
            let norm = norms[p], τ = tangents[p]
            let scale = norm > 0 ? 1 / norm : 1
            let along = dots[p] * scale
            var square = 0.0
            if i == climbing {
                for j in 0..<dimension {
                    let f = -gradients[base + j] + 2 * along * τ[j] * scale
                    force[base + j] = f
                    square += f * f
                }
            } else {
                let spring = k * (lengths[i] - lengths[i - 1])
                for j in 0..<dimension {
                    let perpendicular = -gradients[base + j] + along * τ[j] * scale
                    square += perpendicular * perpendicular
                    force[base + j] = perpendicular + spring * τ[j] * scale
                }
            }
            squares.append(square)
        }
        let residual = try sums(squares).map { $0.squareRoot() }
        return Forces(force: force, residual: residual, climbing: climbing, segmentLengths: lengths)
    }

    /// AutoNEB's refinement test between neighbouring pivots (GEOMETRY.md §4): `segmentMaxima[i]`
    /// is the largest loss sampled on the straight segment pᵢ → p_{i+1} (at parameter `at[i]`).
    /// A segment needs a new pivot where that maximum exceeds the higher of its two pivots by more
    /// than `threshold` × the band's energy range (max − min over the pivots); at most `budget`
    /// new pivots, the largest excesses first. Returns (segment, t) pairs in segment order.
    public static func insertions(energies E: [Double], segmentMaxima: [Double], at t: [Double],
                                  threshold: Double, budget: Int) -> [(segment: Int, t: Double)] {
        precondition(segmentMaxima.count == E.count - 1 && t.count == segmentMaxima.count)
        guard budget > 0, let high = E.max(), let low = E.min() else { return [] }
        // A flat band (range 0) is refined only by segments that rise above it at all.
        let margin = threshold * (high - low)
        let excess = segmentMaxima.indices.map { segmentMaxima[$0] - max(E[$0], E[$0 + 1]) - margin }
        let wanted = excess.indices.filter { excess[$0] > 0 && t[$0] > 0 && t[$0] < 1 }
            .sorted { excess[$0] > excess[$1] }.prefix(budget).sorted()
        return wanted.map { ($0, t[$0]) }
    }

    /// The band with a pivot inserted at (1 − t)·p_s + t·p_{s+1} for each (s, t), s in increasing order.
    public func inserting(_ points: [(segment: Int, t: Double)]) -> ElasticBand {
        var flat: [Double] = []
        flat.reserveCapacity(pivots.count + points.count * dimension)
        var next = points.makeIterator(), pending = next.next()
        for i in 0..<count {
            flat += pivot(i)
            while let p = pending, p.segment == i {
                flat += Self.interpolate(pivot(i), pivot(i + 1), p.t)
                pending = next.next()
            }
        }
        return ElasticBand(pivots: flat, dimension: dimension)
    }
}
