import Cluster
import Objectives
import Support

/// Which end of the spectrum an eigensolver is asked for.
public enum SpectrumEnd: String, Codable, Sendable, CaseIterable {
    case largest, smallest, both
}

/// Settings of `Lanczos`.
public struct LanczosSettings: Sendable, Equatable {
    /// k: eigenpairs wanted at each end asked for.
    public var count: Int
    public var which: SpectrumEnd
    /// An eigenpair (θ, v) has converged when ‖Av − θv‖ ≤ tolerance · |θ₁|, θ₁ the Ritz value
    /// largest in magnitude (≈ ‖A‖₂).
    public var tolerance: Double
    /// b: directions applied together (one operator call per block; B directions of an HVP cost
    /// much less than B single ones).
    public var blockSize: Int
    /// The most basis vectors kept; when the basis is full the iteration restarts thickly.
    public var basis: Int
    /// The iteration stops (unconverged pairs reported as such) after this many operator
    /// applications, counted per direction.
    public var maxMatvecs: Int
    public var seed: UInt64
    /// Look for further copies of multiple eigenvalues before accepting (see `Lanczos.run`);
    /// costs up to twice the matvecs.
    public var checkMultiplicity: Bool
    /// The basis and blocks distributed by rows over the operator's ranks (`RowShardedOperator`):
    /// n/P rows of every vector per rank instead of all n. False keeps them replicated.
    public var shardedBasis: Bool

    public init(count: Int, which: SpectrumEnd = .largest, tolerance: Double = 1e-10, blockSize: Int = 1,
                basis: Int, maxMatvecs: Int, seed: UInt64 = 0, checkMultiplicity: Bool = false, shardedBasis: Bool = true) {
        self.checkMultiplicity = checkMultiplicity
        self.shardedBasis = shardedBasis
        self.count = count
        self.which = which
        self.tolerance = tolerance
        self.blockSize = blockSize
        self.basis = basis
        self.maxMatvecs = maxMatvecs
        self.seed = seed
    }

    /// Eigenpairs wanted in all: k, or 2k for both ends.
    public var wanted: Int { which == .both ? 2 * count : count }

    /// The smallest basis a thick restart can work with: the wanted Ritz vectors, one block
    /// beyond them that the restart keeps, and the block being expanded with its augmentation.
    public static func minimumBasis(count: Int, which: SpectrumEnd, blockSize: Int) -> Int {
        (which == .both ? 2 * count : count) + 3 * blockSize
    }

    /// Bytes of working memory per rank for a basis of `basis` vectors of length n sharded over
    /// `ranks` (1: replicated): this rank's rows of the basis, of the expansion block and its image
    /// and of the Ritz vectors and their images at the end; on several ranks the k eigenvectors
    /// gathered whole at the end; and the projected problem (T, its eigenvectors, LAPACK's
    /// workspace ≈ 2c²). The whole directions an operator application gathers, its local sums and
    /// their regrouping are the operator's buffers, which callers count with the operator.
    public static func workingBytes(dimension n: Int, basis: Int, blockSize b: Int, wanted: Int, ranks: Int = 1) -> Double {
        let rows = Double(n) / Double(max(ranks, 1))
        var vectors = Double(basis + 3 * b + 2 * wanted) * rows
        if ranks > 1 { vectors += Double(wanted) * Double(n) }
        return 8 * (vectors + 5 * Double(basis) * Double(basis))
    }
}

/// The k extreme eigenpairs of a symmetric operator by block Lanczos with full
/// re-orthogonalisation and thick restart (Wu & Simon 2000, in the Krylov–Schur form of Stewart
/// 2001): the projected matrix T = Vᵀ A V is kept dense, so after a restart — V replaced by the
/// kept Ritz vectors, T by their Ritz values — the next block's coefficients against every basis
/// vector are simply new columns of T, and the relation A V = V T + Q R Eᵀ (Q the next block) holds
/// throughout. The residual of a Ritz pair (θ, V s) is then ‖R s_last‖, s_last being the last
/// block's rows of s; the final check recomputes every reported residual as ‖Av − θv‖ with real
/// operator applications.
///
/// Every rank runs the same iteration on its rows of the vectors (`settings.shardedBasis`; all of
/// them when replicated): T, the Ritz pairs and every decision are replicated, built from
/// allreduced coefficients and norms, and one agreed verdict per step ends the loop, so ranks
/// cannot diverge in what they decide.
public struct Lanczos {
    public let settings: LanczosSettings

    public init(_ settings: LanczosSettings) { self.settings = settings }

    /// The resumable state between two expansions: the basis, T, the block to expand next.
    public struct State: Sendable {
        /// The rows of `basis` and `next` this rank holds.
        public var rows: RowPartition
        public var basis: [Double]
        public var basisCount: Int
        public var projected: [Double]
        public var next: [Double]
        public var matvecs: Int
        public var restarts: Int
        public var expansions: Int
        /// How far below `tolerance` the estimates must fall (tightened when a true residual
        /// disagreed with its estimate).
        public var estimateFactor: Double
        /// The wanted Ritz values when the basis was last augmented (see `run`), the expansion
        /// of the first convergence, and the expansion before which no convergence is accepted.
        public var augmentedAt: [Double]?
        public var firstConvergence: Int?
        public var holdUntil: Int
        public var seconds: Seconds

        public init(rows: RowPartition, basis: [Double], basisCount: Int, projected: [Double], next: [Double], matvecs: Int, restarts: Int, expansions: Int,
                    estimateFactor: Double, augmentedAt: [Double]?, firstConvergence: Int?, holdUntil: Int, seconds: Seconds) {
            (self.rows, self.basis, self.basisCount, self.projected, self.next) = (rows, basis, basisCount, projected, next)
            (self.matvecs, self.restarts, self.expansions, self.estimateFactor) = (matvecs, restarts, expansions, estimateFactor)
            (self.augmentedAt, self.firstConvergence, self.holdUntil, self.seconds) = (augmentedAt, firstConvergence, holdUntil, seconds)
        }
    }

    public struct Seconds: Sendable, Codable, Equatable {
        public var operator_ = 0.0
        public var orthogonalization = 0.0
        public var ritz = 0.0
        public var restart = 0.0
        enum CodingKeys: String, CodingKey {
            case operator_ = "operator", orthogonalization, ritz, restart
        }
    }

    /// What the observer sees after each expansion.
    public struct Step: Sendable {
        public var matvecs: Int
        public var converged: Int
        public var wanted: Int
        /// The worst estimated residual among the wanted pairs, relative to |θ₁|.
        public var worstResidual: Double
        public var basisCount: Int
    }

    public struct Result: Sendable {
        /// Largest first for `.largest`, smallest first for `.smallest`; for `.both` the k largest
        /// (descending) then the k smallest (ascending).
        public var eigenvalues: [Double]
        /// n × (number of eigenvalues), column-major, unit columns.
        public var eigenvectors: [Double]
        /// ‖Av − θv‖ of each pair, computed with the operator.
        public var residuals: [Double]
        /// |θ₁|, the largest Ritz value in magnitude (≈ ‖A‖₂): the tolerance's scale.
        public var scale: Double
        public var converged: [Bool]
        public var matvecs: Int
        public var restarts: Int
        public var expansions: Int
        public var seconds: Seconds
    }

    public enum Outcome: Sendable {
        case finished(Result)
        /// The observer asked to stop; continue with `run(…, from: state)`.
        case stopped(State)
    }

    /// Runs to convergence or the matvec budget, with no observer (so it never stops early).
    public func run(_ a: any SymmetricOperator) throws -> Result {
        // Only an observer that returns false stops the iteration; this one never does.
        guard case .finished(let result) = try run(a, from: nil, observe: { _ in true }) else {
            preconditionFailure("Lanczos stopped without an observer asking it to")
        }
        return result
    }

    /// Runs to convergence or the matvec budget from `block` (n × blockSize, column-major;
    /// orthonormalised here) instead of the seed's random first block: a warm start from nearby
    /// eigenvectors — min-mode following's previous Ritz vectors, whose Krylov space already holds
    /// most of the wanted pairs.
    public func run(_ a: any SymmetricOperator, startingWith block: [Double]) throws -> Result {
        precondition(block.count == a.dimension * settings.blockSize)
        let first = try Iteration(settings, operator: RowShardedOperator(a, sharded: settings.shardedBasis), restoring: nil, start: block).state
        guard case .finished(let result) = try run(a, from: first, observe: { _ in true }) else {
            preconditionFailure("Lanczos stopped without an observer asking it to")
        }
        return result
    }

    /// Runs to convergence or the matvec budget. `observe` is called after every expansion on
    /// every rank with the same values; returning false stops the iteration at a resumable state.
    ///
    /// Each pass: `expand` the basis by the next block, `rayleighRitz` on T with the residual
    /// estimates, one agreed verdict (ended on some rank, stop asked by some observer), then either
    /// hold (a multiplicity check still resolving), `augment` (the check's fresh directions), or
    /// `finish` (true residuals: return, or tighten the estimates and go on), and `restartIfFull`.
    public func run(_ a: any SymmetricOperator, from saved: State?,
                    observe: (Step) throws -> Bool) throws -> Outcome {
        let n = a.dimension, b = settings.blockSize
        // wanted = n is allowed (critical's and path's inertia at M ≤ k): the basis then grows until
        // it spans the space, where the Ritz pairs are the exact eigenpairs — all n of them.
        precondition(settings.count >= 1 && settings.wanted <= n && b >= 1 && b <= n)
        precondition(settings.basis >= LanczosSettings.minimumBasis(count: settings.count, which: settings.which, blockSize: b) || settings.basis >= n)
        let world = a.communicator
        var iteration = try Iteration(settings, operator: RowShardedOperator(a, sharded: settings.shardedBasis), restoring: saved)
        while true {
            let expansion = try iteration.expand()
            let ritz = try iteration.rayleighRitz(expansion)
            let budgetLeft = iteration.matvecs + b <= settings.maxMatvecs
            let proceed = try observe(Step(matvecs: iteration.matvecs, converged: ritz.allWanted ? ritz.convergedCount : 0,
                                           wanted: settings.wanted, worstResidual: ritz.worstResidual, basisCount: expansion.size))
            let canGoOn = !expansion.exhausted && !iteration.next.isEmpty
            let done = ritz.allConverged || !canGoOn || !budgetLeft
            // One verdict for all ranks, so none leaves the loop alone: two flags, each the largest
            // over the ranks; a stop wins over everything but the end.
            var flags = [done ? 1 : 0, proceed ? 0 : 1]
            try world.allreduce(&flags, .max)
            let ended = flags[0] == 1, stopAsked = flags[1] == 1
            // Converged — but a Krylov space holds only a b-dimensional part of each eigenspace,
            // so a multiple eigenvalue (G's null space, degenerate outliers) is found at most b
            // times. With `checkMultiplicity`, convergence is accepted only once an expansion with
            // b fresh random directions beside the continuation, run for as many expansions as the
            // first convergence took (what the fresh directions need to be resolved), leaves the
            // wanted Ritz values unchanged; a copy the space lacked shows up as a change.
            let values = ritz.wanted.map { ritz.projected.values[$0] }
            if ended && iteration.firstConvergence == nil { iteration.firstConvergence = iteration.expansions }
            let held = ended && iteration.expansions < iteration.holdUntil && canGoOn && budgetLeft
            let unchanged = iteration.augmentedAt.map { old in
                zip(old, values).allSatisfy { abs($0 - $1) <= 10 * settings.tolerance * ritz.scale }
            } ?? false
            if held {
                // not yet: the fresh directions are still being resolved
            } else if ended, settings.checkMultiplicity, !unchanged, canGoOn, iteration.matvecs + 2 * b <= settings.maxMatvecs {
                try iteration.augment(values: values)
            } else if ended, let result = try iteration.finish(ritz, canGoOn: canGoOn) {
                return .finished(result)
            }
            iteration.restartIfFull(ritz)
            // Stopped between expansions, after any restart, so the saved basis has room for `next`.
            // A signal during a multiplicity hold or a retry (converged once) stops there too.
            if stopAsked { return .stopped(iteration.state) }
        }
    }

    /// The indices (into ascending `values`) of the `count` pairs wanted, most wanted first: the
    /// largest descending, the smallest ascending, or for both ends the upper half of `count`
    /// from the top (descending) then the rest from the bottom (ascending).
    func selection(of values: [Double], count: Int) -> [Int] {
        let c = values.count, k = min(count, c)
        switch settings.which {
        case .largest: return (0..<k).map { c - 1 - $0 }
        case .smallest: return Array(0..<k)
        case .both:
            // k largest then k smallest, in the result's order; while the basis is small the two
            // ends share what there is.
            let high = (k + 1) / 2, low = k - high
            return (0..<high).map { c - 1 - $0 } + (0..<low).map { $0 }
        }
    }

    /// Columns `indices` of the projected eigenvectors, as one c × |indices| block.
    static func columns(_ projected: ProjectedEigenproblem, _ indices: [Int]) -> [Double] {
        let c = projected.size
        var s: [Double] = []
        s.reserveCapacity(c * indices.count)
        for i in indices { s.append(contentsOf: projected.vectors[i * c ..< (i + 1) * c]) }
        return s
    }

    /// The leading c × c part of T stored with leading dimension `capacity`, packed.
    static func leading(_ t: [Double], capacity: Int, size c: Int) -> [Double] {
        var packed = [Double](repeating: 0, count: c * c)
        for j in 0..<c { for i in 0..<c { packed[j * c + i] = t[j * capacity + i] } }
        return packed
    }
}

extension Lanczos {
    /// What one expansion leaves: the basis size c, the block's width, and R of the next block
    /// Q R = W (width × width; rows beyond Q's width zero).
    struct Expansion {
        let size: Int
        let width: Int
        let r: [Double]
        /// The basis spans the space: the Ritz pairs are exact.
        let exhausted: Bool
    }

    /// Rayleigh–Ritz on the leading c × c part of T: the Ritz pairs, the wanted ones, the
    /// tolerance's scale, and the residual estimates.
    struct Ritz {
        let projected: ProjectedEigenproblem
        let wanted: [Int]
        /// |θ₁|, the largest Ritz value in magnitude (≈ ‖A‖).
        let scale: Double
        let worstResidual: Double
        let convergedCount: Int
        let allWanted: Bool
        var allConverged: Bool { allWanted && convergedCount == wanted.count }
    }

    /// The iteration between two expansions — the basis, T, the block to expand next and the
    /// counters — and the steps that advance it. `state` is all of it, so a stopped run resumes
    /// bit for bit.
    struct Iteration {
        let settings: LanczosSettings
        let a: RowShardedOperator
        /// The operator's dimension, and the rows of every vector held here.
        let n: Int
        let rows: VectorRows
        var basis: Basis
        var t: [Double]
        var next: [Double]
        var matvecs = 0, restarts = 0, expansions = 0
        /// How far below `tolerance` the estimates must fall.
        var factor = 1.0
        var seconds = Seconds()
        var augmentedAt: [Double]? = nil
        var firstConvergence: Int? = nil
        var holdUntil = 0
        let replacements: ProbeStream

        var capacity: Int { settings.basis }

        init(_ settings: LanczosSettings, operator a: RowShardedOperator, restoring saved: State?, start given: [Double]? = nil) throws {
            self.settings = settings
            self.a = a
            n = a.dimension
            rows = VectorRows(a)
            replacements = ProbeStream(seed: settings.seed, purpose: .replacement, distribution: .gaussian)
            if let saved {
                precondition(saved.rows == a.partition, "a Lanczos state resumes on the rows it was saved with")
                basis = Basis(restoring: saved.basis, count: saved.basisCount, rows: rows, capacity: settings.basis)
                t = saved.projected
                next = saved.next
                (matvecs, restarts, expansions, factor, seconds) = (saved.matvecs, saved.restarts, saved.expansions, saved.estimateFactor, saved.seconds)
                (augmentedAt, firstConvergence, holdUntil) = (saved.augmentedAt, saved.firstConvergence, saved.holdUntil)
            } else {
                basis = Basis(rows: rows, capacity: settings.basis)
                t = [Double](repeating: 0, count: settings.basis * settings.basis)
                let b = settings.blockSize
                let start = given ?? ProbeStream(seed: settings.seed, purpose: .start, distribution: .gaussian).block(0..<b, length: n)
                next = []
                next = try orthonormalize(a.partition.slice(start, columns: b), rows: rows, count: b, against: nil, replacement: replacement).q
            }
        }

        /// A fresh direction where a block column breaks down: a function of the expansion and
        /// column alone, so a resumed run draws the same ones.
        var replacement: (Int) -> [Double] {
            let (stream, expansion, n) = (replacements, expansions, n)
            return { stream.vector(expansion * 4096 + $0, length: n) }
        }

        /// Expand: W = A Q; its coefficients against the basis and Q itself are T's new columns,
        /// and W's part outside the basis is the next block. Q is b wide: 2b after an augmentation,
        /// narrower where the Krylov space ran out of room (c + b > n).
        mutating func expand() throws -> Expansion {
            let width = next.count / rows.count
            let clock = Stopwatch()
            var w = try a.apply(next, count: width)
            try rows.requireFinite(w, "the operator")
            matvecs += width
            seconds.operator_ += clock.seconds
            let orthogonalizing = Stopwatch()
            let c0 = basis.count
            basis.append(next, count: width)
            let coefficients = try basis.orthogonalize(&w, count: width)
            let c = basis.count
            for j in 0..<width {
                for i in 0..<c0 {
                    t[(c0 + j) * capacity + i] = coefficients[j * c + i]
                    t[i * capacity + c0 + j] = coefficients[j * c + i]
                }
                // The diagonal block, symmetrised: (Qᵀ A Q + (Qᵀ A Q)ᵀ) / 2.
                for i in 0..<width {
                    t[(c0 + j) * capacity + c0 + i] = (coefficients[j * c + c0 + i] + coefficients[i * c + c0 + j]) / 2
                }
            }
            // The next block Q R = W.
            let exhausted = c >= n
            var r = [Double](repeating: 0, count: width * width)
            if exhausted {
                next = []
            } else {
                let scale = (0..<c).reduce(0.0) { max($0, abs(t[$1 * capacity + $1])) }   // ≤ ‖A‖, a scale for breakdown
                let factorization = try orthonormalize(w, rows: rows, count: width, against: basis, scale: scale, replacement: replacement)
                next = factorization.q
                r = factorization.r
            }
            expansions += 1
            seconds.orthogonalization += orthogonalizing.seconds
            return Expansion(size: c, width: width, r: r, exhausted: exhausted)
        }

        /// Rayleigh–Ritz on T and the residual estimates ‖R s_last‖.
        mutating func rayleighRitz(_ expansion: Expansion) throws -> Ritz {
            let clock = Stopwatch()
            let (c, width, r) = (expansion.size, expansion.width, expansion.r)
            let projected = try ProjectedEigenproblem(Lanczos.leading(t, capacity: capacity, size: c), size: c)
            let wanted = Lanczos(settings).selection(of: projected.values, count: settings.wanted)
            // The tolerance's scale |θ₁|: the largest Ritz value in magnitude, ≈ ‖A‖ (not the wanted
            // pair's own |θ|, which is no scale at all for eigenvalues at zero — G's null space).
            let scale = max(abs(projected.values.first!), abs(projected.values.last!))
            var worst = 0.0
            var convergedCount = 0
            for i in wanted {
                var r2 = 0.0
                for row in 0..<width {
                    var sum = 0.0
                    for col in 0..<width { sum += r[col * width + row] * projected.vector(i, row: c - width + col) }
                    r2 += sum * sum
                }
                let relative = r2.squareRoot() / max(scale, .leastNormalMagnitude)
                worst = max(worst, relative)
                if relative <= settings.tolerance * factor { convergedCount += 1 }
            }
            seconds.ritz += clock.seconds
            return Ritz(projected: projected, wanted: wanted, scale: scale, worstResidual: worst, convergedCount: convergedCount,
                        allWanted: wanted.count == settings.wanted)
        }

        /// The multiplicity check: b fresh random directions, orthogonal to the basis and to the
        /// continuation, join the next block — only those with a real part outside the space.
        mutating func augment(values: [Double]) throws {
            let b = settings.blockSize, length = rows.count
            augmentedAt = values
            holdUntil = expansions + (firstConvergence ?? expansions)
            let fresh = a.partition.slice(ProbeStream(seed: settings.seed, purpose: .replacement, distribution: .gaussian)
                .block(expansions * 4096 + 2048 ..< expansions * 4096 + 2048 + b, length: n), columns: b)
            var extra = fresh
            _ = try basis.orthogonalize(&extra, count: b)
            var continuation = Basis(rows: rows, capacity: next.count / length)
            continuation.append(next, count: next.count / length)
            _ = try continuation.orthogonalize(&extra, count: b)
            let (left, whole) = (try rows.norms(extra, columns: 0..<b), try rows.norms(fresh, columns: 0..<b))
            let room = (0..<b).filter { left[$0] > 1e-8 * whole[$0] }
            let columns = room.flatMap { extra[$0 * length ..< ($0 + 1) * length] }
            next += try orthonormalize(columns, rows: rows, count: room.count, against: nil).q
        }

        /// The true residuals ‖Av − θv‖, with the operator (the estimates assume exact
        /// orthogonality): the result, or nil when an estimate was optimistic and the iteration can
        /// go on — then the estimates must fall ten times lower (collective: one agreed verdict).
        mutating func finish(_ ritz: Ritz, canGoOn: Bool) throws -> Result? {
            let (projected, wanted, c) = (ritz.projected, ritz.wanted, ritz.projected.size)
            let y = basis.combine(Lanczos.columns(projected, wanted), ld: c, columns: wanted.count)
            let clock = Stopwatch()
            let ay = try a.apply(y, count: wanted.count)
            try rows.requireFinite(ay, "the operator")
            seconds.operator_ += clock.seconds
            matvecs += wanted.count
            let length = rows.count
            var squares = wanted.enumerated().map { column, i in
                var r2 = 0.0
                let θ = projected.values[i]
                for e in column * length ..< (column + 1) * length {
                    let d = ay[e] - θ * y[e]
                    r2 += d * d
                }
                return r2
            }
            try rows.sum(&squares)
            let residuals = squares.map { $0.squareRoot() }
            let converged = residuals.map { $0 <= settings.tolerance * max(ritz.scale, .leastNormalMagnitude) }
            let retry = !converged.allSatisfy { $0 } && canGoOn && matvecs + settings.blockSize <= settings.maxMatvecs && factor > 1e-4
            if try a.communicator.allreduce(retry ? 1 : 0, .max) == 0 {
                // The k Ritz vectors whole on every rank: what callers write and compare.
                let eigenvectors = try a.gather(y, columns: wanted.count)
                return Result(eigenvalues: wanted.map { projected.values[$0] }, eigenvectors: eigenvectors, residuals: residuals,
                              scale: ritz.scale, converged: converged, matvecs: matvecs, restarts: restarts,
                              expansions: expansions, seconds: seconds)
            }
            factor /= 10
            return nil
        }

        /// Thick restart when the next expansion would not fit: keep the wanted Ritz vectors and
        /// the best of the rest, up to half the basis (and always room for the next expansion).
        mutating func restartIfFull(_ ritz: Ritz) {
            let c = ritz.projected.size
            let width = next.count / rows.count
            guard basis.count + width > capacity else { return }
            let clock = Stopwatch()
            let keep = min(capacity - width, max(settings.wanted + settings.blockSize, capacity / 2), c)
            let kept = Lanczos(settings).selection(of: ritz.projected.values, count: keep)
            basis.rotate(by: Lanczos.columns(ritz.projected, kept), ld: c, keeping: kept.count)
            t = [Double](repeating: 0, count: capacity * capacity)
            for (j, i) in kept.enumerated() { t[j * capacity + j] = ritz.projected.values[i] }
            restarts += 1
            seconds.restart += clock.seconds
        }

        var state: State {
            State(rows: a.partition, basis: basis.storage, basisCount: basis.count, projected: t, next: next, matvecs: matvecs, restarts: restarts,
                  expansions: expansions, estimateFactor: factor, augmentedAt: augmentedAt, firstConvergence: firstConvergence,
                  holdUntil: holdUntil, seconds: seconds)
        }
    }
}
