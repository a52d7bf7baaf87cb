import Cluster
import Configuration
import Jobs
import PathJobs
import Workflows
import Foundation
import Geometry
import NPY
import Reporting
import Support

/// `landscape study lb-sb`: Sagun et al.'s large-batch → small-batch experiment (GEOMETRY.md §2,
/// docs/lb-sb.md) as one job of existing jobs, each in its own directory under `output`:
/// large/ (Part I: SGD with B₁ from the seed's initialisation), small/ (Part II: B₂ from Part I's
/// end point, the same learning rate — a new run started from a point, not a resume), line/
/// (interpolate from the end of Part I to the end of Part II, train and held-out), spectrum-large/
/// and spectrum-small/ (exact spectra or top-k at both ends), then report.md with the curves
/// across both parts, the line, the spectra and the barrier table. Re-running the same command
/// skips the parts that finished and continues a stopped one; a part run with other settings is
/// refused (StudyParts).
public struct LargeSmallBatchStudyJob {
    public var study: LargeSmallBatchStudy
    public var output: RunDirectory
    public var memoryPerRank: Int?
    public var quiet = false

    public init(study: LargeSmallBatchStudy, output: RunDirectory) {
        self.study = study
        self.output = output
    }

    package var large: RunDirectory { output.subdirectory("large") }
    package var small: RunDirectory { output.subdirectory("small") }
    package var line: RunDirectory { output.subdirectory("line") }
    package func spectrum(_ part: String) -> RunDirectory { output.subdirectory("spectrum-\(part)") }

    package var parts: StudyParts { StudyParts(study: "lb-sb", output: output, quiet: quiet) }

    /// The study's parts and what each one's results depend on: its configuration, its own
    /// settings, and the parts it starts from (a new Part I makes every later part another).
    package struct Plan {
        package let large, small, line: StudyParts.Part
        /// spectrum-large/ and spectrum-small/, or none (study.spectrum = "none").
        package let spectra: [(end: String, part: StudyParts.Part)]
        package var all: [StudyParts.Part] { [large, small, line] + spectra.map(\.part) }
    }

    package func plan(range: GridAxis) -> Plan {
        let large = StudyParts.Part("large", part(study.largeBatch, study.largeSteps))
        let small = StudyParts.Part("small", part(study.smallBatch, study.smallSteps)) { $0.depend(on: "large/", large.identity) }
        let line = StudyParts.Part("line", study.base) {
            $0.add(fields: range, prefix: "study.range")
            $0.depend(on: "large/", large.identity)
            $0.depend(on: "small/", small.identity)
        }
        let spectra = study.spectrum == .none ? [] : [("large", large), ("small", small)].map { name, end in
            (name, StudyParts.Part("spectrum-\(name)", study.base) {
                $0["study.spectrum"] = study.spectrum.rawValue
                $0.depend(on: name + "/", end.identity)
            })
        }
        return Plan(large: large, small: small, line: line, spectra: spectra)
    }

    /// The configuration of a training part: SGD with `batch` for exactly `steps` steps at the
    /// base's constant learning rate, checkpointed so a stopped part can be continued.
    package func part(_ batch: Int, _ steps: Int) -> RunConfiguration {
        var c = study.base
        c.train.algorithm = .sgd
        c.train.batch = batch
        c.train.steps = steps
        c.train.epochs = nil
        // The study compares the two parts at the same constant η and equal step counts.
        c.train.decayEvery = 0
        c.train.decayFactor = 1
        c.train.targetLoss = nil
        c.train.targetGradientNorm = nil
        if c.train.checkpointEvery == 0 { c.train.checkpointEvery = max(1, steps / 10) }
        return c
    }

    /// Every refusal of the later parts, made before Part I trains: the line's grid and the
    /// spectrum's memory plan, checked at the seed's initialisation (the same M and data).
    package func checkLaterParts(range: GridAxis, on world: Communicator) throws {
        // The batches against the real N (a file's sample count is known once it is read).
        try study.validate(samples: try study.base.data.load(seed: study.base.seed, on: world).globalCount)
        guard range.count <= InterpolateJob.pointLimit else {
            throw InputError("study.range has \(range.count) points (> \(InterpolateJob.pointLimit)); use fewer")
        }
        switch study.spectrum {
        case .exact:
            var job = SpectrumJob(configuration: study.base, point: .initialization, output: spectrum("large"))
            job.memoryPerRank = memoryPerRank
            job.quiet = true
            try job.check(on: world)
        case .top:
            var job = EstimatorJob(.top, configuration: study.base, point: .initialization, output: spectrum("large"))
            job.memoryPerRank = memoryPerRank
            job.quiet = true
            try job.check(at: .initialization, on: world)
        case .none: break
        }
    }

    public func run(on world: Communicator) throws {
        let base = study.base
        // The parts' configurations (the study sets algorithm, batch and steps), not the file's own.
        try part(study.largeBatch, study.largeSteps).validate()
        try part(study.smallBatch, study.smallSteps).validate()
        try study.validate(samples: base.data.samples)
        let range: GridAxis
        do { range = try GridAxis(parsing: study.range) } catch { throw InputError("study.range \(error.message)") }
        try world.agree { try output.validate() }
        let progress = JobProgress(communicator: world, quiet: quiet)
        let plan = plan(range: range)
        let lock = try parts.lock(on: world)
        defer { lock.release() }
        // Parts left by an earlier run are reused or continued: each must be a part of this very study.
        try parts.requireSameSettings(plan.all, on: world)
        try parts.run(plan.large, on: world) {
            try checkLaterParts(range: range, on: world)
            progress.say("study: Part I — SGD, batch \(study.largeBatch), \(study.largeSteps) steps, η = \(base.train.learningRate)")
            try parts.train(plan.large, from: nil, on: world)
        }
        try parts.run(plan.small, on: world) {
            progress.say("study: Part II — SGD, batch \(study.smallBatch), \(study.smallSteps) steps from Part I's end point, the same η")
            try parts.train(plan.small, from: large.file("params.npy"), on: world)
        }
        let a = large.file("params.npy"), b = small.file("params.npy")
        try parts.run(plan.line, on: world) {
            progress.say("study: the line from the end of Part I (α = 0) to the end of Part II (α = 1)")
            var lineConfiguration = base
            lineConfiguration.interpolate.range = range.description
            var job = InterpolateJob(configuration: lineConfiguration, shape: .segment(from: a, to: b), output: line)
            job.resume = true   // finished points of a stopped run of the study are kept
            job.quiet = quiet
            job.memoryPerRank = memoryPerRank
            try job.run(on: world)
        }
        for (name, part) in plan.spectra {
            let point = name == "large" ? a : b
            try parts.run(part, on: world) {
                progress.say("study: the Hessian \(study.spectrum == .exact ? "spectrum" : "top eigenvalues") at the end of Part \(name == "large" ? "I" : "II")")
                let directory = parts.directory(part)
                switch study.spectrum {
                case .exact:
                    var job = SpectrumJob(configuration: base, point: .checkpoint(point), output: directory)
                    job.resume = true
                    job.quiet = quiet
                    job.announce = false
                    job.memoryPerRank = memoryPerRank
                    try job.run(on: world)
                case .top:
                    var job = EstimatorJob(.top, configuration: base, point: .checkpoint(point), output: directory)
                    job.resume = true
                    job.quiet = quiet
                    job.memoryPerRank = memoryPerRank
                    try job.run(on: world)
                case .none: break
                }
            }
        }
        try world.agree {
            let text = try writeReport()
            try writeAtomically(Data(text.utf8), to: output.file("report.md"))
        }
        if world.isRoot { print("study lb-sb: report in \(output.file("report.md"))") }
    }

    /// One train.csv as (step, column values) rows.
    package struct Curve {
        package var steps: [Double] = []
        package var columns: [String: [Double?]] = [:]
    }

    package func readCurve(_ directory: RunDirectory) throws -> Curve {
        let text = try String(contentsOfFile: directory.file("train.csv"), encoding: .utf8)
        var lines = text.split(separator: "\n").map(String.init)
        guard !lines.isEmpty else { return Curve() }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var curve = Curve()
        for name in header { curve.columns[name] = [] }
        for line in lines {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for (i, name) in header.enumerated() { curve.columns[name]!.append(i < fields.count ? Double(fields[i]) : nil) }
            curve.steps.append(Double(fields[0]) ?? .nan)
        }
        return curve
    }

    /// report.md and its plots (rank 0).
    package func writeReport() throws -> String {
        let partI = try readCurve(large), partII = try readCurve(small)
        // Part II continues at the step Part I ended at (study.large-steps unless it was cut short).
        let offset = partI.steps.last ?? Double(study.largeSteps)
        func series(_ column: String, _ name: String) -> SVGPlot.Series {
            var points: [(x: Double, y: Double)] = []
            for (curve, shift) in [(partI, 0.0), (partII, offset)] {
                for (i, v) in (curve.columns[column] ?? []).enumerated() { if let v, v.isFinite { points.append((curve.steps[i] + shift, v)) } }
            }
            return SVGPlot.Series(name: name, points: points)
        }
        let heldOut = (partI.columns["held_out_loss"] ?? []).contains { $0 != nil }
        let classification = (partI.columns["accuracy"] ?? []).contains { $0 != nil }
        let marker = [(x: offset, label: "batch \(study.largeBatch) → \(study.smallBatch)")]
        var lossPlot = SVGPlot(title: "Training across both parts: loss", xLabel: "step (Part II continues at step \(study.largeSteps))", yLabel: "loss (log scale)")
        lossPlot.markers = marker
        lossPlot.series = [series("loss", "training")] + (heldOut ? [series("held_out_loss", "held out")] : [])
        // Losses span orders of magnitude over a run; a log axis shows the switch at any level.
        lossPlot.logY = lossPlot.series.allSatisfy { $0.points.allSatisfy { $0.y > 0 } }
        if !lossPlot.logY { lossPlot.yLabel = "loss" }
        try writeAtomically(Data(lossPlot.render().utf8), to: output.file("training-loss.svg"))
        if classification {
            var accuracyPlot = SVGPlot(title: "Training across both parts: accuracy", xLabel: lossPlot.xLabel, yLabel: "accuracy")
            accuracyPlot.markers = marker
            accuracyPlot.series = [series("accuracy", "training")] + (heldOut ? [series("held_out_accuracy", "held out")] : [])
            try writeAtomically(Data(accuracyPlot.render().utf8), to: output.file("training-accuracy.svg"))
        }

        let lineSummary = try JSONDecoder().decode(LineSummary.self, from: Data(contentsOf: URL(fileURLWithPath: line.file("summary.json"))))
        func last(_ curve: Curve, _ column: String) -> String {
            (curve.columns[column]?.last ?? nil).map { String(format: "%.6g", $0) } ?? "—"
        }
        /// Part II's first record after its starting point (its row at step 0 is Part I's end point).
        func firstRecord(_ curve: Curve, _ column: String) -> String {
            guard let i = curve.steps.firstIndex(where: { $0 > 0 }) else { return "—" }
            return ((curve.columns[column] ?? [])[i]).map { String(format: "%.6g", $0) } ?? "—"
        }
        var md = """
        # Large batch → small batch (Sagun et al. §4.1)

        Data: \(lineSummary.data)\(lineSummary.heldOut.map { "; \($0)" } ?? " (no held-out data: set data.held-out)"). \
        Model: \(lineSummary.model), M = \(lineSummary.parameters). Constant learning rate η = \(study.base.train.learningRate).

        - Part I: SGD with batch B₁ = \(study.largeBatch) for S₁ = \(study.largeSteps) steps from the seed's initialisation (`large/`).
        - Part II: SGD with batch B₂ = \(study.smallBatch) for S₂ = \(study.smallSteps) steps from Part I's end point, the same η (`small/`).
        - The line θ(α) = (1 − α)·θ_I + α·θ_II on \(study.range), α = 0 the end of Part I, α = 1 the end of Part II (`line/`).

        ## Training curves across both parts

        ![loss](training-loss.svg)\(classification ? "\n![accuracy](training-accuracy.svg)" : "")

        | | training loss | \(classification ? "training accuracy | " : "")held-out loss | \(classification ? "held-out accuracy |" : "")
        |---|---|\(classification ? "---|" : "")---|\(classification ? "---|" : "")
        | end of Part I | \(last(partI, "loss")) | \(classification ? last(partI, "accuracy") + " | " : "")\(last(partI, "held_out_loss")) | \(classification ? last(partI, "held_out_accuracy") + " |" : "")
        | first record of Part II | \(firstRecord(partII, "loss")) | \(classification ? firstRecord(partII, "accuracy") + " | " : "")\(firstRecord(partII, "held_out_loss")) | \(classification ? firstRecord(partII, "held_out_accuracy") + " |" : "")
        | end of Part II | \(last(partII, "loss")) | \(classification ? last(partII, "accuracy") + " | " : "")\(last(partII, "held_out_loss")) | \(classification ? last(partII, "held_out_accuracy") + " |" : "")

        Part II's first record is at its step \(study.base.train.recordEvery) (train.record-every): the jump at the switch shows \
        there, against the end of Part I. \(jump(partI, partII))

        ## The line between the two end points

        ![line](line/line.svg)

        | data | L at α = 0 (end of I) | L at α = 1 (end of II) | max over α ∈ [0, 1] | at α | barrier = max − max(ends) |
        |---|---|---|---|---|---|

        """
        for (name, p) in [("training", lineSummary.segment), ("held out", lineSummary.heldOutSegment)] {
            guard let p else { continue }
            md += String(format: "| %@ | %.8g | %.8g | %.8g | %g | %.3g |\n", name, p.lossAtStart, p.lossAtEnd, p.maximumOnSegment,
                         p.alphaOfMaximum, p.barrierHeight)
        }
        if let p = lineSummary.segment {
            let verdict = p.barrierHeight <= 1e-12 * max(abs(p.lossAtStart), abs(p.lossAtEnd), 1e-300)
                ? "No barrier: nothing on the segment rises above the higher end point — the two solutions lie in one basin along this line."
                : String(format: "A barrier of %.3g above the higher end point: along this straight line the two solutions are separated.", p.barrierHeight)
            md += "\n\(verdict)\n"
        }
        if let steep = try steepness() { md += "\n\(steep)\n" }

        md += "\n## The Hessian at both end points\n\n"
        switch study.spectrum {
        case .none:
            md += "Not computed (study.spectrum = \"none\").\n"
        case .exact, .top:
            let values = try ["large", "small"].map { try NPYArray(contentsOf: spectrum($0).file("eigenvalues.npy")).values }
            // exact: ascending, all M; top: largest first.
            let tops = values.map { v in study.spectrum == .exact ? Array(v.reversed().prefix(5)) : Array(v.prefix(5)) }
            md += "| end point | λ₁ | λ₂ | λ₃ | λ₄ | λ₅ |\(study.spectrum == .exact ? " negative eigenvalues |" : "")\n|---|---|---|---|---|---|\(study.spectrum == .exact ? "---|" : "")\n"
            for (k, name) in ["end of Part I (large batch)", "end of Part II (small batch)"].enumerated() {
                let cells = (0..<5).map { $0 < tops[k].count ? String(format: "%.6g", tops[k][$0]) : "—" }.joined(separator: " | ")
                let negative = study.spectrum == .exact ? " \(values[k].filter { $0 < -Double(values[k].count) * Double.ulpOfOne * (values[k].map(abs).max() ?? 0) }.count) |" : ""
                md += "| \(name) | \(cells) |\(negative)\n"
            }
            let ratio = (tops[0].first ?? .nan) / (tops[1].first ?? .nan)
            md += String(format: "\nλ₁(large batch) / λ₁(small batch) = %.3g: the large-batch end is %@.\n", ratio,
                         ratio > 1 ? "sharper (its top eigenvalue is larger)" : "not sharper by the top eigenvalue")
            if study.spectrum == .exact {
                md += "\nSpectra: [large batch](spectrum-large/spectrum.svg), [small batch](spectrum-small/spectrum.svg).\n"
            }
        }
        return md
    }

    /// The change of the training loss (and accuracy) from the end of Part I to Part II's first record.
    package func jump(_ partI: Curve, _ partII: Curve) -> String {
        guard let before = partI.columns["loss"]?.last ?? nil, let i = partII.steps.firstIndex(where: { $0 > 0 }),
              let after = partII.columns["loss"]?[i] ?? nil, before > 0 else { return "" }
        let change = 100 * (after - before) / before
        return String(format: "Here the training loss %@ by %.3g %% at the switch.", change > 0 ? "jumps up" : "goes down", abs(change))
    }

    /// How fast the loss rises past each end of the line (Sagun et al.'s Figure 10): the rise
    /// from the end point to the farthest grid point beyond it, per unit of α.
    package func steepness() throws -> String? {
        let text = try String(contentsOfFile: line.file("line.csv"), encoding: .utf8)
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) } }
        let points = rows.compactMap { r -> (Double, Double)? in
            guard r.count >= 2, let a = r[0], let l = r[1] else { return nil }
            return (a, l)
        }
        guard let start = points.first(where: { $0.0 == 0 }), let end = points.first(where: { $0.0 == 1 }),
              let before = points.first, let after = points.last, before.0 < 0, after.0 > 1 else { return nil }
        let riseI = (before.1 - start.1) / (0 - before.0), riseII = (after.1 - end.1) / (after.0 - 1)
        return String(format: "Past the ends: the training loss changes by %+.4g per unit α beyond the large-batch end (α < 0) and by %+.4g beyond the small-batch end (α > 1)%@.",
                      riseI, riseII, riseI > riseII ? " — it rises faster past the large-batch end" : "")
    }

    /// The parts of interpolate's summary.json the report reads.
    package struct LineSummary: Decodable {
        package var data: String
        package var heldOut: String?
        package var model: String
        package var parameters: Int
        package var segment: SegmentProfile?
        package var heldOutSegment: SegmentProfile?
    }
}
