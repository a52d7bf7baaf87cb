import Jobs
import Cluster
import Foundation
import Geometry
import NPY
import Reporting
import Support

/// The outputs of `landscape interpolate` (docs/interpolate.md): line.csv or plane.npy/plane.csv,
/// the SVG plots, curvature.csv, directions.npy, summary.json, timings.json, config.toml.
extension InterpolateJob {
    package struct Summary: Codable {
        package var command = "interpolate"
        package var section: String
        package var model: String
        package var data: String
        package var heldOut: String?
        package var parameters: Int
        package var samples: Int
        package var ranks: Int
        package var groups: Int
        package var groupSize: Int
        package var normalization: String
        package var axes: [String]
        package var points: Int
        package var pointsComputed: Int
        package var pointsFromCheckpoint: Int
        /// Grid points per second over this run's computed points (all groups together).
        package var pointsPerSecond: Double
        package var segment: SegmentProfile?
        package var heldOutSegment: SegmentProfile?
        package var minimumLoss: Double
        package var maximumLoss: Double
        package var coordinatesOfMinimum: [Double]
        package var curvature: [CurvatureRecord]
        package var curvatureFromCheckpoint: Int
        package var seconds: Double
        package var peakResidentBytesPerRank: [Int]
    }

    package func report(_ done: FinishedPoints, restored: (points: Int, curvature: Int), computed: Int, pointSeconds: Double,
                seconds: Double, _ context: inout Context) throws {
        let world = context.world
        let header = try context.run.completedHeader()
        let writeClock = Stopwatch()
        try world.agree {
            let points = done.points.sorted { $0.index < $1.index }
            precondition(points.count == context.grid.count && points.enumerated().allSatisfy { $0.offset == $0.element.index })
            let curvature = done.curvature.sorted { $0.index < $1.index }
            try output.create()
            try writeDirections(context)
            let line = context.section.dimension == 1
            if line { try writeLine(points, context) } else { try writePlane(points, context) }
            if !curvature.isEmpty { try writeCurvature(curvature, context) }
            let alphas = points.map { $0.coordinates[0] }
            let best = points.min { $0.loss < $1.loss }!
            let isSegment: Bool = if case .segment = shape { true } else { false }
            let summary = Summary(
                section: context.description, model: context.model.summary, data: context.training.dataset.description,
                heldOut: context.heldOut?.dataset.description, parameters: context.m, samples: context.training.dataset.globalCount,
                ranks: world.size, groups: context.groups.count, groupSize: context.group.size, normalization: normalizationUsed.rawValue,
                axes: context.axes.map(\.description), points: points.count, pointsComputed: computed, pointsFromCheckpoint: restored.points,
                pointsPerSecond: Double(computed) / max(pointSeconds, 1e-12),
                segment: isSegment ? SegmentProfile(alphas: alphas, losses: points.map(\.loss)) : nil,
                heldOutSegment: isSegment && context.heldOut != nil ? SegmentProfile(alphas: alphas, losses: points.map { $0.heldOutLoss ?? .nan }) : nil,
                minimumLoss: best.loss, maximumLoss: points.map(\.loss).max()!, coordinatesOfMinimum: best.coordinates,
                curvature: curvature, curvatureFromCheckpoint: restored.curvature, seconds: seconds, peakResidentBytesPerRank: header.peakResidentBytesPerRank)
            try context.run.writeSummary(summary, header: header)
            print(reportText(summary))
        }
        try context.timings.record("write", seconds: writeClock.seconds, on: world)
        try context.run.writeTimings()
        if world.isRoot {
            if FileManager.default.fileExists(atPath: checkpoint.path) { try FileManager.default.removeItem(atPath: checkpoint.path) }
            print("  results in \(output.path)/")
        }
    }


    package func reportText(_ s: Summary) -> String {
        var lines = ["interpolate: \(s.section)",
                     String(format: "  %d points (%d computed, %d from the checkpoint), %.3g points/s on %d group(s) of %d rank(s)",
                            s.points, s.pointsComputed, s.pointsFromCheckpoint, s.pointsPerSecond, s.groups, s.groupSize),
                     String(format: "  loss: min %.10g at %@, max %.10g", s.minimumLoss, s.coordinatesOfMinimum.map { String(format: "%g", $0) }.joined(separator: ", "), s.maximumLoss)]
        if let p = s.segment {
            lines.append(String(format: "  segment [0, 1]: L(A) = %.10g, L(B) = %.10g, max %.10g at α = %g, barrier %.6g", p.lossAtStart, p.lossAtEnd,
                                p.maximumOnSegment, p.alphaOfMaximum, p.barrierHeight))
        }
        if let p = s.heldOutSegment {
            lines.append(String(format: "  held out: L(A) = %.10g, L(B) = %.10g, barrier %.6g", p.lossAtStart, p.lossAtEnd, p.barrierHeight))
        }
        for c in s.curvature {
            let index = c.negativeFraction.map { String(format: ", index %.6g (%d negative)", $0, c.negative ?? 0) } ?? ""
            lines.append(String(format: "  curvature at α = %g (%@): λ₁ = %.8g%@", c.alpha, c.method, c.topEigenvalues.first ?? .nan, index))
        }
        return lines.joined(separator: "\n")
    }

    /// The directions that span the section, M × r row-major (docs/formats.md), for reproducing it.
    package func writeDirections(_ context: Context) throws {
        guard case .directions(_, let d) = context.section.form else { return }
        let m = context.m, r = d.count
        var rows = [Double](repeating: 0, count: m * r)
        for j in 0..<r { for i in 0..<m { rows[i * r + j] = d[j][i] } }
        try NPYArray(shape: [m, r], values: rows).write(to: output.file("directions.npy"))
    }

    package func csvField(_ v: Double?) -> String { v.map { String(format: "%.17g", $0) } ?? "" }

    package func columns(_ context: Context) -> [(name: String, value: (PointRecord) -> Double?)] {
        var list: [(name: String, value: (PointRecord) -> Double?)] = [("loss", { $0.loss })]
        if context.training.dataset.isClassification { list.append(("accuracy", { $0.accuracy })) }
        if context.section.dimension == 1 { list.append(("gradient_norm", { $0.gradientNorm })) }
        if context.heldOut != nil {
            list.append(("held_out_loss", { $0.heldOutLoss }))
            if context.training.dataset.isClassification { list.append(("held_out_accuracy", { $0.heldOutAccuracy })) }
        }
        return list
    }

    package func writeLine(_ points: [PointRecord], _ context: Context) throws {
        let cols = columns(context)
        var csv = (["alpha"] + cols.map(\.name)).joined(separator: ",") + "\n"
        for p in points { csv += ([csvField(p.coordinates[0])] + cols.map { csvField($0.value(p)) }).joined(separator: ",") + "\n" }
        try writeAtomically(Data(csv.utf8), to: output.file("line.csv"))
        let marks: [(x: Double, label: String)] = context.marks.map { ($0.coordinates[0], $0.label) }
        let subtitle = "\(context.model.summary), M = \(context.m), N = \(context.training.dataset.globalCount)"
        func plot(_ title: String, _ y: String, _ series: [(String, (PointRecord) -> Double?)], file: String, log: Bool) throws {
            var chart = SVGPlot(title: title, xLabel: "α", yLabel: y)
            chart.subtitle = subtitle
            chart.logY = log
            chart.markers = marks
            chart.series = series.map { name, value in
                SVGPlot.Series(name: name, points: points.compactMap { p in value(p).flatMap { $0.isFinite ? (p.coordinates[0], $0) : nil } })
            }
            try writeAtomically(Data(chart.render().utf8), to: output.file(file))
        }
        var lossSeries: [(String, (PointRecord) -> Double?)] = [("training", { $0.loss })]
        if context.heldOut != nil { lossSeries.append(("held out", { $0.heldOutLoss })) }
        let positive = points.allSatisfy { $0.loss > 0 && ($0.heldOutLoss ?? 1) > 0 }
        try plot("Loss along the line", positive ? "loss (log scale)" : "loss", lossSeries, file: "line.svg", log: positive)
        if context.training.dataset.isClassification {
            var accuracy: [(String, (PointRecord) -> Double?)] = [("training", { $0.accuracy })]
            if context.heldOut != nil { accuracy.append(("held out", { $0.heldOutAccuracy })) }
            try plot("Accuracy along the line", "accuracy", accuracy, file: "accuracy.svg", log: false)
        }
    }

    package func writePlane(_ points: [PointRecord], _ context: Context) throws {
        let axes = context.axes, nx = axes[0].count, ny = axes[1].count
        // plane.npy[j, i] = L(α_i, β_j): rows are β, as matplotlib's contour(alphas, betas, Z) expects.
        try NPYArray(shape: [ny, nx], values: points.map(\.loss)).write(to: output.file("plane.npy"))
        if context.heldOut != nil {
            try NPYArray(shape: [ny, nx], values: points.map { $0.heldOutLoss ?? .nan }).write(to: output.file("plane_held_out.npy"))
        }
        let cols = columns(context)
        var csv = (["alpha", "beta"] + cols.map(\.name)).joined(separator: ",") + "\n"
        for p in points {
            csv += ([csvField(p.coordinates[0]), csvField(p.coordinates[1])] + cols.map { csvField($0.value(p)) }).joined(separator: ",") + "\n"
        }
        try writeAtomically(Data(csv.utf8), to: output.file("plane.csv"))
        var chart = ContourPlot(title: "Training loss on the plane", xLabel: "α", yLabel: "β", xs: axes[0].values, ys: axes[1].values,
                                values: points.map(\.loss))
        chart.subtitle = "\(context.model.summary), M = \(context.m), N = \(context.training.dataset.globalCount); \(normalizationUsed.rawValue)-normalised"
        chart.points = context.marks.map { ($0.coordinates[0], $0.coordinates[1], $0.label) }
        try writeAtomically(Data(chart.render().utf8), to: output.file("plane.svg"))
    }

    package func writeCurvature(_ records: [CurvatureRecord], _ context: Context) throws {
        let k = records.map(\.topEigenvalues.count).max() ?? 0
        var csv = (["alpha", "method"] + (0..<k).map { "lambda\($0 + 1)" } + ["negative_fraction", "negative", "lambda_min"]).joined(separator: ",") + "\n"
        for r in records {
            let tops = (0..<k).map { $0 < r.topEigenvalues.count ? csvField(r.topEigenvalues[$0]) : "" }
            csv += ([csvField(r.alpha), r.method] + tops + [csvField(r.negativeFraction), r.negative.map(String.init) ?? "", csvField(r.smallestEigenvalue)])
                .joined(separator: ",") + "\n"
        }
        try writeAtomically(Data(csv.utf8), to: output.file("curvature.csv"))
        var chart = SVGPlot(title: "Curvature along the line: top eigenvalue of H", xLabel: "α", yLabel: "λ₁")
        chart.subtitle = "\(context.model.summary), M = \(context.m)"
        chart.markers = context.marks.map { ($0.coordinates[0], $0.label) }
        let ordered = records.sorted { $0.alpha < $1.alpha }
        chart.series = [.init(name: "λ₁", points: ordered.map { ($0.alpha, $0.topEigenvalues.first ?? .nan) })]
        if ordered.contains(where: { $0.negativeFraction != nil }) {
            // The index is a fraction and λ₁ a curvature: two charts, each on its own axis.
            var index = SVGPlot(title: "Index along the line: fraction of negative eigenvalues of H", xLabel: "α", yLabel: "negative fraction")
            index.subtitle = chart.subtitle
            index.markers = chart.markers
            index.series = [.init(name: "index", points: ordered.compactMap { r in r.negativeFraction.map { (r.alpha, $0) } })]
            try writeAtomically(Data(index.render().utf8), to: output.file("index.svg"))
        }
        try writeAtomically(Data(chart.render().utf8), to: output.file("curvature.svg"))
    }
}
