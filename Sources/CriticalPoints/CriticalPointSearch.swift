import Krylov
import Objectives
import Optimization

/// A critical point ∇L(θ) = 0 of any index — saddles as well as minima — as a problem on the
/// shared iterative driver (GEOMETRY.md §6, docs/critical.md).
///
/// The merit function is f(θ) = ½‖∇L(θ)‖², whose gradient is H∇L (one Hessian–vector product).
/// Its minima with f = 0 are the critical points, but plain descent on f is slow and stalls at
/// minima of f that are not critical points; Newton-type steps on the system ∇L = 0 are not
/// attracted by the index of the point they approach:
///
/// * `newton`: H assembled exactly at every iterate and decomposed, H = Z Λ Zᵀ (the operator the
///   `hessian` closure hands over is an `EigendecomposedOperator`), and a Levenberg–Marquardt step
///   on the residual ∇L: p = −(H² + μI)⁻¹H∇L = −Z diag(λᵢ/(λᵢ² + μ)) Zᵀ∇L, with μ = c‖∇L‖
///   (Fan & Yuan 2005) and c adapted by the ratio of actual to predicted decrease of ½‖∇L‖². Far
///   from a solution μ regularises the near-zero eigenvalues of a network's Hessian that make
///   the pure step −H⁺∇L useless; near one μ → 0 like ‖∇L‖ and the convergence is quadratic — even at
///   a degenerate critical point, under a local error bound (Yamashita & Fukushima 2001).
///   A trial step is accepted when f falls by at least 10⁻⁴ of the model's prediction.
/// * `gauss-newton-mr`: Gauss–Newton on the residual matrix-free, without the damping: MINRES on
///   Hessian–vector products, whose iterates are least-squares solutions of the normal equations
///   H² p = −H∇L — Newton-MR (Roosta, Liu, Xu & Mahoney 2018) — accepted by an Armijo
///   backtracking search on f.
/// * `gradient-norm`: steepest descent on f, direction −H∇L, the step minimising f's quadratic
///   model, Armijo backtracking — the baseline the paper's method resembles.
/// * `eigenvector-following` (exact, H assembled) and `min-mode-following` (matrix-free, the k
///   lowest modes by Lanczos) aim at an index k and judge their steps on the energy itself
///   (`EigenvectorFollowing`, `MinModeFollowing`); min-mode following can finish with exact
///   eigenvector-following steps (`Settings.polish`).
///
/// A Newton direction that fails its test (far from a solution, where H is a poor model of ∇L)
/// falls back to the steepest-descent direction of f. When neither lowers f — a minimum of f that
/// is not a critical point, or the rounding floor of the computed gradient — the problem asks the
/// driver to stop (`.stalled`).
/// MINRES's forcing term ηₖ = min(0.1, ‖∇Lₖ‖/‖∇L₀‖) falls with the gradient, which keeps the
/// convergence quadratic near a non-degenerate critical point (Eisenstat & Walker 1996).
public struct CriticalPointSearch: IterativeProblem {
    public enum Method: String, CaseIterable, Sendable, Codable {
        case newton
        case gaussNewtonMR = "gauss-newton-mr"
        case gradientNorm = "gradient-norm"
        case eigenvectorFollowing = "eigenvector-following"
        case minModeFollowing = "min-mode-following"

        /// Whether every step assembles the exact Hessian (memory ∝ M²).
        public var assemblesHessian: Bool { self == .newton || self == .eigenvectorFollowing }
        /// Whether the method aims at a chosen index (the others find whatever is nearest).
        public var targetsIndex: Bool { self == .eigenvectorFollowing || self == .minModeFollowing }
    }

    public struct Settings: Sendable, Equatable, Codable {
        public var method = Method.newton
        /// MINRES iterations allowed per Newton step.
        public var innerIterations: Int
        /// The longest step ‖θₖ₊₁ − θₖ‖ (Euclidean, in parameter units).
        public var maximumStep = 1.0
        /// Armijo's c: accept α when f(θ + αp) ≤ f(θ) + c·α·f′(θ; p).
        public var sufficientDecrease = 1e-4
        /// Halvings of α before a direction is given up (eigenvector-following: radius cuts).
        public var backtracks = 30
        /// eigenvector-following: k, the index aimed at, and the subspaces' first trust radius
        /// (`maximumStep` is the largest they may grow to).
        public var index = 0
        public var trustRadius = 0.1
        /// λ of the L2 term λ‖θ‖²/2 added to the loss: the energy is L + λ‖θ‖²/2, its gradient
        /// ∇L + λθ and its Hessian H + λI.
        public var l2 = 0.0
        /// min-mode-following: continue with exact eigenvector-following steps (the `polish`
        /// closure's decomposition) once ‖∇E‖ ≤ polish · ‖∇E‖ at the start, or when a min-mode step
        /// finds no acceptable step; nil: matrix-free throughout.
        public var polish: Double?

        public init(method: Method, innerIterations: Int) {
            self.method = method
            self.innerIterations = innerIterations
        }
    }

    public struct Point: Iterate {
        public var step: Int
        public var parameters: [Double]
        public init(step: Int, parameters: [Double]) {
            self.step = step
            self.parameters = parameters
        }
    }

    public struct Measurement: Observation {
        /// The loss (Pennington & Bahri's energy ε for MSE).
        public var value: Double
        public var gradientNorm: Double?
        public var gradient: [Double]
    }

    /// One iteration, for trace.csv: where it started and what its step did.
    public struct StepRecord: Codable, Sendable {
        public var iteration: Int
        public var loss: Double
        public var gradientNorm: Double
        /// "newton", "gradient" (the fallback, or the method), or "none" (stalled).
        public var direction: String
        public var innerIterations: Int
        public var innerStop: String
        /// α of the accepted step and its length ‖α p‖.
        public var stepSize: Double
        /// Levenberg–Marquardt's μ of the accepted step (0 for the other directions).
        public var damping = 0.0
        public var stepLength: Double
        /// Loss-and-gradient evaluations of the line search.
        public var trials: Int
        /// ‖θ‖ at the iterate, and (eigenvector-following) the trust radii after the step.
        public var parameterNorm = 0.0
        public var uphillRadius = 0.0
        public var downhillRadius = 0.0

        public init(iteration: Int, loss: Double, gradientNorm: Double, direction: String, innerIterations: Int,
                    innerStop: String, stepSize: Double, stepLength: Double, trials: Int) {
            (self.iteration, self.loss, self.gradientNorm, self.direction) = (iteration, loss, gradientNorm, direction)
            (self.innerIterations, self.innerStop) = (innerIterations, innerStop)
            (self.stepSize, self.stepLength, self.trials) = (stepSize, stepLength, trials)
        }
    }

    /// H at θ as an operator, valid only inside `body`: the exactly assembled matrix, or the
    /// matrix-free Hessian–vector product (collective over the objective's ranks).
    public typealias HessianAt = (_ parameters: [Double], _ body: (any SymmetricOperator) throws -> Void) throws -> Void

    public let objective: DataParallelObjective
    public let settings: Settings
    let hessian: HessianAt
    /// min-mode-following with `polish`: the assembled, decomposed Hessian for the exact steps.
    let exactHessian: HessianAt?
    public private(set) var records: [StepRecord] = []
    /// Work done: loss-and-gradient evaluations, operator products (HVPs, or products with the
    /// assembled matrix for `newton`), Hessian assemblies.
    public private(set) var gradientEvaluations = 0
    public private(set) var operatorProducts = 0
    public private(set) var hessianAssemblies = 0
    /// ‖∇L‖ where the search started (the forcing term's scale).
    public private(set) var initialGradientNorm: Double?
    private var latest: (parameters: [Double], evaluation: Evaluation)?
    private var stalled = false
    /// Levenberg–Marquardt's factor c of μ = c‖∇L‖, adapted by the steps' success.
    private var damping = 1.0
    /// eigenvector-following: the trust radii, carried from step to step.
    private var follower: EigenvectorFollowing
    /// eigenvector-following: accepted steps in a row whose model change was below L's rounding and
    /// that did not lower ‖∇L‖ — the rounding floor; three end the search (`stalled`).
    private var floorSteps = 0
    /// min-mode-following: the last iterate's Ritz vectors (M × k), the next Lanczos run's start.
    private var modes: [Double]?
    /// min-mode-following: the search has switched to the exact steps (`Settings.polish`).
    public private(set) var polishing = false

    public init(objective: DataParallelObjective, settings: Settings, hessian: @escaping HessianAt, polish exactHessian: HessianAt? = nil) {
        self.objective = objective
        self.settings = settings
        self.hessian = hessian
        self.exactHessian = exactHessian
        follower = EigenvectorFollowing(index: settings.index, radius: min(settings.trustRadius, settings.maximumStep),
                                        maximumRadius: settings.maximumStep)
    }

    /// The energy L + λ‖θ‖²/2 and its gradient (collective).
    public func energy(_ θ: [Double], gradient: Bool) throws -> Evaluation {
        try EnergyObjective(objective, l2: settings.l2).evaluate(θ, gradient: gradient)
    }

    public var measuresEveryStep: Bool { true }
    public var requestedStop: StopReason? { stalled ? .stalled : nil }

    public mutating func measure(_ state: Point, gradient: Bool) throws -> Measurement {
        // The accepted line-search trial is the next iterate: its evaluation is reused.
        let e: Evaluation
        if let latest, latest.parameters == state.parameters {
            e = latest.evaluation
        } else {
            e = try energy(state.parameters, gradient: true)
            gradientEvaluations += 1
            latest = (state.parameters, e)
        }
        if initialGradientNorm == nil { initialGradientNorm = e.gradientNorm }
        return Measurement(value: e.loss, gradientNorm: e.gradientNorm, gradient: e.gradient!)
    }

    public mutating func advance(_ state: inout Point, measured: Measurement?) throws -> Double {
        let measured = measured!
        let θ = state.parameters, g = measured.gradient, norm = measured.gradientNorm!
        let merit = 0.5 * norm * norm
        var record = StepRecord(iteration: state.step, loss: measured.value, gradientNorm: norm, direction: "none",
                                innerIterations: 0, innerStop: "", stepSize: 0, stepLength: 0, trials: 0)
        record.parameterNorm = dot(θ, θ).squareRoot()
        var accepted: (parameters: [Double], evaluation: Evaluation)?
        var products = 0
        let settings = self.settings
        let snapshot = self
        var search = LineSearch(energy: { try snapshot.energy($0, gradient: $1) }, settings: settings, merit: merit)
        let scale = initialGradientNorm ?? norm
        var damping = self.damping
        defer { self.damping = damping }
        var follower = self.follower, atFloor = false
        defer { self.follower = follower }
        // min-mode following hands over to the exact steps below the polish threshold (or after a
        // failed min-mode step, below).
        if settings.method == .minModeFollowing, exactHessian != nil, let polish = settings.polish, norm <= polish * scale { polishing = true }
        let exact = polishing
        var modes = self.modes
        defer { self.modes = modes }
        try (exact ? exactHessian! : hessian)(θ) { unshifted in
            let h: any SymmetricOperator = settings.l2 == 0 ? unshifted : ShiftedOperator(unshifted, shift: settings.l2)
            if settings.method == .minModeFollowing, !exact {
                accepted = try followMinModes(h, at: θ, gradient: g, loss: measured.value, forcing: min(0.1, max(norm / max(scale, .leastNormalMagnitude), 1e-12)),
                                              modes: &modes, follower: &follower, atFloor: &atFloor, record: &record, products: &products, search: &search)
                if accepted == nil { return }
            } else if settings.method.targetsIndex {
                guard let spectral = unshifted as? EigendecomposedOperator else {
                    throw CriticalSearchFailed(description: "eigenvector-following needs the assembled Hessian's eigenvectors (critical.method = eigenvector-following assembles it)")
                }
                accepted = try followEigenvectors(spectral, at: θ, gradient: g, loss: measured.value, follower: &follower,
                                                  atFloor: &atFloor, record: &record, products: &products, search: &search)
                if accepted == nil { return }
            } else if settings.method != .gradientNorm, let spectral = unshifted as? EigendecomposedOperator {
                accepted = try levenbergMarquardt(spectral, at: θ, gradient: g, merit: merit, damping: &damping,
                                                  record: &record, products: &products, search: &search)
            } else if settings.method != .gradientNorm {
                let forcing = min(0.1, max(norm / max(scale, .leastNormalMagnitude), 1e-12))
                let solve = try MinimumResidualQLP(tolerance: forcing, maxIterations: settings.innerIterations).solve(h, g.map { -$0 })
                let hp = try h.apply(solve.solution)
                products += solve.products + 1
                (record.innerIterations, record.innerStop) = (solve.iterations, solve.stop.rawValue)
                // f′(θ; p) = ⟨H∇L, p⟩ = ⟨∇L, Hp⟩ < 0 for every MINRES iterate that reduced the residual.
                let slope = dot(g, hp)
                if slope < 0 {
                    accepted = try search.run(from: θ, along: solve.solution, slope: slope, first: 1)
                    if accepted != nil { record.direction = "newton" }
                }
            }
            if accepted == nil {
                // Steepest descent on f: d = −H∇L, the step minimising ½‖∇L + α H d‖² first.
                let hg = try h.apply(g)
                let d = hg.map { -$0 }
                let hd = try h.apply(d)
                products += 2
                let slope = -dot(hg, hg), curvature = dot(hd, hd)
                if slope < 0 {
                    let first = curvature > 0 ? -dot(g, hd) / curvature : .infinity
                    accepted = try search.run(from: θ, along: d, slope: slope, first: first)
                    if accepted != nil { record.direction = "gradient" }
                }
            }
        }
        hessianAssemblies += settings.method.assemblesHessian || exact ? 1 : 0
        operatorProducts += products
        gradientEvaluations += search.trials
        record.trials = search.trials
        if let accepted {
            record.stepSize = search.acceptedStep
            record.stepLength = search.acceptedLength
            state.parameters = accepted.parameters
            latest = accepted
            floorSteps = atFloor ? floorSteps + 1 : 0
            if floorSteps >= 3 {
                // At the rounding floor of the matrix-free steps the exact ones may still certify.
                if settings.method == .minModeFollowing, !exact, exactHessian != nil { (polishing, floorSteps) = (true, 0) } else { stalled = true }
            }
        } else if settings.method == .minModeFollowing, !exact, exactHessian != nil {
            // No acceptable min-mode step (the Ritz vectors or the complement's model poor at every
            // radius): the exact steps take over from here rather than end the search.
            polishing = true
        } else {
            stalled = true
        }
        records.append(record)
        state.step += 1
        return measured.value
    }

    public func diverged(at step: Int, value: Double, lastCheckpoint: Int?) -> Error {
        CriticalSearchFailed(description: "the critical-point search reached a non-finite loss (\(value)) at iteration \(step); give a smaller --max-step")
    }
}

extension CriticalPointSearch {
    /// A Levenberg–Marquardt step from θ (see the type's comment): up to `backtracks` trials, μ
    /// multiplied by 4 after each rejection. The model of f = ½‖∇L‖² along p is
    /// ½‖∇L + Hp‖² = ½Σ (μcᵢ/(λᵢ² + μ))², c = Zᵀ∇L, so a trial costs one product with Z and one
    /// gradient. Accepted when the actual decrease is at least 10⁻⁴ of the predicted one; c falls by 4
    /// after a step that matched its model (ratio > 3/4) and grows by 4 after a poor one (< 1/4).
    func levenbergMarquardt(_ h: some EigendecomposedOperator, at θ: [Double], gradient g: [Double], merit: Double,
                            damping: inout Double, record: inout StepRecord, products: inout Int,
                            search: inout LineSearch) throws -> ([Double], Evaluation)? {
        let λ = h.eigenvalues.map { $0 + settings.l2 }, c = try h.coordinates(of: g)
        products += 1
        let norm = (2 * merit).squareRoot()
        // ‖∇L‖² outside the span of the eigenvectors (zero for a complete Z, up to rounding).
        let outside = max(0, 2 * merit - dot(c, c))
        for _ in 0..<settings.backtracks {
            let μ = damping * norm
            var coefficients = zip(λ, c).map { -$0 * $1 / ($0 * $0 + μ) }
            var p = try h.vector(from: coefficients)
            products += 1
            var length = dot(p, p).squareRoot()
            if length > settings.maximumStep {
                // Shorter than the cap asks: scale the step (and its model) into it.
                let shrink = settings.maximumStep / length
                p = p.map { $0 * shrink }
                coefficients = coefficients.map { $0 * shrink }
                length = settings.maximumStep
            }
            var model = outside
            for i in λ.indices { let r = c[i] + λ[i] * coefficients[i]; model += r * r }
            let predicted = merit - 0.5 * model
            let trial = zip(θ, p).map { $0 + $1 }
            let e = try energy(trial, gradient: true)
            search.trials += 1
            let f = 0.5 * e.gradientNorm! * e.gradientNorm!
            let ratio = predicted > 0 ? (merit - f) / predicted : -1
            if e.loss.isFinite, f.isFinite, ratio > settings.sufficientDecrease {
                if ratio > 0.75 { damping = max(damping / 4, 1e-12) } else if ratio < 0.25 { damping *= 4 }
                (record.direction, record.innerStop, record.damping) = ("newton", "levenberg-marquardt", μ)
                (record.stepSize, record.stepLength) = (1, length)
                (search.acceptedStep, search.acceptedLength) = (1, length)
                return (trial, e)
            }
            damping *= 4
        }
        return nil
    }
}

extension CriticalPointSearch {
    /// One eigenvector-following step from θ (`EigenvectorFollowing`): the step in H's eigenbasis
    /// (the deflated symmetry modes excluded), L measured along its uphill part alone and its
    /// downhill part alone, the radii judged on those changes, and the whole step taken when both
    /// parts moved L the way their models said; else the radii shrink and the step is recomputed
    /// from the same decomposition (up to `backtracks` times). Each trial costs two products with Z
    /// and two losses; the accepted one a gradient.
    func followEigenvectors(_ h: some EigendecomposedOperator, at θ: [Double], gradient g: [Double], loss: Double,
                            follower: inout EigenvectorFollowing, atFloor: inout Bool, record: inout StepRecord,
                            products: inout Int, search: inout LineSearch) throws -> ([Double], Evaluation)? {
        let n = h.eigenvalues.count - h.symmetryModes
        guard follower.index <= n else {
            throw CriticalSearchFailed(description: "critical.index = \(follower.index) exceeds the \(n) modes left after deflating \(h.symmetryModes) symmetry directions; give k ≤ \(n)")
        }
        var λ = h.eigenvalues
        for i in 0..<n { λ[i] += settings.l2 }
        let c = try h.coordinates(of: g)
        products += 1
        let scale = max(1, dot(θ, θ).squareRoot())
        defer { (record.uphillRadius, record.downhillRadius) = (follower.uphillRadius, follower.downhillRadius) }
        for _ in 0..<settings.backtracks {
            let step = follower.step(eigenvalues: λ, coordinates: c, modes: n)
            let up = follower.index > 0 ? try h.vector(from: step.uphill) : [Double](repeating: 0, count: θ.count)
            let down = try h.vector(from: step.downhill)
            products += follower.index > 0 ? 2 : 1
            if let accepted = try judgedTrial(up: up, down: down, step, at: θ, gradient: g, loss: loss, follower: &follower, atFloor: &atFloor,
                                              search: &search) {
                (record.direction, record.innerStop, record.damping) = ("eigenvector-following", "k = \(follower.index)", step.shifts.downhill)
                (record.stepSize, record.stepLength) = (search.acceptedStep, search.acceptedLength)
                return accepted
            }
            if max(follower.uphillRadius, follower.downhillRadius) < 1e-14 * scale { break }
        }
        return nil
    }

    /// One min-mode-following step from θ (`MinModeFollowing`): the k lowest eigenpairs of the
    /// energy's Hessian `h` by Lanczos on Hessian–vector products — started from the last iterate's
    /// Ritz vectors, so a step costs a few expansions once the modes settle, and converged to a
    /// tolerance that falls with ‖∇E‖ (10⁻⁴ … 10⁻¹⁰ of ‖H‖: loose far away, where only the modes'
    /// rough directions matter; tight near the point, where their error limits the convergence) —
    /// then the uphill P-RFO step in their span and Steihaug's conjugate gradients in the complement,
    /// judged like eigenvector-following's. A rejected step is recomputed with the smaller radii from
    /// the same Ritz pairs.
    func followMinModes(_ h: any SymmetricOperator, at θ: [Double], gradient g: [Double], loss: Double, forcing: Double, modes: inout [Double]?,
                        follower: inout EigenvectorFollowing, atFloor: inout Bool, record: inout StepRecord,
                        products: inout Int, search: inout LineSearch) throws -> ([Double], Evaluation)? {
        let n = θ.count, k = follower.index
        var λ: [Double] = [], v: [Double] = []
        var lanczosProducts = 0
        if k > 0 {
            let b = k
            let lanczos = Lanczos(LanczosSettings(count: k, which: .smallest, tolerance: max(1e-10, min(1e-4, forcing * 1e-3)), blockSize: b,
                                                  basis: min(n, max(LanczosSettings.minimumBasis(count: k, which: .smallest, blockSize: b), 2 * k + 30)),
                                                  maxMatvecs: max(settings.innerIterations, 20 * b), seed: 0))
            let result = try modes.map { try lanczos.run(h, startingWith: $0) } ?? lanczos.run(h)
            (λ, v) = (result.eigenvalues, result.eigenvectors)
            modes = v
            lanczosProducts = result.matvecs
            products += result.matvecs
        }
        let scale = max(1, dot(θ, θ).squareRoot())
        defer { (record.uphillRadius, record.downhillRadius) = (follower.uphillRadius, follower.downhillRadius) }
        for _ in 0..<settings.backtracks {
            let step = try MinModeFollowing.step(gradient: g, ritzValues: λ, ritzVectors: v, follower: follower, forcing: forcing,
                                                 maxIterations: settings.innerIterations) { try h.apply($0) }
            products += step.innerIterations
            if let accepted = try judgedTrial(up: step.up, down: step.down, step.judged, at: θ, gradient: g, loss: loss, follower: &follower,
                                              atFloor: &atFloor, search: &search) {
                (record.direction, record.innerIterations, record.innerStop) = ("min-mode", step.innerIterations, step.innerStop.rawValue)
                (record.stepSize, record.stepLength) = (search.acceptedStep, search.acceptedLength)
                record.innerStop += " (lanczos \(lanczosProducts))"
                return accepted
            }
            if max(follower.uphillRadius, follower.downhillRadius) < 1e-14 * scale { break }
        }
        return nil
    }

    /// The trial of a step split into its uphill part `up` and downhill part `down` (parameter
    /// space): E along each part alone, the radii judged on those changes against `step`'s models,
    /// and — when both parts moved E the way their models said — E and ∇E at θ + up + down, the
    /// accepted point (nil: rejected, the radii cut). `atFloor` says whether the step's model change
    /// was below E's rounding (10³·ε_mach·|E|: changes below it say nothing about the model) and
    /// ‖∇E‖ did not halve. Two losses and a gradient per trial (one loss for k = 0).
    func judgedTrial(up: [Double], down: [Double], _ step: EigenvectorFollowing.Step, at θ: [Double], gradient g: [Double], loss: Double,
                     follower: inout EigenvectorFollowing, atFloor: inout Bool, search: inout LineSearch) throws -> ([Double], Evaluation)? {
        let noise = 1e3 * Double.ulpOfOne * max(abs(loss), .leastNormalMagnitude)
        let upLoss = follower.index > 0 ? try energy(zip(θ, up).map { $0 + $1 }, gradient: false).loss : loss
        let downLoss = try energy(zip(θ, down).map { $0 + $1 }, gradient: false).loss
        search.trials += follower.index > 0 ? 2 : 1
        guard upLoss.isFinite, downLoss.isFinite,
              follower.judge(step, actualUphill: upLoss - loss, actualDownhill: downLoss - loss, noise: noise) else { return nil }
        var trial = θ, length = 0.0
        for i in θ.indices {
            let d = up[i] + down[i]
            trial[i] += d
            length += d * d
        }
        length = length.squareRoot()
        let e = try energy(trial, gradient: true)
        search.trials += 1
        guard e.loss.isFinite, e.gradientNorm!.isFinite else { return nil }
        (search.acceptedStep, search.acceptedLength) = (1, length)
        let belowNoise = abs(step.predictedUphill) <= noise && abs(step.predictedDownhill) <= noise
        atFloor = belowNoise && e.gradientNorm! >= 0.5 * dot(g, g).squareRoot()
        return (trial, e)
    }
}

public struct CriticalSearchFailed: Error, CustomStringConvertible {
    public let description: String
}

/// Armijo backtracking on f = ½‖∇L‖² along one direction, from a first step capped by the
/// longest allowed move.
struct LineSearch {
    let energy: (_ θ: [Double], _ gradient: Bool) throws -> Evaluation
    let settings: CriticalPointSearch.Settings
    let merit: Double
    var trials = 0
    var acceptedStep = 0.0
    var acceptedLength = 0.0

    mutating func run(from θ: [Double], along p: [Double], slope: Double, first: Double) throws -> ([Double], Evaluation)? {
        let length = dot(p, p).squareRoot()
        guard length > 0 else { return nil }
        var α = min(first, settings.maximumStep / length)
        for _ in 0..<settings.backtracks {
            let trial = zip(θ, p).map { $0 + α * $1 }
            let e = try energy(trial, true)
            trials += 1
            let f = 0.5 * e.gradientNorm! * e.gradientNorm!
            if e.loss.isFinite, f.isFinite, f <= merit + settings.sufficientDecrease * α * slope {
                (acceptedStep, acceptedLength) = (α, α * length)
                return (trial, e)
            }
            α *= 0.5
        }
        return nil
    }
}

func dot(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for i in a.indices { s += a[i] * b[i] }
    return s
}
