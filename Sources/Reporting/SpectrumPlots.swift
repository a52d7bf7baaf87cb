/// The figures of a spectrum run (Sagun et al., Fig. 1–3 style): the ordered spectrum, its left
/// and right edges, the eigenvalue histogram on a log count axis (linear and symmetric-log
/// eigenvalue axes, outliers marked), and the H / G / R split one panel per matrix.
public enum SpectrumPlots {
    static let edge = 100

    /// `outliers`: how many of the largest eigenvalues of H are outliers (the gap count), marked on
    /// the histograms; `bulkTolerance`: τ of the bulk |λ| ≤ τ·max|λ|, the symmetric-log axis's
    /// linear scale and the dashed bulk edges.
    public static func plots(eigenvalues λ: [Double], split: [(String, [Double])], caption: String,
                             outliers: Int = 0, bulkTolerance: Double = 1e-4) -> [(String, SVGPlot)] {
        func ordered(_ values: [Double], _ range: Range<Int>, name: String, style: SVGPlot.Style) -> SVGPlot.Series {
            SVGPlot.Series(name: name, points: range.map { (Double($0 + 1), values[$0]) }, style: style)
        }
        let m = λ.count
        var spectrum = SVGPlot(title: "Hessian spectrum", xLabel: "index i (ascending)", yLabel: "eigenvalue λᵢ")
        spectrum.series = [ordered(λ, 0..<m, name: "H", style: m > 2000 ? .line : .points)]
        var left = SVGPlot(title: "Left edge: the \(min(edge, m)) smallest eigenvalues", xLabel: "index i", yLabel: "eigenvalue λᵢ")
        left.series = [ordered(λ, 0..<min(edge, m), name: "H", style: .points)]
        var right = SVGPlot(title: "Right edge: the \(min(edge, m)) largest eigenvalues", xLabel: "index i", yLabel: "eigenvalue λᵢ")
        right.series = [ordered(λ, max(0, m - edge)..<m, name: "H", style: .points)]
        var linear = SVGPlot.histogram(λ, title: "Eigenvalue histogram", xLabel: "eigenvalue λ")
        mark(&linear, λ, outliers: outliers, bulkTolerance: nil)
        var result: [(String, SVGPlot)] = [
            ("spectrum.svg", spectrum), ("left-edge.svg", left), ("right-edge.svg", right), ("histogram.svg", linear),
            ("histogram-symlog.svg", histogram(λ, title: "Eigenvalue histogram, symmetric-log axis", outliers: outliers, bulkTolerance: bulkTolerance)),
        ]
        for k in result.indices { result[k].1.subtitle = caption }
        return result
    }

    /// H, G and R one panel each, on one symmetric-log axis: R (small, of both signs) is no longer
    /// drawn under H and G's curves, and the panels compare at a glance.
    public static func split(_ spectra: [(String, [Double])], caption: String, bulkTolerance: Double = 1e-4) -> SVGPanels {
        let all = spectra.flatMap(\.1)
        let range = (all.min() ?? 0)...(all.max() ?? 1)
        let scale = all.reduce(0) { max($0, abs($1)) }
        return SVGPanels(spectra.enumerated().map { k, spectrum in
            var plot = SVGPlot.histogram(spectrum.1, title: "Eigenvalue histogram of \(spectrum.0)", xLabel: "eigenvalue λ (symmetric-log axis)",
                                         symmetricLog: linearScale(scale, bulkTolerance), range: range)
            plot.subtitle = k == 0 ? caption : ""
            plot.height = 300
            return plot
        })
    }

    /// One point's histogram on a symmetric-log eigenvalue axis of linear scale τ·max|λ|, with
    /// the bulk's edges ±τ·max|λ| dashed and the outliers as red ticks.
    public static func histogram(_ λ: [Double], title: String, outliers: Int, bulkTolerance: Double) -> SVGPlot {
        let scale = λ.reduce(0) { max($0, abs($1)) }
        var plot = SVGPlot.histogram(λ, title: title, xLabel: "eigenvalue λ (symmetric-log axis)",
                                     symmetricLog: linearScale(scale, bulkTolerance))
        mark(&plot, λ, outliers: outliers, bulkTolerance: bulkTolerance)
        return plot
    }

    static func linearScale(_ scale: Double, _ τ: Double) -> Double { scale > 0 ? τ * scale : 1 }

    /// The outliers (the `outliers` largest eigenvalues) as a rug with a labelled marker at the
    /// smallest of them; with `bulkTolerance`, the bulk's edges.
    static func mark(_ plot: inout SVGPlot, _ λ: [Double], outliers: Int, bulkTolerance: Double?) {
        let top = Array(λ.sorted().suffix(max(0, min(outliers, λ.count))))
        plot.rug = top
        if let first = top.first { plot.markers.append((first, "\(top.count) outlier\(top.count == 1 ? "" : "s") →")) }
        if let τ = bulkTolerance {
            let edge = τ * λ.reduce(0) { max($0, abs($1)) }
            if edge > 0 { plot.markers += [(-edge, ""), (edge, "bulk ±\(SVGPlot.label(τ))·max|λ|")] }
        }
    }
}

extension SpectrumPlots {
    /// A heat map of masses in [0, 1]: one row per vector (`rows` its labels), one column per
    /// parameter block, white (0) to dark blue (1), the value printed in cells wide enough for it.
    public static func massHeatMap(rows: [String], columns: [String], masses: [[Double]], title: String) -> String {
        let cell = (width: max(34.0, min(90.0, 900.0 / Double(max(columns.count, 1)))), height: 16.0)
        let left = 110.0, top = 40.0 + 5.5 * Double(columns.map(\.count).max() ?? 0) * 0.6
        let width = max(left + cell.width * Double(columns.count) + 20, 20 + 6.2 * Double(title.count))
        let height = top + cell.height * Double(rows.count) + 20
        var svg = [String(format: "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"10\">", width, height),
                   "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
                   "<text x=\"8\" y=\"16\" font-size=\"12\">\(SVGPlot.escape(title))</text>"]
        for (c, name) in columns.enumerated() {
            let x = left + (Double(c) + 0.5) * cell.width
            svg.append(String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"start\" transform=\"rotate(-35 %.1f %.1f)\">%@</text>", x, top - 6, x, top - 6, SVGPlot.escape(name)))
        }
        for (r, label) in rows.enumerated() {
            let y = top + Double(r) * cell.height
            svg.append(String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>", left - 4, y + cell.height * 0.72, SVGPlot.escape(label)))
            for (c, mass) in masses[r].enumerated() {
                let v = min(max(mass, 0), 1), shade = Int((1 - v) * 255)
                svg.append(String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"rgb(%d,%d,255)\" stroke=\"#ddd\"/>",
                                  left + Double(c) * cell.width, y, cell.width, cell.height, shade, shade))
                if cell.width >= 34 {
                    svg.append(String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%@\">%.2f</text>", left + (Double(c) + 0.5) * cell.width,
                                      y + cell.height * 0.72, v > 0.5 ? "white" : "black", v))
                }
            }
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }
}
