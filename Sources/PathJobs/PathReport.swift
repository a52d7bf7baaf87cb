import Jobs
import Cluster
import DistributedLinearAlgebra
import Foundation
import Geometry
import Krylov
import NPY
import Optimization
import Reporting
import Support

/// A path's analysis and outputs (docs/path.md): the dense profile against the straight line, the
/// inertia at the highest pivot with its verdict, pivots.npy, profile.csv, curvature.csv,
/// convergence.csv, summary.json and the SVG plots.
extension PathJob {
    /// The curvature at one pivot.
    package struct PivotCurvature: Codable {
        package var pivot: Int
        package var alpha: Double
        package var loss: Double
        package var gradientNorm: Double
        package var method: String
        /// Exact: the inertia (counts below −tolerance, within ±tolerance, above). Lanczos: `negative`
        /// counts the negative ones among the converged smallest eigenvalues — a lower bound.
        package var negative: Int
        package var nearZero: Int?
        package var positive: Int?
        package var zeroTolerance: Double?
        /// Ascending.
        package var smallestEigenvalues: [Double]
        package var largestEigenvalue: Double?
    }

    package struct Extremum: Codable {
        package var alpha: Double
        package var loss: Double
        package var pivot: Int?
    }

    package struct StringReport: Codable {
        package var level: Double
        package var converged: Bool
        package var rounds: Int
        package var trainingSteps: Int
        package var unresolvedSegments: Int
        /// Σ segment lengths / |A − B| (Freeman & Bruna's normalised geodesic length).
        package var normalizedGeodesicLength: Double
        package var note = "dynamic string sampling can confirm that the end points are connected below the level; not converging proves nothing"
    }

    package struct Summary: Codable {
        package var command = "path"
        package var method: String
        package var settings: Settings
        package var from: String
        package var to: String
        package var model: String
        package var data: String
        package var parameters: Int
        package var samples: Int
        package var ranks: Int
        package var groups: Int
        package var groupSize: Int
        /// Rows of θ the busiest rank holds of every pivot (the band sharded by rows: ⌈M/ranks⌉;
        /// M when the band is whole on every rank).
        package var bandRowsPerRank: Int?
        package var endpointLosses: [Double]
        package var endpointHeldOutLosses: [Double]?
        /// Interior pivots of the final path.
        package var pivots: Int
        package var highestPivot: Extremum?
        /// The path's highest loss over pivots and segment samples.
        package var pathMaximum: Extremum
        /// pathMaximum − the higher end point.
        package var barrier: Double
        package var heldOutBarrier: Double?
        package var straightLineMaximum: Extremum
        package var straightLineBarrier: Double
        package var pathLength: Double
        package var straightLength: Double
        package var iterations: Int
        package var reason: String
        /// Whether every |F⊥| (the climbing pivot's |F|) is within the tolerance.
        package var converged: Bool
        package var largestResidual: Double?
        package var lossEvaluations: Int
        package var gradientEvaluations: Int
        package var string: StringReport?
        package var curvature: [PivotCurvature]
        package var verdict: String
        package var seconds: Double
        /// NEB/AutoNEB: seconds in band iterations, and in the pivots' gradients within them (rank
        /// 0); their ratio is what an iteration costs per pivot against one gradient evaluation.
        package var bandSeconds: Double?
        package var gradientSeconds: Double?
        package var iterationCostPerGradient: Double?
        /// What the path depends on (PathJob.identity): `--resume` keeps a finished path only if it matches.
        package var identity: SettingsIdentity?
        /// `--polish`: what the two ends' polish reached (the path runs between the polished
        /// points, ends/a.npy and ends/b.npy), and the band's top refined toward an index-1 saddle
        /// (saddle.npy; NEB and AutoNEB).
        package var ends: [CertifiedPoint]?
        package var saddle: RefinedSaddle?
    }

    /// One pair: run the method into `directory` (its checkpoint inside), analyse, write. A pair
    /// already finished there (a resumed `--minima` run) is read back instead.
    package func connect(_ i: Int, _ j: Int, into directory: RunDirectory, _ context: Context) throws -> Summary {
        let world = context.world
        let (a, b) = (context.points[i], context.points[j]), ends = (context.losses[i], context.losses[j])
        // The points as given: a polished point's last bits depend on the grouping's rounding.
        let identity = self.identity(context.given[i], context.given[j])
        if resume, let done = try world.agree({ () throws -> Summary? in
            guard let data = FileManager.default.contents(atPath: directory.file("summary.json")) else { return nil }
            let done = try NonFiniteJSON.decoder().decode(Summary.self, from: data)
            // Kept only if it is this very path: another --to, --pivots or configuration is another run.
            guard done.identity == identity else {
                let what = done.identity.map { identity.differences(from: $0).prefix(3).joined(separator: "; ") } ?? "it records none"
                throw InputError("--resume: \(directory.named) holds a finished path with other settings (\(what)); choose another --out, or remove '\(directory.path)' to compute it again")
            }
            return done
        }) {
            context.progress.say("path: \(directory.path) is finished; kept")
            return done
        }
        let clock = Stopwatch()
        let checkpoint = directory.subdirectory("checkpoint")
        context.progress.say("path: \(settings.method.rawValue) from \(endpoints[i]) (loss \(ends.0)) to \(endpoints[j]) (loss \(ends.1)); \(context.model.summary), M = \(context.m), N = \(context.training.dataset.globalCount), \(context.groups.count) group(s) of \(context.group.size) rank(s)")
        var band: ElasticBand
        var final: BandMeasurement? = nil
        var bandOutcome: BandOutcome? = nil
        var string: StringOutcome? = nil
        var lossEvaluations = 0, gradientEvaluations = 0
        switch settings.method {
        case .neb, .autoneb:
            let outcome = try runBand(from: a, to: b, energies: ends, checkpoint: checkpoint, identity: identity.text, context)
            band = outcome.band
            final = outcome.final
            bandOutcome = outcome
            gradientEvaluations = outcome.progress.evaluations
        case .string:
            let outcome = try runString(from: a, to: b, energies: ends, checkpoint: checkpoint, identity: identity.text, context)
            band = outcome.band
            string = outcome
            lossEvaluations = outcome.progress.evaluations
            gradientEvaluations = outcome.progress.trainingSteps
        }
        // Every pivot's loss (and held-out loss): the same evaluation `landscape evaluate` makes.
        let pivotValues = try context.groups.shareOverRows(band.count, rows: context.rows, inputs: { [band.pivot($0)] },
                                                           scalars: 3, returnsVector: false) { _, θ in
            let e = try context.energy.evaluate(θ[0], gradient: true)
            return ([e.loss, e.gradientNorm!, try context.heldOut?.evaluate(θ[0], gradient: false).loss ?? .nan], [])
        }.scalars
        let energies = pivotValues.map { $0[0] }
        let samples = try sampleSegments(band, segments: Array(0..<(band.count - 1)), context)
        lossEvaluations += samples.count * settings.segmentPoints
        // The rows of the profile, in path order: each pivot, then its segment's samples.
        struct Row { var pivot: Int; var t: Double; var arc: Double; var loss: Double; var heldOut: Double? }
        let lengths = try band.segmentLengths(context.sums), arcs = ElasticBand.arcLengths(segments: lengths), total = arcs.last!
        let t = segmentParameters(settings.segmentPoints)
        var rows: [Row] = []
        for p in 0..<band.count {
            rows.append(Row(pivot: p, t: 0, arc: arcs[p], loss: energies[p], heldOut: context.heldOut == nil ? nil : pivotValues[p][2]))
            if p < band.count - 1 {
                for (k, tk) in t.enumerated() {
                    rows.append(Row(pivot: p, t: tk, arc: arcs[p] + tk * lengths[p], loss: samples[p].training[k], heldOut: samples[p].heldOut?[k]))
                }
            }
        }
        let alphas = rows.map { total > 0 ? $0.arc / total : 0 }
        // The straight line A → B at the same α, chunks of rows shared out to the groups.
        let chunk = 16, chunks = (rows.count + chunk - 1) / chunk
        let direction = zip(b, a).map { $0 - $1 }
        let lineShared = try context.groups.share(chunks, width: 2 * chunk) { c in
            let range = (c * chunk)..<min(rows.count, (c + 1) * chunk)
            let coefficients = range.map { [alphas[$0]] }
            var train = try context.energy.evaluate(origin: a, directions: [direction], coefficients: coefficients).map(\.loss)
            var held = try context.heldOut?.evaluate(origin: a, directions: [direction], coefficients: coefficients).map(\.loss)
                ?? [Double](repeating: .nan, count: range.count)
            let pad = chunk - range.count
            train += [Double](repeating: .nan, count: pad)
            held += [Double](repeating: .nan, count: pad)
            return train + held
        }
        var line: [Double] = [], lineHeld: [Double] = []
        for (c, values) in lineShared.enumerated() {
            let n = min(chunk, rows.count - c * chunk)
            line += values[0..<n]
            lineHeld += values[chunk..<(chunk + n)]
        }
        lossEvaluations += rows.count + band.count
        // The ends of the line are A and B themselves: the pivots' values, bit for bit.
        line[0] = energies[0]
        line[rows.count - 1] = energies[band.count - 1]
        let peakRow = rows.indices.max { rows[$0].loss < rows[$1].loss }!
        let linePeak = line.indices.max { line[$0] < line[$1] }!
        let interior = band.interiorCount > 0 ? (1..<(band.count - 1)).max { energies[$0] < energies[$1] } : nil
        // Curvature: the highest interior pivot, both end points (what the top's index is compared
        // with: near-zero bulk eigenvalues of either sign are counted at the minima too), every K-th pivot.
        var sites = Set((interior.map { [$0] } ?? []) + [0, band.count - 1])
        if let k = indexEvery { sites.formUnion(stride(from: 0, to: band.count, by: k)) }
        let ordered = sites.sorted()
        let curvature = try curvatureAt(ordered, band: band, alphas: ordered.map { total > 0 ? arcs[$0] / total : 0 }, context)
            .enumerated().map { k, record -> PivotCurvature in
                var r = record
                r.loss = energies[ordered[k]]
                r.gradientNorm = pivotValues[ordered[k]][1]
                return r
            }
        let highestCurvature = interior.flatMap { p in curvature.first { $0.pivot == p } }
        let endIndices = [0, band.count - 1].compactMap { p in curvature.first { $0.pivot == p }?.negative }
        // `--polish`: the band's top refined by eigenvector-following at index 1 (the energy-landscape
        // codes' DNEB-then-refine); the string's points are trained low points, not passes.
        let higherEnd = max(energies[0], energies[band.count - 1])
        var saddle: (RefinedSaddle, [Double])? = nil
        // The highest pivot, whole (its rows are spread over the ranks).
        let highest = try interior.map { try context.rows.gather(Array(band.pivot($0)), columns: 1, on: world) }
        if settings.polish, settings.method != .string, let top = interior, let highest {
            let search = certifiedSearch(index: 1, training: context.training, model: context.model, assembler: context.assembler)
            let refined = try Self.certify([highest], names: ["saddle"], search: search, groups: context.groups,
                                           progress: context.progress)[0]
            saddle = (RefinedSaddle(point: refined.point, pivot: top, bandTopEnergy: energies[top], higherMinimum: higherEnd), refined.parameters)
        }
        let certifiedEnds = context.polished.map { [$0[i], $0[j]] }
        let verdict = Self.verdict(highestCurvature, tolerance: settings.tolerance, suggestClimbing: settings.method != .string && !settings.climb)
            + (highestCurvature != nil && endIndices.count == 2 ? " (index at the end points: \(endIndices[0]), \(endIndices[1]))" : "")
            + Self.certifiedVerdict(ends: certifiedEnds, saddle: saddle?.0)
        let heldOutEnds = context.heldOut == nil ? nil : [pivotValues[0][2], pivotValues[band.count - 1][2]]
        let heldOutBarrier = context.heldOut == nil ? nil : rows.compactMap(\.heldOut).max()! - max(heldOutEnds![0], heldOutEnds![1])
        let stringReport = string.map { s in
            StringReport(level: settings.level!, converged: s.converged, rounds: s.progress.rounds, trainingSteps: s.progress.trainingSteps,
                         unresolvedSegments: s.progress.unresolved.filter { $0 }.count,
                         normalizedGeodesicLength: total / ElasticBand.distance(a[...], b[...]))
        }
        let summary = Summary(
            method: settings.method.rawValue, settings: settings, from: endpoints[i], to: endpoints[j], model: context.model.summary,
            data: context.training.dataset.description, parameters: context.m, samples: context.training.dataset.globalCount,
            ranks: world.size, groups: context.groups.count, groupSize: context.group.size, bandRowsPerRank: context.rows.count(of: 0),
            endpointLosses: [energies[0], energies[band.count - 1]], endpointHeldOutLosses: heldOutEnds,
            pivots: band.interiorCount,
            highestPivot: interior.map { Extremum(alpha: arcs[$0] / total, loss: energies[$0], pivot: $0) },
            pathMaximum: Extremum(alpha: alphas[peakRow], loss: rows[peakRow].loss, pivot: rows[peakRow].t == 0 ? rows[peakRow].pivot : nil),
            barrier: rows[peakRow].loss - higherEnd, heldOutBarrier: heldOutBarrier,
            straightLineMaximum: Extremum(alpha: alphas[linePeak], loss: line[linePeak], pivot: nil),
            straightLineBarrier: line[linePeak] - higherEnd,
            pathLength: total, straightLength: ElasticBand.distance(a[...], b[...]),
            iterations: bandOutcome?.progress.step ?? 0, reason: bandOutcome?.reason.rawValue ?? (string!.converged ? "converged" : "unresolved"),
            converged: final.map { $0.forces.largestResidual <= settings.tolerance } ?? string!.converged,
            largestResidual: final?.forces.largestResidual, lossEvaluations: lossEvaluations, gradientEvaluations: gradientEvaluations,
            string: stringReport, curvature: curvature, verdict: verdict, seconds: clock.seconds,
            bandSeconds: bandOutcome?.progress.bandSeconds, gradientSeconds: bandOutcome?.progress.gradientSeconds,
            iterationCostPerGradient: bandOutcome.map { $0.progress.gradientSeconds > 0 ? $0.progress.bandSeconds / $0.progress.gradientSeconds : .nan },
            identity: identity, ends: certifiedEnds, saddle: saddle?.0)
        var header = try context.run.completedHeader()   // collective
        header.point = "\(endpoints[i]) → \(endpoints[j])"
        let m = context.m
        try world.agree { try directory.create() }
        try ShardedVectorFile(directory.file("pivots.npy"), what: "path").write(band.pivots, count: band.count, rows: context.rows, on: world)
        try world.agree {
            if let highest { try NPYArray(shape: [m], values: highest).write(to: directory.file("highest.npy")) }
            if certifiedEnds != nil {
                try directory.subdirectory("ends").create()
                try NPYArray(shape: [m], values: a).write(to: directory.file("ends/a.npy"))
                try NPYArray(shape: [m], values: b).write(to: directory.file("ends/b.npy"))
            }
            if let (_, θ) = saddle { try NPYArray(shape: [m], values: θ).write(to: directory.file("saddle.npy")) }
            var csv = "kind,pivot,t,arc_length,alpha,train_loss,held_out_loss,line_train_loss,line_held_out_loss\n"
            for (r, row) in rows.enumerated() {
                csv += "\(row.t == 0 ? "pivot" : "segment"),\(row.pivot),\(row.t),\(row.arc),\(alphas[r]),\(row.loss),\(row.heldOut.map { "\($0)" } ?? ""),\(line[r]),\(lineHeld[r].isNaN ? "" : "\(lineHeld[r])")\n"
            }
            try writeAtomically(Data(csv.utf8), to: directory.file("profile.csv"))
            if let history = bandOutcome?.progress.history {
                var text = "iteration,pivots,highest_loss,largest_residual,mean_residual,path_length\n"
                for h in history { text += "\(h.iteration),\(h.pivots),\(h.highestLoss),\(h.largestResidual),\(h.meanResidual),\(h.pathLength)\n" }
                try writeAtomically(Data(text.utf8), to: directory.file("convergence.csv"))
                var plot = SVGPlot(title: "NEB convergence", xLabel: "iteration", yLabel: "largest |F⊥|, highest loss")
                plot.logY = true
                plot.series = [.init(name: "largest |F⊥|", points: history.map { (Double($0.iteration), $0.largestResidual) }),
                               .init(name: "highest pivot loss", points: history.map { (Double($0.iteration), $0.highestLoss) })]
                plot.subtitle = "tolerance \(settings.tolerance); \(history.last.map { "\($0.pivots)" } ?? "?") pivots at the end"
                try writeAtomically(Data(plot.render().utf8), to: directory.file("convergence.svg"))
            }
            if !curvature.isEmpty {
                var text = "pivot,alpha,loss,gradient_norm,method,negative,near_zero,positive,zero_tolerance,smallest_eigenvalues\n"
                for c in curvature {
                    text += "\(c.pivot),\(c.alpha),\(c.loss),\(c.gradientNorm),\(c.method),\(c.negative),\(c.nearZero.map { "\($0)" } ?? ""),\(c.positive.map { "\($0)" } ?? ""),\(c.zeroTolerance.map { "\($0)" } ?? ""),\(c.smallestEigenvalues.map { "\($0)" }.joined(separator: " "))\n"
                }
                try writeAtomically(Data(text.utf8), to: directory.file("curvature.csv"))
            }
            var plot = SVGPlot(title: "Loss along the \(settings.method.rawValue) path and the straight line", xLabel: "α (fraction of arc length)", yLabel: "loss")
            plot.series = [.init(name: "path (training)", points: rows.indices.map { (alphas[$0], rows[$0].loss) }),
                           .init(name: "straight line (training)", points: rows.indices.map { (alphas[$0], line[$0]) })]
            if context.heldOut != nil {
                plot.series.append(.init(name: "path (held-out)", points: rows.indices.compactMap { r in rows[r].heldOut.map { (alphas[r], $0) } }))
            }
            plot.series.append(.init(name: "pivots", points: (0..<band.count).map { (arcs[$0] / total, energies[$0]) }, style: .points))
            plot.markers = [(0, "A"), (1, "B")]
            plot.subtitle = "barrier \(SVGPlot.label(summary.barrier)) (straight line \(SVGPlot.label(summary.straightLineBarrier))); \(verdict)"
            try writeAtomically(Data(plot.render().utf8), to: directory.file("path.svg"))
            try context.run.writeSummary(summary, header: header, in: directory)
            // The finished outputs replace the checkpoint.
            try? FileManager.default.removeItem(atPath: checkpoint.path)
        }
        return summary
    }

    /// The inertia at the given pivots (sites shared out to the groups): exact, or the smallest
    /// eigenvalues by Lanczos when M is above the exact limit.
    package func curvatureAt(_ pivots: [Int], band: ElasticBand, alphas: [Double], _ context: Context) throws -> [PivotCurvature] {
        let m = context.m, k = min(5, m)
        let width = 6 + k
        let method = context.curvatureExact ? "exact" : "lanczos"
        // What each site reports: [negative, near zero, positive, zero tolerance, largest, k] + the k smallest.
        func values(at θ: [Double]) throws -> [Double] {
            if context.curvatureExact {
                // The energy's Hessian H + λI: the shift moves every eigenvalue alike.
                let eigenvalues = try exactHessianEigenvalues(at: θ, model: context.model, objective: context.training, configuration: configuration)
                    .map { $0 + context.energy.l2 }
                let counts = SpectrumCounts(eigenvalues: eigenvalues, dimension: m)
                return [Double(counts.negative), Double(counts.nearZero), Double(counts.positive), counts.zeroTolerance, eigenvalues.last!, Double(k)]
                    + eigenvalues.prefix(k)
            }
            let settings = configuration.curvatureLanczos(count: k, which: .smallest, dimension: m)
            let result = try Lanczos(settings).run(context.energy.hessian(at: θ))
            let values = result.eigenvalues.sorted()
            let converged = zip(result.eigenvalues, result.converged).filter { $0.1 }.map(\.0)
            return [Double(converged.filter { $0 < 0 }.count), .nan, .nan, .nan, .nan, Double(converged.count)] + values.prefix(k)
                + [Double](repeating: .nan, count: k - min(k, values.count))
        }
        let shared = try context.groups.shareOverRows(pivots.count, rows: context.rows, inputs: { [band.pivot(pivots[$0])] },
                                                      scalars: width, returnsVector: false) { _, whole in (try values(at: whole[0]), []) }.scalars
        return pivots.indices.map { s in
            let v = shared[s]
            return PivotCurvature(pivot: pivots[s], alpha: alphas[s], loss: .nan, gradientNorm: .nan, method: method,
                                  negative: Int(v[0]), nearZero: v[1].isNaN ? nil : Int(v[1]), positive: v[2].isNaN ? nil : Int(v[2]),
                                  zeroTolerance: v[3].isNaN ? nil : v[3], smallestEigenvalues: Array(v[6...]).filter { !$0.isNaN },
                                  largestEigenvalue: v[4].isNaN ? nil : v[4])
        }
    }

    /// `--polish`: what the ends and the refined top are, as a clause of the verdict — an end that
    /// is not a certified minimum is said so, never called a minimum.
    package static func certifiedVerdict(ends: [CertifiedPoint]?, saddle: RefinedSaddle?) -> String {
        guard let ends else { return "" }
        var clauses: [String] = []
        let failed = ends.filter { !$0.reachedTarget }
        clauses.append(failed.isEmpty ? "both ends certified minima" : failed.map(\.sentence).joined(separator: "; "))
        if let saddle {
            let p = saddle.point
            let numbers = String(format: "E = %.10g, %.4g %@ the higher minimum, %+.3g against the band's top", p.energy, abs(saddle.barrier),
                                 saddle.barrier >= 0 ? "above" : "below", saddle.aboveBandTop)
            if saddle.isPass {
                clauses.append("refined top: a certified index-1 saddle, \(numbers) — the barrier is \(String(format: "%.4g", saddle.barrier))")
            } else if p.reachedTarget {
                clauses.append("refined top: a certified index-1 saddle, but not this path's pass (\(numbers))")
            } else {
                clauses.append(p.sentence)
            }
        }
        return "; " + clauses.joined(separator: "; ")
    }

    /// What the highest pivot is, in one line.
    package static func verdict(_ c: PivotCurvature?, tolerance: Double, suggestClimbing: Bool) -> String {
        guard let c else { return "the path has no interior pivot" }
        let g = String(format: "%.2g", c.gradientNorm)
        let critical = c.gradientNorm <= tolerance
        let index = c.method == "exact" ? "index \(c.negative)" : "index ≥ \(c.negative) (Lanczos: \(c.negative) of the \(c.smallestEigenvalues.count) smallest eigenvalues negative)"
        let head = "highest pivot: \(index), ‖∇L‖ = \(g)"
        if c.negative == 0 {
            return "\(head) → no direction of negative curvature at the top: the path stays in one basin" + (critical ? " (a flat pass)" : "")
        }
        if !critical {
            return "\(head) > tolerance \(tolerance) → not a critical point: its loss is an upper bound for the saddle's" + (suggestClimbing ? " (--climb converges the top pivot to it)" : "")
        }
        if c.negative == 1 { return "\(head) → a saddle (index 1): the pass between the two minima" }
        return "\(head) → a saddle of index \(c.negative): higher order, a lower pass may exist"
    }
}
