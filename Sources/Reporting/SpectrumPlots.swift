/// The figures of a spectrum run (Sagun et al., Fig. 1–3 style): the ordered spectrum, its left
/// and right edges, the eigenvalue histogram on a log count axis, and the H / G / R overlay.
public enum SpectrumPlots {
    static let edge = 100

    public static func plots(eigenvalues λ: [Double], split: [(String, [Double])], caption: String) -> [(String, SVGPlot)] {
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
        var result: [(String, SVGPlot)] = [
            ("spectrum.svg", spectrum), ("left-edge.svg", left), ("right-edge.svg", right),
            ("histogram.svg", SVGPlot.histogram(λ, title: "Eigenvalue histogram", xLabel: "eigenvalue λ")),
        ]
        for k in result.indices { result[k].1.subtitle = caption }
        if !split.isEmpty {
            var overlay = SVGPlot(title: "H = G + R", xLabel: "index i (ascending)", yLabel: "eigenvalue")
            overlay.series = split.map { ordered($0.1, 0..<$0.1.count, name: $0.0, style: .line) }
            overlay.subtitle = caption
            result.append(("split.svg", overlay))
        }
        return result
    }
}
