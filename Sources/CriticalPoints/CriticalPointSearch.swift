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
/// * `newton`: H assembled exactly at every iterate, the step p = argmin ‖H p + ∇L‖ by MINRES on
///   the assembled matrix (cheap products; the pseudo-inverse step −H⁺∇L where H is singular).
/// * `gauss-newton-mr`: the same step matrix-free, MINRES on Hessian–vector products. This is
///   Gauss–Newton on the residual r(θ) = ∇L (whose Jacobian is H): its normal equations
///   H² p = −H∇L have the least-squares solution MINRES computes — Newton-MR (Roosta, Liu, Xu &
///   Mahoney 2018).
/// * `gradient-norm`: steepest descent on f, direction −H∇L, the step minimising f's quadratic
///   model — the baseline the paper's method resembles.
///
/// Every step is accepted by an Armijo backtracking search on f; a Newton direction that fails
/// it (far from a solution, where H is a poor model of ∇L) falls back to the steepest-descent
/// direction of f. When neither lowers f — a minimum of f that is not a critical point, or the
/// rounding floor of the computed gradient — the problem asks the driver to stop (`.stalled`).
/// MINRES's forcing term ηₖ = min(0.1, ‖∇Lₖ‖/‖∇L₀‖) falls with the gradient, which keeps the
/// convergence quadratic near a non-degenerate critical point (Eisenstat & Walker 1996).
public struct CriticalPointSearch: IterativeProblem {
    public enum Method: String, CaseIterable, Sendable, Codable {
        case newton
        case gaussNewtonMR = "gauss-newton-mr"
        case gradientNorm = "gradient-norm"

        /// Whether every step assembles the exact Hessian (memory ∝ M²).
        public var assemblesHessian: Bool { self == .newton }
    }

    public struct Settings: Sendable, Equatable, Codable {
        public var method = Method.newton
        /// MINRES iterations allowed per Newton step.
        public var innerIterations: Int
        /// The longest step ‖θₖ₊₁ − θₖ‖ (Euclidean, in parameter units).
        public var maximumStep = 1.0
        /// Armijo's c: accept α when f(θ + αp) ≤ f(θ) + c·α·f′(θ; p).
        public var sufficientDecrease = 1e-4
        /// Halvings of α before a direction is given up.
        public var backtracks = 30

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
        public var stepLength: Double
        /// Loss-and-gradient evaluations of the line search.
        public var trials: Int
    }

    /// H at θ as an operator, valid only inside `body`: the exactly assembled matrix, or the
    /// matrix-free Hessian–vector product (collective over the objective's ranks).
    public typealias HessianAt = (_ parameters: [Double], _ body: (any SymmetricOperator) throws -> Void) throws -> Void

    public let objective: DataParallelObjective
    public let settings: Settings
    let hessian: HessianAt
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

    public init(objective: DataParallelObjective, settings: Settings, hessian: @escaping HessianAt) {
        self.objective = objective
        self.settings = settings
        self.hessian = hessian
    }

    public var measuresEveryStep: Bool { true }
    public var requestedStop: StopReason? { stalled ? .stalled : nil }

    public mutating func measure(_ state: Point, gradient: Bool) throws -> Measurement {
        // The accepted line-search trial is the next iterate: its evaluation is reused.
        let e: Evaluation
        if let latest, latest.parameters == state.parameters {
            e = latest.evaluation
        } else {
            e = try objective.evaluate(state.parameters, gradient: true)
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
        var accepted: (parameters: [Double], evaluation: Evaluation)?
        var products = 0
        let settings = self.settings
        var search = LineSearch(objective: objective, settings: settings, merit: merit)
        let scale = initialGradientNorm ?? norm
        try hessian(θ) { h in
            if settings.method != .gradientNorm {
                let forcing = min(0.1, max(norm / max(scale, .leastNormalMagnitude), 1e-12))
                let solve = try MinimumResidual(tolerance: forcing, maxIterations: settings.innerIterations).solve(h, g.map { -$0 })
                let hp = try h.apply(solve.solution)
                products += solve.iterations + 1
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
        hessianAssemblies += settings.method.assemblesHessian ? 1 : 0
        operatorProducts += products
        gradientEvaluations += search.trials
        record.trials = search.trials
        if let accepted {
            record.stepSize = search.acceptedStep
            record.stepLength = search.acceptedLength
            state.parameters = accepted.parameters
            latest = accepted
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

public struct CriticalSearchFailed: Error, CustomStringConvertible {
    public let description: String
}

/// Armijo backtracking on f = ½‖∇L‖² along one direction, from a first step capped by the
/// longest allowed move.
struct LineSearch {
    let objective: DataParallelObjective
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
            let e = try objective.evaluate(trial, gradient: true)
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
