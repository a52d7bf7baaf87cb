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

/// `landscape top`: the k extreme eigenpairs by thick-restart block Lanczos.
extension EstimatorJob {
    package struct TopSummary: Codable {
        package var curvature: OperatorSummary
        package var which: String
        package var k: Int
        package var tolerance: Double
        package var blockSize: Int
        package var basis: Int
        package var eigenvalues: [Double]
        /// ‖Av − θv‖, from real operator applications.
        package var residuals: [Double]
        /// ‖Av − θv‖ / |θ₁|.
        package var relativeResiduals: [Double]
        package var converged: [Bool]
        package var matvecs: Int
        package var restarts: Int
        package var expansions: Int
        package var seconds: Lanczos.Seconds
        /// (Lanczos work besides the operator) / operator time.
        package var overheadFraction: Double
        package var history: [HistoryPoint]
        package var comparison: Comparison?

        package struct HistoryPoint: Codable {
            package var matvecs: Int
            package var converged: Int
            package var worstResidual: Double
        }
        package struct Comparison: Codable {
            package var exactEigenvalues: [Double]
            /// |θᵢ − λᵢ| / |λᵢ|.
            package var relativeErrors: [Double]
            package var maxRelativeError: Double
        }
    }

    /// The basis the memory budget allows (auto), or the requested one if it fits.
    package func lanczosSettings(_ context: Context) throws -> (LanczosSettings, Double) {
        let spec = configuration.top, m = context.m, b = spec.blockSize
        // The block before any arithmetic on it: each direction keeps ≈ 8 vectors of M (the
        // operator's buffers, the expansion block and its image), so an absurd block is refused
        // here instead of overflowing below.
        try MemoryPlan.requireFits(b, setting: "top.block-size", holding: "its directions (≈ 8 vectors of M = \(m) each)",
                                   bytesEach: 64 * Double(m), budget: context.budget)
        let wanted = spec.count * (spec.which == .both ? 2 : 1)
        let minimum = min(m, LanczosSettings.minimumBasis(count: spec.count, which: spec.which, blockSize: b))
        // The operator's buffers for the widest application: the final check's `wanted` directions
        // (measured at M = 1.8 million, k = 20 with a replicated basis: peak 3.23 GB per rank
        // against that plan's 3.6 GB).
        let base = Self.baseBytes(context, directions: max(2 * b, wanted))
        // The basis is sharded by rows over the operator's ranks (`LanczosSettings.shardedBasis`).
        let ranks = context.group.size
        func bytes(_ basis: Int) -> Double {
            base + LanczosSettings.workingBytes(dimension: m, basis: basis, blockSize: b, wanted: wanted, ranks: ranks)
        }
        let budget = Double(context.budget)
        var fits = minimum
        while fits < m, bytes(fits + 1) <= budget { fits = min(m, max(fits + 1, Int(Double(fits) * 1.25))) }
        if bytes(fits) > budget { fits -= 1 }
        let basis: Int
        if spec.basis > 0 {
            basis = min(spec.basis, m)
            guard basis >= minimum else {
                throw InputError(setting: "top.basis", "= \(spec.basis) is too small for k = \(spec.count) (\(spec.which.rawValue)) with blocks of \(b): a thick restart needs at least \(minimum) vectors")
            }
        } else {
            // min(max-matvecs, M): a basis never exceeds M, and an absurd budget must not overflow.
            basis = max(minimum, min(m, max(minimum, 4 * wanted + 8 * b), min(spec.maxMatvecs, m) + 2 * b, fits))
        }
        guard bytes(basis) <= budget else {
            let what = spec.basis > 0 ? "a Lanczos basis of \(basis) vectors" : "the smallest Lanczos basis (\(minimum) vectors, with thick restart)"
            let fix = fits >= minimum ? "\(named("top.basis", "\(fits)")) (thick restart) would fit"
                : "fewer eigenpairs (\(named("top.k"))) or a smaller \(named("top.block-size")) would fit, or more ranks (the basis is shared out by rows)"
            throw InputError("not enough memory: \(what) of M = \(m) needs ≈ \(formatBytes(Int(min(bytes(basis), 1e18)))) per rank but \(formatBytes(context.budget)) is available; \(fix) (or set --memory-per-rank if the estimate of what is free is wrong)")
        }
        let settings = LanczosSettings(count: spec.count, which: spec.which, tolerance: spec.tolerance, blockSize: b, basis: basis,
                                       maxMatvecs: spec.maxMatvecs, seed: configuration.seed, checkMultiplicity: spec.checkMultiplicity)
        return (settings, bytes(basis))
    }

    package func runTop(_ context: inout Context) throws {
        let spec = configuration.top, world = context.world, m = context.m
        let (settings, estimate) = try lanczosSettings(context)
        let a = curvature(spec.curvature, context)
        context.progress.say("top: \(spec.count) \(spec.which.rawValue) eigenpairs of \(spec.curvature.symbol) (\(context.model.summary), M = \(m), N = \(context.dataset.globalCount)) on \(world.size) ranks: Lanczos, blocks of \(settings.blockSize), basis \(settings.basis), tolerance \(spec.tolerance); memory ≈ \(formatBytes(Int(estimate))) per rank")
        // The basis as resolved (top.basis = 0: what the memory budget allowed): the checkpoint holds that many vectors.
        let identity = SettingsIdentity(run: configuration, model: model, ["point": context.pointName, "top.basis-used": "\(settings.basis)"]).text
        let rows = RowShardedOperator(a, sharded: settings.shardedBasis).partition
        let resumed = resume ? try LanczosCheckpoint.read(checkpoint, identity: identity, dimension: m, capacity: settings.basis, rows: rows, on: world) : nil
        let saved = resumed?.state
        if saved != nil { context.progress.say("top: resuming from \(checkpoint.path)") }
        // The whole run's history: what came before a stop is in the checkpoint.
        var history: [TopSummary.HistoryPoint] = resumed?.history ?? []
        let throttle = ProgressThrottle(), clock = Stopwatch()
        let progress = context.progress
        let outcome = try context.timings.measure("lanczos", on: world) {
            try Lanczos(settings).run(a, from: saved) { step in
                history.append(.init(matvecs: step.matvecs, converged: step.converged, worstResidual: step.worstResidual))
                if throttle.due() {
                    let rate = clock.seconds / Double(max(step.matvecs - (saved?.matvecs ?? 0), 1))
                    progress.say(String(format: "top: %d matvecs (%.3g s each), %d/%d converged, worst residual %.2e; at most %.0f s to the budget of %d",
                                                step.matvecs, rate, step.converged, step.wanted, step.worstResidual,
                                                rate * Double(spec.maxMatvecs - step.matvecs), spec.maxMatvecs))
                }
                return StopSignals.pending == 0
            }
        }
        let result: Lanczos.Result
        switch outcome {
        case .stopped(let state):
            try LanczosCheckpoint.write(state, history: history, identity: identity, dimension: m, to: checkpoint, on: world)
            throw StoppedBySignal(message: "signal after \(state.matvecs) matvecs: the Lanczos basis is in \(checkpoint.path); continue with the same command and --resume")
        case .finished(let r): result = r
        }
        let k = result.eigenvalues.count
        try context.timings.measure("write", on: world) {
            if world.isRoot {
                try output.create()
                try output.writeVector(result.eigenvalues, to: "eigenvalues.npy")
                // M × K, row-major: row i holds entry i of every eigenvector (eigenvectors.npy of `spectrum`).
                var rows = [Double](repeating: 0, count: m * k)
                for j in 0..<k { for i in 0..<m { rows[i * k + j] = result.eigenvectors[j * m + i] } }
                try NPYArray(shape: [m, k], values: rows).write(to: output.file("eigenvectors.npy"))
            }
        }
        var comparison: TopSummary.Comparison? = nil
        if let exact = context.exact {
            let errors = exact.relativeErrors(result.eigenvalues, which: spec.which, count: spec.count)
            let n = exact.exact.count
            let reference = (spec.which == .smallest ? [] : (0..<spec.count).map { exact.exact[n - 1 - $0] })
                + (spec.which == .largest ? [] : Array(exact.exact[0..<spec.count]))
            comparison = .init(exactEigenvalues: reference, relativeErrors: errors, maxRelativeError: errors.max() ?? 0)
        }
        let s = result.seconds
        let summary = TopSummary(
            curvature: operatorSummary(context, kind: spec.curvature, estimate: estimate), which: spec.which.rawValue, k: spec.count,
            tolerance: spec.tolerance, blockSize: settings.blockSize, basis: settings.basis, eigenvalues: result.eigenvalues,
            residuals: result.residuals, relativeResiduals: result.residuals.map { $0 / max(result.scale, .leastNormalMagnitude) },
            converged: result.converged, matvecs: result.matvecs, restarts: result.restarts, expansions: result.expansions, seconds: s,
            overheadFraction: (s.orthogonalization + s.ritz + s.restart) / max(s.operator_, 1e-12), history: history, comparison: comparison)
        if world.isRoot {
            var plot = SVGPlot(title: "Lanczos convergence: \(spec.count) \(spec.which.rawValue) eigenpairs of \(spec.curvature.symbol)",
                               xLabel: "operator applications (matvecs)", yLabel: "worst estimated ‖Av − θv‖ / |θ₁|")
            plot.logY = true
            plot.subtitle = "\(context.model.summary), M = \(m), blocks of \(settings.blockSize), basis \(settings.basis)"
            plot.series = [.init(name: "worst wanted residual", points: history.map { (Double($0.matvecs), max($0.worstResidual, 1e-17)) })]
            try writeAtomically(Data(plot.render().utf8), to: output.file("convergence.svg"))
        }
        var lines = ["top \(spec.count) \(spec.which.rawValue) eigenvalues of \(spec.curvature.symbol) at \(context.pointName): \(result.matvecs) matvecs, \(result.restarts) restarts, \(result.converged.filter { $0 }.count)/\(k) converged"]
        for (i, θ) in result.eigenvalues.enumerated() {
            var line = String(format: "  θ%-3d %+.12e  residual %.2e", i + 1, θ, summary.relativeResiduals[i])
            if let c = comparison { line += String(format: "  exact %+.12e  rel. error %.2e", c.exactEigenvalues[i], c.relativeErrors[i]) }
            lines.append(line)
        }
        lines.append(String(format: "  time: operator %.2f s, orthogonalisation %.2f s, Ritz %.2f s, restarts %.2f s (overhead %.1f %%)",
                            s.operator_, s.orthogonalization, s.ritz, s.restart, 100 * summary.overheadFraction))
        try finish(summary, context, report: lines.joined(separator: "\n"))
    }
}

/// A stopped Lanczos run on disk: the basis columns in use (count × M), the next block, T, and
/// the scalars with the identity of the run (its configuration and point), so `--resume` never
/// continues a different problem's basis. The vectors are whole in the files whatever the ranks'
/// rows: gathered to rank 0 column by column, which writes them; every rank reads back only its
/// own rows (so a resume may even run on another number of ranks).
package enum LanczosCheckpoint {
    package struct Scalars: Codable {
        package var identity: String
        package var basisCount: Int
        package var capacity: Int
        package var matvecs: Int
        package var restarts: Int
        package var expansions: Int
        package var estimateFactor: Double
        package var augmentedAt: [Double]?
        package var firstConvergence: Int?
        package var holdUntil: Int
        package var seconds: Lanczos.Seconds
        /// The convergence history up to the stop (nil in checkpoints written before it was kept).
        package var history: [EstimatorJob.TopSummary.HistoryPoint]?
    }

    package static func write(_ state: Lanczos.State, history: [EstimatorJob.TopSummary.HistoryPoint], identity: String, dimension m: Int,
                      to directory: RunDirectory, on world: Communicator) throws {
        let rows = state.rows, length = rows.count
        // Rank 0 creates the directory; its verdict is everyone's before any gather.
        try world.agree { try directory.create() }
        // Count × M files, one whole vector at a time (never the whole basis on rank 0).
        func write(_ local: [Double], columns: Int, to name: String) throws {
            try ShardedVectorFile(directory.file(name), what: "Lanczos checkpoint").write(local, count: columns, rows: rows, on: world)
        }
        try write(state.basis, columns: state.basisCount, to: "basis.npy")
        try write(state.next, columns: state.next.count / length, to: "next.npy")
        try world.agree {
            let capacity = state.basis.count / length
            try NPYArray(shape: [capacity, capacity], values: state.projected).write(to: directory.file("projected.npy"))
            let scalars = Scalars(identity: identity, basisCount: state.basisCount, capacity: capacity, matvecs: state.matvecs,
                                  restarts: state.restarts, expansions: state.expansions, estimateFactor: state.estimateFactor,
                                  augmentedAt: state.augmentedAt, firstConvergence: state.firstConvergence, holdUntil: state.holdUntil,
                                  seconds: state.seconds, history: history)
            try directory.writeJSON(scalars, to: "lanczos.json")
        }
    }

    /// The saved state and history if DIR/checkpoint holds one of this very run; nil (start afresh) if none.
    package static func read(_ directory: RunDirectory, identity: String, dimension m: Int, capacity: Int, rows: RowPartition,
                     on world: Communicator) throws -> (state: Lanczos.State, history: [EstimatorJob.TopSummary.HistoryPoint])? {
        let scalars: Scalars? = try world.agree { () throws -> Scalars? in
            guard let data = FileManager.default.contents(atPath: directory.file("lanczos.json")) else { return nil }
            let scalars = try JSONDecoder().decode(Scalars.self, from: data)
            guard scalars.identity == identity, scalars.capacity == capacity else {
                throw InputError("--resume: \(directory.path) holds the Lanczos state of a different run (configuration, point or basis differ); remove it or run without --resume")
            }
            return scalars
        }
        guard let scalars else { return nil }
        var basis = try world.everyRank { try readRows(directory.file("basis.npy"), rows: rows) }
        basis += [Double](repeating: 0, count: capacity * rows.count - basis.count)
        // T is small: read on rank 0, handed to all (a failure there is every rank's).
        let projected = try world.agree { try NPYArray(contentsOf: directory.file("projected.npy")).values }
        let state = Lanczos.State(rows: rows, basis: basis, basisCount: scalars.basisCount, projected: projected,
                             next: try world.everyRank { try readRows(directory.file("next.npy"), rows: rows) }, matvecs: scalars.matvecs,
                             restarts: scalars.restarts, expansions: scalars.expansions, estimateFactor: scalars.estimateFactor,
                             augmentedAt: scalars.augmentedAt, firstConvergence: scalars.firstConvergence, holdUntil: scalars.holdUntil,
                             seconds: scalars.seconds)
        return (state, scalars.history ?? [])
    }

    /// This rank's rows of every vector in a count × M file written by `write`.
    static func readRows(_ path: String, rows: RowPartition) throws -> [Double] {
        try ShardedVectorFile(path, what: "Lanczos checkpoint").readRows(rows)
    }
}
