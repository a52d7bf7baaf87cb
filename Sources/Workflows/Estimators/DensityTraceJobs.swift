import Cluster
import Configuration
import Jobs
import Foundation
import Krylov
import NPY
import Objectives
import Optimization
import Planning
import Reporting
import Support

/// `landscape density` (stochastic Lanczos quadrature) and `landscape trace` (Hutchinson, Hutch++).
extension EstimatorJob {
    package struct DensitySummary: Codable {
        package var curvature: OperatorSummary
        package var probes: Int
        package var steps: Int
        package var distribution: String
        package var groups: Int
        package var blockSize: Int
        package var sigma: Double
        /// Nodes per probe (fewer than `steps` where a probe's Krylov space became invariant).
        package var nodesPerProbe: [Int]
        /// tr A and tr A² read off the quadrature, with their standard errors over probes.
        package var trace: Double
        package var traceStandardError: Double?
        package var traceOfSquare: Double
        package var traceOfSquareStandardError: Double?
        /// The quadrature measure's mass below −σ (the inertia's negative share at resolution σ).
        package var negativeFraction: Double
        package var matvecs: Int
        package var seconds: Double
        package var comparison: Comparison?

        package struct Comparison: Codable {
            /// W₁(quadrature measure, exact spectral measure) / (λmax − λmin).
            package var wasserstein: Double
            package var exactNegativeFraction: Double
            package var exactTrace: Double
            package var traceRelativeError: Double
            package var exactTraceOfSquare: Double
            package var traceOfSquareRelativeError: Double
        }
    }

    /// SLQ's steps, probes per block and bytes per rank; refuses a budget too small for one probe.
    package func densityPlan(_ context: Context) throws -> (steps: Int, block: Int, bytes: Double) {
        let spec = configuration.density, m = context.m
        let steps = min(spec.steps, m)
        // Every probe's quadrature is kept to the end (its nodes and weights), and the density is
        // evaluated on its grid: both are held whole, so both are refused here when absurd.
        try MemoryPlan.requireFits(spec.probes, setting: "density.probes", holding: "their quadratures (\(steps) nodes and weights each)",
                                   bytesEach: 16 * Double(steps) + 64, budget: context.budget)
        try MemoryPlan.requireFits(spec.gridPoints, setting: "density.grid-points", holding: "the density's grid and its density.csv lines",
                                   bytesEach: 64, budget: context.budget)
        let perProbe = StochasticLanczosQuadrature.bytesPerProbe(dimension: m, steps: steps, ranks: context.group.size)
        func bytes(_ block: Int) -> Double { Self.baseBytes(context, directions: block) + Double(block) * perProbe }
        let budget = Double(context.budget)
        guard bytes(1) <= budget else {
            // Solve bytesPerProbe for m steps: each step is one more vector's rows on this rank.
            let rowBytes = 8 * Double(m) / Double(context.group.size)
            let fitting = Int((budget - Self.baseBytes(context, directions: 1)) / rowBytes) - 3
            let fix = fitting >= 2 ? "at most \(named("density.steps", "\(fitting)")) would fit" : "a smaller model or more memory per rank is needed"
            throw InputError("not enough memory: SLQ with \(steps) Lanczos steps keeps \(steps) vectors of M = \(m) per probe, ≈ \(formatBytes(Int(min(bytes(1), 1e18)))) per rank, but \(formatBytes(context.budget)) is available; \(fix) (or set --memory-per-rank if the estimate of what is free is wrong)")
        }
        // bytes(block) is linear in the block: the largest block that fits, in one step (an absurd
        // block-size is simply cut down to it).
        let perBlock = bytes(2) - bytes(1)
        let fitting = perBlock > 0 ? ((budget - bytes(1)) / perBlock).rounded(.down) + 1 : Double(spec.blockSize)
        let block = max(1, min(spec.blockSize, spec.probes, Int(min(fitting, 1e18))))
        return (steps, block, bytes(block))
    }

    package func runDensity(_ context: inout Context) throws {
        let spec = configuration.density, world = context.world, m = context.m
        let (steps, block, bytesPerRank) = try densityPlan(context)
        func bytes(_: Int) -> Double { bytesPerRank }
        if block < min(spec.blockSize, spec.probes) { context.progress.note("density: \(block) probes at a time fit the memory budget (density.block-size = \(spec.blockSize))") }
        let a = curvature(spec.curvature, context)
        context.progress.say("density: SLQ on \(spec.curvature.symbol) (\(context.model.summary), M = \(m), N = \(context.dataset.globalCount)): \(spec.probes) \(spec.distribution.rawValue) probes × \(steps) steps, \(context.groups.count) group(s) of \(context.group.size) ranks, \(block) probes at a time; memory ≈ \(formatBytes(Int(bytes(block)))) per rank")

        // Probes are dealt to the groups round-robin by number, `block` at a time (probes of a
        // block are applied together: the deal is the one density always made, so the blocks and
        // their bits are too); a stopped run's finished probes are kept. The checkpoint is written
        // on a stop and, as interpolate's, every `checkpointInterval` seconds: a run killed without
        // a signal (a scheduler's SIGKILL) loses at most that and a round.
        // The grouping changes no probe beyond the rounding of its data-parallel sums: a stopped
        // run may resume with another group size or placement (on other hosts, say).
        let identity = SettingsIdentity(run: configuration, model: model, ignoring: ["density.group-size", "density.group-placement"],
                                        ["point": context.pointName]).text
        let finished: [ProbeQuadrature] = resume ? try Self.densityCheckpoint.read(checkpoint, identity: identity, on: world) ?? [] : []
        if !finished.isEmpty { context.progress.say("density: resuming with \(finished.count) probes done") }
        let done = Set(finished.map(\.probe))
        let pending = (0..<spec.probes).filter { !done.contains($0) }
        let groups = context.groups.count
        let queue = GroupWorkQueue(context.groups, deal: .owned(pending.count, groups: groups, perRound: block) { pending[$0] % groups },
                                   checkpoint: .every(seconds: Self.checkpointInterval))
        let slq = StochasticLanczosQuadrature(steps: steps, distribution: spec.distribution, seed: configuration.seed)
        var computed: [ProbeQuadrature] = []   // on world rank 0
        let clock = Stopwatch()
        let snapshot = context   // read inside the measured closure while context.timings is written
        try context.timings.measure("quadrature", on: world) {
            try queue.run(compute: { positions in
                try slq.quadratures(a, probes: positions.map { pending[$0] }).map { ($0, []) }
            }, collect: { results in
                computed += results.map(\.record)
            }, afterRound: { round in
                let eta = clock.seconds / Double(round.index + 1) * Double(round.count - round.index - 1)
                snapshot.progress.say(String(format: "density: %d/%d probes, ETA %.0f s", finished.count + round.completed, spec.probes, eta))
            }, checkpoint: {
                try Self.densityCheckpoint.write(finished + computed, identity: identity, to: checkpoint, on: world)
            }, stopMessage: { round in
                "signal after \(finished.count + round.completed) of \(spec.probes) probes: they are in \(checkpoint.path); continue with the same command and --resume"
            })
        }
        let probes = (finished + computed).sorted { $0.probe < $1.probe }
        let matvecs = probes.reduce(0) { $0 + $1.nodes.count }
        let header = try context.run.completedHeader()   // collective
        guard world.isRoot else { return }

        let estimate = QuadratureEstimate(probes: probes, dimension: m)
        let atoms = estimate.atoms
        let range = (atoms.last!.node - atoms.first!.node)
        let sigma = spec.sigma > 0 ? spec.sigma : max(0.01 * range, 1e-12 * max(abs(atoms.first!.node), abs(atoms.last!.node), 1e-300))
        let (grid, density) = estimate.density(sigma: sigma, points: spec.gridPoints)
        let (trace, traceError) = estimate.traceOfPower(1), (square, squareError) = estimate.traceOfPower(2)
        let negative = SpectralComparison.negativeFraction(atoms, threshold: sigma)
        var comparison: DensitySummary.Comparison? = nil
        if let exact = context.exact {
            let t1 = exact.trace(power: 1), t2 = exact.trace(power: 2)
            comparison = .init(wasserstein: exact.wasserstein(atoms), exactNegativeFraction: exact.negativeFraction(threshold: sigma),
                               exactTrace: t1, traceRelativeError: abs(trace - t1) / abs(t1),
                               exactTraceOfSquare: t2, traceOfSquareRelativeError: abs(square - t2) / abs(t2))
        }
        try output.create()
        try output.writeVector(atoms.map(\.node), to: "quadrature_nodes.npy")
        try output.writeVector(atoms.map(\.weight), to: "quadrature_weights.npy")
        var csv = "lambda,density\n"
        for (t, d) in zip(grid, density) { csv += "\(t),\(d)\n" }
        try writeAtomically(Data(csv.utf8), to: output.file("density.csv"))
        var plot = SVGPlot(title: "Spectral density of \(spec.curvature.symbol) (SLQ)", xLabel: "eigenvalue λ", yLabel: "density (log scale)")
        plot.logY = true
        plot.subtitle = String(format: "%@, M = %d; %d probes × %d steps, Gaussian σ = %.3g", context.model.summary, m, spec.probes, steps, sigma)
        let floor = (density.max() ?? 1) * 1e-8
        plot.series = [.init(name: "SLQ density", points: zip(grid, density).map { ($0, max($1, floor)) })]
        try writeAtomically(Data(plot.render().utf8), to: output.file("density.svg"))
        let summary = DensitySummary(
            curvature: operatorSummary(context, kind: spec.curvature, estimate: bytes(block)), probes: spec.probes, steps: steps,
            distribution: spec.distribution.rawValue, groups: context.groups.count, blockSize: block, sigma: sigma,
            nodesPerProbe: probes.map { $0.nodes.count }, trace: trace, traceStandardError: traceError.isFinite ? traceError : nil,
            traceOfSquare: square, traceOfSquareStandardError: squareError.isFinite ? squareError : nil, negativeFraction: negative,
            matvecs: matvecs, seconds: clock.seconds, comparison: comparison)
        var lines = [String(format: "density of %@ at %@: %d probes × %d steps (%d matvecs), σ = %.3g", spec.curvature.symbol, context.pointName, spec.probes, steps, matvecs, sigma),
                     String(format: "  support of the quadrature [%.6g, %.6g]; tr ≈ %.6g ± %.2g; tr² ≈ %.6g; mass below −σ %.4f", atoms.first!.node, atoms.last!.node, trace, traceError.isFinite ? traceError : .nan, square, negative)]
        if let c = comparison {
            lines.append(String(format: "  against the exact spectrum: W1/(λmax − λmin) %.3g; negative fraction %.4f (exact %.4f); trace error %.2e, tr² error %.2e",
                                c.wasserstein, negative, c.exactNegativeFraction, c.traceRelativeError, c.traceOfSquareRelativeError))
        }
        try finish(summary, context, header: header, report: lines.joined(separator: "\n"))
    }

    package struct TraceSummary: Codable {
        package var curvature: OperatorSummary
        package var method: String
        package var power: Int
        package var distribution: String
        package var tolerance: Double
        package var estimate: Double
        package var standardError: Double?
        package var samples: Int
        package var matvecs: Int
        package var lowRankPart: Double?
        package var sketchRank: Int?
        package var stoppedBy: String
        package var seconds: Double
        package var history: [TraceEstimate.HistoryPoint]
        package var comparison: Comparison?

        package struct Comparison: Codable {
            package var exact: Double
            package var relativeError: Double
            /// |estimate − exact| / standard error.
            package var standardErrors: Double?
        }
    }

    /// Bytes per rank of a trace estimate; refuses a probe block or a Hutch++ sketch that does
    /// not fit, naming the one that does not.
    package func tracePlan(_ context: Context) throws -> Double {
        let spec = configuration.trace, m = context.m
        let sketch = spec.method == .hutchPlusPlus ? max(1, spec.maxMatvecs / 3) : 0
        // Doubles: an absurd block or budget estimates to a huge number instead of overflowing.
        func bytes(block: Int, sketch: Int) -> Double {
            Self.baseBytes(context, directions: max(block, sketch)) + 8 * Double(m) * (3 * Double(sketch) + 3 * Double(block))
        }
        // The probe block alone first: it is what a smaller max-matvecs cannot fix.
        let perProbe = bytes(block: 2, sketch: 0) - bytes(block: 1, sketch: 0)
        try MemoryPlan.requireFits(spec.blockSize, setting: "trace.block-size", holding: "its probes applied together (≈ 6 vectors of M = \(m) each)",
                                   bytesEach: perProbe, baseBytes: bytes(block: 0, sketch: 0), budget: context.budget)
        let need = bytes(block: spec.blockSize, sketch: sketch)
        guard need <= Double(context.budget) else {
            throw InputError("not enough memory: hutch++ with \(named("trace.max-matvecs", "\(spec.maxMatvecs)")) keeps \(sketch) sketch vectors of M = \(m), ≈ \(formatBytes(Int(min(need, 1e18)))) per rank, but \(formatBytes(context.budget)) is available; a smaller \(named("trace.max-matvecs")) or \(named("trace.method", "hutchinson")) would fit (or set --memory-per-rank if the estimate of what is free is wrong)")
        }
        return need
    }

    package func runTrace(_ context: inout Context) throws {
        let spec = configuration.trace, world = context.world, m = context.m
        let bytes = try tracePlan(context)
        let settings = TraceSettings(method: spec.method, power: spec.power, distribution: spec.distribution, tolerance: spec.tolerance,
                                     maxMatvecs: spec.maxMatvecs, minimumSamples: spec.minimumSamples, blockSize: spec.blockSize, seed: configuration.seed)
        let a = curvature(spec.curvature, context)
        let what = spec.power == 1 ? "tr \(spec.curvature.symbol)" : "tr \(spec.curvature.symbol)²"
        context.progress.say("trace: \(what) by \(spec.method.rawValue) (\(context.model.summary), M = \(m), N = \(context.dataset.globalCount)) on \(world.size) ranks, \(spec.distribution.rawValue) probes, tolerance \(spec.tolerance), at most \(spec.maxMatvecs) matvecs")
        let identity = SettingsIdentity(run: configuration, model: model, ["point": context.pointName]).text
        let resumed = (resume ? try Self.traceCheckpoint.read(checkpoint, identity: identity, on: world) : nil) ?? TraceProgress()
        let throttle = ProgressThrottle(), clock = Stopwatch()
        let progress = context.progress
        let estimate = try context.timings.measure("trace", on: world) {
            try TraceEstimator(settings).run(a, resuming: resumed.samples) { point in
                if throttle.due() {
                    progress.say(String(format: "trace: %d matvecs, estimate %.6g ± %.2g", point.matvecs, point.estimate, point.standardError ?? .nan))
                }
                return StopSignals.pending == 0
            }
        }
        // The whole run's history: the part before a stop comes from the checkpoint.
        var result = estimate
        result.history = resumed.history + result.history
        if result.stoppedBy == "signal" {
            try Self.traceCheckpoint.write(TraceProgress(samples: result.rawSamples, history: result.history), identity: identity, to: checkpoint, on: world)
            throw StoppedBySignal(message: "signal after \(result.matvecs) matvecs: the samples are in \(checkpoint.path); continue with the same command and --resume")
        }
        var comparison: TraceSummary.Comparison? = nil
        if let exact = context.exact {
            let t = exact.trace(power: spec.power)
            comparison = .init(exact: t, relativeError: abs(result.estimate - t) / abs(t), standardErrors: result.standardError.map { abs(result.estimate - t) / $0 })
        }
        if world.isRoot {
            try output.create()
            var plot = SVGPlot(title: "\(what) by \(spec.method.rawValue)", xLabel: "operator applications (matvecs)", yLabel: "estimate")
            plot.subtitle = "\(context.model.summary), M = \(m); ± 2 standard errors"
            let points = result.history
            plot.series = [.init(name: "estimate", points: points.map { (Double($0.matvecs), $0.estimate) }),
                           .init(name: "+2 s.e.", points: points.compactMap { p in p.standardError.map { (Double(p.matvecs), p.estimate + 2 * $0) } }),
                           .init(name: "−2 s.e.", points: points.compactMap { p in p.standardError.map { (Double(p.matvecs), p.estimate - 2 * $0) } })]
            if let c = comparison { plot.series.append(.init(name: "exact", points: [(Double(points.first?.matvecs ?? 0), c.exact), (Double(result.matvecs), c.exact)])) }
            try writeAtomically(Data(plot.render().utf8), to: output.file("trace.svg"))
        }
        let summary = TraceSummary(curvature: operatorSummary(context, kind: spec.curvature, estimate: bytes), method: spec.method.rawValue, power: spec.power,
                                   distribution: spec.distribution.rawValue, tolerance: spec.tolerance, estimate: result.estimate,
                                   standardError: result.standardError, samples: result.samples, matvecs: result.matvecs,
                                   lowRankPart: result.lowRankPart, sketchRank: result.sketchRank, stoppedBy: result.stoppedBy,
                                   seconds: clock.seconds, history: result.history, comparison: comparison)
        var line = String(format: "%@ at %@ by %@: %.10g ± %.3g (%d samples, %d matvecs, stopped by %@)", what, context.pointName, spec.method.rawValue,
                          result.estimate, result.standardError ?? .nan, result.samples, result.matvecs, result.stoppedBy)
        if let c = comparison { line += String(format: "\n  exact %.10g: relative error %.2e (%.2f standard errors)", c.exact, c.relativeError, c.standardErrors ?? .nan) }
        try finish(summary, context, report: line)
    }
}

extension EstimatorJob {
    package static let densityCheckpoint = ResumableCheckpoint<[ProbeQuadrature]>(file: "density.json", what: "probes")
    /// Seconds between density's checkpoints besides the one on a stop (rank 0's clock).
    package static let checkpointInterval = 30.0
    package static let traceCheckpoint = ResumableCheckpoint<TraceProgress>(file: "trace.json", what: "samples")
}

/// A stopped trace estimate: its Hutchinson samples and its history so far (convergence plot and
/// summary show the whole run after --resume).
package struct TraceProgress: Codable {
    package var samples: [Double] = []
    package var history: [TraceEstimate.HistoryPoint] = []

    package init() {}
    package init(samples: [Double], history: [TraceEstimate.HistoryPoint]) {
        self.samples = samples
        self.history = history
    }

    package enum CodingKeys: String, CodingKey { case samples, history }

    /// Checkpoints written before the history was kept hold the samples alone.
    package init(from decoder: Decoder) throws {
        if let samples = try? decoder.singleValueContainer().decode([Double].self) {
            self.samples = samples
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        samples = try container.decode([Double].self, forKey: .samples)
        history = try container.decode([TraceEstimate.HistoryPoint].self, forKey: .history)
    }
}
