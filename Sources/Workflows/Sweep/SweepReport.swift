import Foundation
import Support
import NPY
import Configuration
import Jobs
import DistributedLinearAlgebra

/// The sweep-level files, written by world rank 0 only from what the points left on disk:
/// sweep/summary.csv (one row per point), sweep/summary.json, sweep/report.md and its SVG plots —
/// the parameter-scaling overlays of Sagun et al. (top edge; left edge as λᵢ/λ_min), outliers
/// against the number of classes, the bulk's histograms, and cost against M.
///
/// It reads only finished files (each written under a temporary name and renamed), so running it
/// while other array tasks still work gives a consistent partial report; points not finished yet
/// appear with status "pending".
package struct SweepReport {
    package var definition: SweepDefinition
    package var output: RunDirectory

    /// One point's row: its settings and what its run directory says.
    package struct Row: Codable {
        package var id: String
        package var status: String
        package var settings: [String: String]
        package var parameters: Int?
        package var samples: Int?
        package var classes: Int
        package var steps: Int?
        package var loss: Double?
        package var accuracy: Double?
        package var gradientNorm: Double?
        package var eigenvalueMinimum: Double?
        package var eigenvalueMaximum: Double?
        package var negative: Int?
        package var nearZero: Int?
        package var positive: Int?
        package var zeroTolerance: Double?
        /// The bulk |λ| ≤ τ·max|λ| at each of the point's `eig.bulk-tolerances`.
        package var bulk: [RelativeInertia]?
        package var outliersGap: Int?
        package var outliersRatio: Int?
        package var outliersElbow: Int?
        package var trace: Double?
        package var trainSeconds: Double?
        package var assemblySeconds: Double?
        package var eigensolveSeconds: Double?
        package var seconds: Double?
        package var peakResidentBytes: Int?
        package var error: String?
        /// φ = M / (N·k), Pennington & Bahri's ratio of parameters to data (k outputs), and with
        /// model.loss = "mse" and φ < 1 their conjectured minimiser energy ½(1 − φ)² beside `loss`.
        package var phi: Double?
        package var memorizationEnergy: Double?
        /// With `spectrum.blocks`: each diagonal block's outlier count (ratio criterion) and
        /// ‖H − blockdiag(H)‖_F / ‖H‖_F; with eigenvectors, their anatomy (docs/anatomy.md).
        package var blockOutliers: [String: Int]?
        package var blockOffDiagonalFraction: Double?
        package var classMeanOverlapTop: Double?
        package var meanLayerMass: [String: Double]?
    }

    package struct Summary: Codable {
        package var points: Int
        package var done: Int
        package var failed: Int
        package var pending: Int
        package var axes: [String]
        package var rows: [Row]
    }

    /// Writes every sweep-level file (summary.json after the run `header`); returns a
    /// one-paragraph summary for the terminal.
    package func write(header: RunHeader) throws -> String {
        let directory = output.subdirectory("sweep")
        try directory.create()
        var rows: [Row] = [], spectra: [(label: String, values: [Double], row: Row)] = []
        for point in definition.points {
            let (row, eigenvalues) = load(point)
            rows.append(row)
            if let eigenvalues { spectra.append((shortLabel(point), eigenvalues, row)) }
        }
        let axes = axisKeys
        let summary = Summary(points: rows.count, done: rows.count(where: { $0.status == "done" }),
                              failed: rows.count(where: { $0.status == "failed" }), pending: rows.count(where: { $0.status == "pending" }),
                              axes: axes, rows: rows)
        try writeAtomically(Data(csv(rows, axes: axes).utf8), to: directory.file("summary.csv"))
        try directory.writeJSON(HeadedSummary(header: header, summary: summary), to: "summary.json")
        var plots = SweepPlots.plots(spectra, caption: caption)
        if let memorization = SweepPlots.memorization(rows) {
            var plot = memorization
            plot.subtitle = caption
            plots.append(("loss-vs-phi.svg", plot))
        }
        for (name, plot) in plots { try writeAtomically(Data(plot.render().utf8), to: directory.file(name)) }
        try writeAtomically(Data(markdown(summary, plots: plots.map(\.0)).utf8), to: directory.file("report.md"))
        return "sweep: \(summary.done) of \(summary.points) points done, \(summary.failed) failed, \(summary.pending) pending; report in \(directory.file("report.md"))"
    }

    /// The keys that vary, in the order of first appearance.
    package var axisKeys: [String] {
        var keys: [String] = []
        for point in definition.points { for s in point.settings where !keys.contains(s.key) { keys.append(s.key) } }
        return keys
    }

    package var caption: String {
        let b = definition.base
        let model = b.model.kind == .convnet ? "convnet \(b.model.convolution)" : "hidden layers \(b.model.layers)"
        return "base: \(b.data.kind.rawValue) data, \(model), \(b.model.activation.rawValue), \(b.train.algorithm.rawValue); \(definition.points.count) points"
    }

    package func shortLabel(_ point: SweepPoint) -> String {
        point.settings.map { "\($0.key.split(separator: ".").last ?? "")=\($0.value.rendered)" }.joined(separator: " ")
    }

    package func load(_ point: SweepPoint) -> (Row, [Double]?) {
        let directory = output.subdirectory("points/\(point.id)")
        var row = Row(id: point.id, status: "pending", settings: Dictionary(point.settings.map { ($0.key, $0.value.rendered) }) { $1 },
                      classes: point.configuration.data.classes)
        guard let record = try? PointRecord.read(from: directory) else { return (row, nil) }
        row.status = record.status.rawValue
        row.error = record.error
        row.seconds = record.seconds
        guard record.status == .done else { return (row, nil) }
        let final = directory.subdirectory("final"), train = directory.subdirectory("train")
        let decoder = NonFiniteJSON.decoder()
        if let s = try? decoder.decode(SpectrumJob.Summary.self, from: Data(contentsOf: URL(fileURLWithPath: final.file("summary.json")))) {
            row.parameters = s.parameters
            row.samples = s.samples
            row.loss = s.loss
            row.accuracy = s.accuracy
            row.gradientNorm = s.gradientNorm
            row.eigenvalueMinimum = s.hessian.counts.minimum
            row.eigenvalueMaximum = s.hessian.counts.maximum
            row.negative = s.hessian.counts.negative
            row.nearZero = s.hessian.counts.nearZero
            row.positive = s.hessian.counts.positive
            row.zeroTolerance = s.hessian.counts.zeroTolerance
            row.bulk = s.hessian.bulk
            row.outliersGap = s.hessian.outliers.gap
            row.outliersRatio = s.hessian.outliers.ratio
            row.outliersElbow = s.hessian.outliers.elbow
            row.trace = s.hessian.trace.fromEigenvalues
            row.assemblySeconds = s.seconds.filter { $0.key.hasPrefix("assemble ") || $0.key.hasPrefix("reduce ") }.values.reduce(0, +)
            row.eigensolveSeconds = s.seconds.filter { $0.key.hasPrefix("eigensolve ") }.values.reduce(0, +)
            row.peakResidentBytes = s.peakResidentBytesPerRank.max()
            if let blocks = s.blocks {
                row.blockOutliers = Dictionary(uniqueKeysWithValues: blocks.blocks.map { ($0.name, $0.outliers.ratio) })
                row.blockOffDiagonalFraction = blocks.offDiagonalFraction
            }
            row.classMeanOverlapTop = s.hessian.anatomy?.classMeanOverlapTop
            row.meanLayerMass = s.hessian.anatomy?.meanLayerMass
        }
        if let t = try? decoder.decode(TrainSummary.self, from: Data(contentsOf: URL(fileURLWithPath: train.file("summary.json")))) {
            row.steps = t.step
            row.trainSeconds = t.trainingSeconds
            row.peakResidentBytes = max(row.peakResidentBytes ?? 0, t.peakResidentBytesPerRank.max() ?? 0)
        }
        if let m = row.parameters, let n = row.samples {
            let phi = Double(m) / Double(n * max(1, row.classes))
            row.phi = phi
            if point.configuration.model.loss == .meanSquaredError { row.memorizationEnergy = phi < 1 ? 0.5 * (1 - phi) * (1 - phi) : 0 }
        }
        let eigenvalues = try? NPYArray(contentsOf: final.file("eigenvalues.npy")).values
        return (row, eigenvalues)
    }

    package func csv(_ rows: [Row], axes: [String]) -> String {
        let columns = ["id", "status"] + axes + ["M", "N", "steps", "loss", "accuracy", "gradient_norm", "lambda_min", "lambda_max",
                                                 "negative", "near_zero", "positive", "zero_tolerance", "outliers_gap", "outliers_ratio",
                                                 "outliers_elbow", "trace", "train_seconds", "assembly_seconds", "eigensolve_seconds",
                                                 "seconds", "peak_memory_bytes", "phi", "half_one_minus_phi_squared",
                                                 "bulk_tolerances", "bulk", "bulk_fraction", "block_outliers", "block_off_diagonal_fraction",
                                                 "class_mean_overlap_top", "mean_layer_mass", "error"]
        func number(_ x: Double?) -> String { x.map { $0.isFinite ? String(format: "%.17g", $0) : "\($0)" } ?? "" }
        func integer(_ x: Int?) -> String { x.map(String.init) ?? "" }
        /// "name=value" pairs, space-separated, names in order with numbers compared as numbers (layer2 before layer10).
        func pairs<V>(_ values: [String: V]?, _ render: (V) -> String) -> String {
            (values ?? [:]).sorted { $0.key.compare($1.key, options: .numeric) == .orderedAscending }
                .map { "\($0.key)=\(render($0.value))" }.joined(separator: " ")
        }
        func quoted(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var lines = [columns.joined(separator: ",")]
        for r in rows {
            let fields = [r.id, r.status] + axes.map { r.settings[$0] ?? "" } + [
                integer(r.parameters), integer(r.samples), integer(r.steps), number(r.loss), number(r.accuracy), number(r.gradientNorm),
                number(r.eigenvalueMinimum), number(r.eigenvalueMaximum), integer(r.negative), integer(r.nearZero), integer(r.positive),
                number(r.zeroTolerance), integer(r.outliersGap), integer(r.outliersRatio), integer(r.outliersElbow), number(r.trace),
                number(r.trainSeconds), number(r.assemblySeconds), number(r.eigensolveSeconds), number(r.seconds),
                integer(r.peakResidentBytes), number(r.phi), number(r.memorizationEnergy),
                // One entry per τ, space-separated (the τ list may differ between sweeps).
                (r.bulk ?? []).map { number($0.relativeTolerance) }.joined(separator: " "),
                (r.bulk ?? []).map { integer($0.bulk) }.joined(separator: " "),
                (r.bulk ?? []).map { number($0.bulkFraction) }.joined(separator: " "),
                // Blocks and layers differ between models: name=value pairs.
                pairs(r.blockOutliers) { "\($0)" },
                number(r.blockOffDiagonalFraction), number(r.classMeanOverlapTop),
                pairs(r.meanLayerMass, number),
                r.error ?? ""]
            lines.append(fields.map(quoted).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    package func markdown(_ s: Summary, plots: [String]) -> String {
        func g(_ x: Double?) -> String { x.map { String(format: "%.4g", $0) } ?? "–" }
        func i(_ x: Int?) -> String { x.map(String.init) ?? "–" }
        func bulk(_ b: [RelativeInertia]?) -> String {
            guard let b, !b.isEmpty else { return "–" }
            return b.map { String(format: "%.0e: %.1f %%", $0.relativeTolerance, 100 * $0.bulkFraction) }.joined(separator: ", ")
        }
        var text = """
        # Sweep report

        \(caption). \(s.done) of \(s.points) points done, \(s.failed) failed, \(s.pending) pending.
        Every number below comes from the point's run directory (points/<id>/final/summary.json and
        points/<id>/train/summary.json); the machine-readable table is summary.csv. Outliers are
        counted among the top eigenvalues of H by the largest gap, the largest ratio and the elbow
        (docs/spectrum.md); the zero tolerance is per point (zero_tolerance in the CSV). The bulk is
        |λ| ≤ τ·max|λ| at each relative threshold τ (eig.bulk-tolerances), as a share of M.

        | point | M | N | loss | accuracy | λ_min | λ_max | neg / ≈0 / pos | bulk | outliers gap / ratio / elbow | seconds |
        |---|---|---|---|---|---|---|---|---|---|---|

        """
        for r in s.rows {
            let settings = s.axes.compactMap { key in r.settings[key].map { "\(key.split(separator: ".").last ?? "")=\($0)" } }.joined(separator: " ")
            let name = settings.isEmpty ? r.id : settings
            if r.status != "done" {
                text += "| \(name) | \(r.status)\(r.error.map { ": " + $0.replacingOccurrences(of: "|", with: "\\|") } ?? "") | | | | | | | | | |\n"
                continue
            }
            text += "| \(name) | \(i(r.parameters)) | \(i(r.samples)) | \(g(r.loss)) | \(g(r.accuracy)) | \(g(r.eigenvalueMinimum)) | \(g(r.eigenvalueMaximum)) | \(i(r.negative)) / \(i(r.nearZero)) / \(i(r.positive)) | \(bulk(r.bulk)) | \(i(r.outliersGap)) / \(i(r.outliersRatio)) / \(i(r.outliersElbow)) | \(g(r.seconds)) |\n"
        }
        text += "\n"
        for name in plots { text += "![\(name)](\(name))\n\n" }
        return text
    }
}
