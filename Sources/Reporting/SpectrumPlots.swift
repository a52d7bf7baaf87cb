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
