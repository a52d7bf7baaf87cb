import Jobs
import Foundation
import Reporting

/// The figures of a sweep report, from the finished points' spectra (ascending eigenvalues).
package enum SweepPlots {
    package typealias Spectrum = (label: String, values: [Double], row: SweepReport.Row)

    /// How many of the largest (and most negative) eigenvalues the edge plots show.
    package static let edge = 50

    package static func plots(_ spectra: [Spectrum], caption: String) -> [(String, SVGPlot)] {
        guard !spectra.isEmpty else { return [] }
        var result = [("top-edge.svg", topEdge(spectra)), ("outliers-vs-classes.svg", outliers(spectra)),
                      ("bulk-histograms.svg", bulk(spectra))]
        if let left = leftEdge(spectra) { result.insert(("left-edge-ratios.svg", left), at: 1) }
        if let cost = cost(spectra) { result.append(("cost-vs-M.svg", cost)) }
        for k in result.indices { result[k].1.subtitle = caption }
        return result
    }

    /// Pennington & Bahri's memorisation question: the trained loss against φ = M/(N·k), beside
    /// their ½(1 − φ)² (mse runs with φ < 1 only; nil when no point has both).
    package static func memorization(_ rows: [SweepReport.Row]) -> SVGPlot? {
        let points = rows.compactMap { r -> (phi: Double, loss: Double, law: Double)? in
            guard r.status == "done", let phi = r.phi, phi < 1, let loss = r.loss, let law = r.memorizationEnergy else { return nil }
            return (phi, loss, law)
        }.sorted { $0.phi < $1.phi }
        guard !points.isEmpty else { return nil }
        var plot = SVGPlot(title: "Trained loss against φ = M/(N·k), and ½(1 − φ)²", xLabel: "φ = parameters / (samples × outputs)", yLabel: "loss ε")
        plot.series = [.init(name: "trained loss (a minimum where the spectrum has no negative eigenvalue)", points: points.map { ($0.phi, $0.loss) }, style: .points),
                       .init(name: "½(1 − φ)² (Pennington & Bahri)", points: points.map { ($0.phi, $0.law) })]
        return plot
    }

    /// (a) Sagun et al.'s parameter scaling: the top eigenvalues λ₁ ≥ λ₂ ≥ … against their rank,
    /// one curve per point — with data fixed, the curves should overlay as the width grows.
    package static func topEdge(_ spectra: [Spectrum]) -> SVGPlot {
        var plot = SVGPlot(title: "Top edge: the largest eigenvalues of H", xLabel: "rank i (1 = largest)", yLabel: "eigenvalue λᵢ")
        plot.series = spectra.map { s in
            let top = s.values.reversed().prefix(edge)
            return SVGPlot.Series(name: s.label, points: top.enumerated().map { (Double($0.offset + 1), $0.element) })
        }
        return plot
    }

    /// (b) The left edge as ratios λᵢ / λ_min over the most negative eigenvalues, one curve per
    /// point with λ_min < 0: the shape of the negative edge independent of its scale.
    package static func leftEdge(_ spectra: [Spectrum]) -> SVGPlot? {
        let negative = spectra.filter { ($0.values.first ?? 0) < 0 }
        guard !negative.isEmpty else { return nil }
        var plot = SVGPlot(title: "Left edge as ratios λᵢ / λ_min", xLabel: "index i (1 = most negative)", yLabel: "λᵢ / λ_min")
        plot.series = negative.map { s in
            let minimum = s.values[0]
            let edgeValues = s.values.prefix(edge).prefix { $0 < 0 }
            return SVGPlot.Series(name: s.label, points: edgeValues.enumerated().map { (Double($0.offset + 1), $0.element / minimum) })
        }
        return plot
    }

    /// (c) Outliers against the number of classes k, by each definition, with the line y = k
    /// (Sagun et al.: about k outliers for k well-separated clusters).
    package static func outliers(_ spectra: [Spectrum]) -> SVGPlot {
        var plot = SVGPlot(title: "Outliers of H against the number of classes", xLabel: "classes k", yLabel: "number of outliers")
        func series(_ name: String, _ value: (SweepReport.Row) -> Int?) -> SVGPlot.Series {
            SVGPlot.Series(name: name, points: spectra.compactMap { s in value(s.row).map { (Double(s.row.classes), Double($0)) } }
                .sorted { $0.x < $1.x }, style: .points)
        }
        let ks = Set(spectra.map { Double($0.row.classes) }).sorted()
        plot.series = [SVGPlot.Series(name: "y = k", points: ks.map { ($0, $0) }),
                       series("largest gap", \.outliersGap), series("largest ratio", \.outliersRatio), series("elbow", \.outliersElbow)]
        return plot
    }

    /// (d) Histograms of the bulk (every eigenvalue but the gap-defined outliers at the top) on
    /// common bins, as step curves with a log count axis, one per point.
    package static func bulk(_ spectra: [Spectrum], bins: Int = 60) -> SVGPlot {
        var plot = SVGPlot(title: "The bulk: eigenvalue histograms without the top outliers", xLabel: "eigenvalue λ", yLabel: "count (log scale)")
        plot.logY = true
        let bulks = spectra.map { s in (s.label, Array(s.values.dropLast(s.row.outliersGap ?? 0))) }
        let all = bulks.flatMap(\.1)
        guard let low = all.min(), let high = all.max() else { return plot }
        let width = (high > low ? high - low : 1) / Double(bins)
        plot.series = bulks.map { name, values in
            var counts = [Int](repeating: 0, count: bins)
            for v in values { counts[min(bins - 1, Int((v - low) / width))] += 1 }
            var points: [(x: Double, y: Double)] = []
            for (b, c) in counts.enumerated() where c > 0 {
                points.append((low + Double(b) * width, Double(c)))
                points.append((low + Double(b + 1) * width, Double(c)))
            }
            return SVGPlot.Series(name: name, points: points)
        }
        return plot
    }

    /// (e) Cost against M on log–log axes with the fitted exponents: assembly ∝ N·M² (so ≈ 2 at
    /// fixed N) and the eigensolve ∝ M³ once M is large enough for the cubic term to dominate.
    package static func cost(_ spectra: [Spectrum]) -> SVGPlot? {
        func points(_ value: (SweepReport.Row) -> Double?) -> [(x: Double, y: Double)] {
            spectra.compactMap { s in
                guard let m = s.row.parameters, let t = value(s.row), t > 0 else { return nil }
                return (log10(Double(m)), log10(t))
            }.sorted { $0.x < $1.x }
        }
        let assembly = points(\.assemblySeconds), eigensolve = points(\.eigensolveSeconds)
        guard Set(assembly.map(\.x)).count >= 2 else { return nil }
        func exponent(_ p: [(x: Double, y: Double)]) -> String {
            guard let slope = leastSquaresSlope(p) else { return "" }
            return String(format: " (slope %.2f)", slope)
        }
        var plot = SVGPlot(title: "Cost against the number of parameters M", xLabel: "log₁₀ M", yLabel: "log₁₀ seconds")
        plot.series = [SVGPlot.Series(name: "assembly" + exponent(assembly), points: assembly, style: .points),
                       SVGPlot.Series(name: "eigensolve" + exponent(eigensolve), points: eigensolve, style: .points)]
        return plot
    }

    package static func leastSquaresSlope(_ p: [(x: Double, y: Double)]) -> Double? {
        guard p.count >= 2 else { return nil }
        let n = Double(p.count)
        let mx = p.reduce(0) { $0 + $1.x } / n, my = p.reduce(0) { $0 + $1.y } / n
        let sxx = p.reduce(0) { $0 + ($1.x - mx) * ($1.x - mx) }
        guard sxx > 0 else { return nil }
        return p.reduce(0) { $0 + ($1.x - mx) * ($1.y - my) } / sxx
    }
}
