import Foundation

/// A disconnectivity graph (Becker & Karplus 1997; the picture Draxler et al. draw of many minima):
/// every minimum a vertical line rising from its loss; two components joined by a horizontal bar
/// at the saddle that first connects them, the joined branch rising on from the bar's middle.
/// Leaves are drawn in the order given, which must keep every component contiguous (the order in
/// which the merges concatenate their components does).
public struct DisconnectivityGraph {
    public struct Merge {
        public var left: [Int]
        public var right: [Int]
        public var saddle: Double
        public init(left: [Int], right: [Int], saddle: Double) { self.left = left; self.right = right; self.saddle = saddle }
    }

    public var title: String
    public var subtitle = ""
    public var labels: [String]
    public var energies: [Double]
    public var merges: [Merge]
    public var order: [Int]
    public var width = 720.0, height = 440.0

    public init(title: String, labels: [String], energies: [Double], merges: [Merge], order: [Int]) {
        precondition(labels.count == energies.count && order.count == energies.count)
        self.title = title
        self.labels = labels
        self.energies = energies
        self.merges = merges
        self.order = order
    }

    public func render() -> String {
        let left = 80.0, right = 30.0, top = 60.0, bottom = 60.0
        let values = energies + merges.map(\.saddle)
        var (y0, y1) = (values.min() ?? 0, values.max() ?? 1)
        if y1 <= y0 { y0 -= 1; y1 += 1 }
        let pad = 0.08 * (y1 - y0)
        y0 -= pad; y1 += pad
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotHeight }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        // Each component: where its branch stands and the energy its line has reached.
        var x = [Double](repeating: 0, count: energies.count), level = energies
        for (slot, leaf) in order.enumerated() { x[leaf] = left + (Double(slot) + 0.5) / Double(order.count) * plotWidth }
        var owner = Array(energies.indices)
        var s = SVGPlot.header(width: width, height: height, title: title, subtitle: subtitle)
        for t in SVGPlot.ticks(y0, y1) {
            s += "<line x1=\"\(f(left - 5))\" y1=\"\(f(py(t)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(py(t)))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(SVGPlot.label(t))</text>\n"
        }
        s += "<text transform=\"translate(18 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">loss</text>\n"
        func line(_ xa: Double, _ ya: Double, _ xb: Double, _ yb: Double) {
            s += "<line x1=\"\(f(xa))\" y1=\"\(f(ya))\" x2=\"\(f(xb))\" y2=\"\(f(yb))\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n"
        }
        for m in merges {
            let (a, b) = (owner[m.left[0]], owner[m.right[0]])
            line(x[a], py(level[a]), x[a], py(m.saddle))
            line(x[b], py(level[b]), x[b], py(m.saddle))
            line(x[a], py(m.saddle), x[b], py(m.saddle))
            x[a] = (x[a] + x[b]) / 2
            level[a] = m.saddle
            for i in owner.indices where owner[i] == b { owner[i] = a }
        }
        // The roots rise a little above their last merge.
        for r in Set(owner) { line(x[r], py(level[r]), x[r], py(level[r]) - 12) }
        for (slot, leaf) in order.enumerated() {
            let cx = left + (Double(slot) + 0.5) / Double(order.count) * plotWidth
            s += "<circle cx=\"\(f(cx))\" cy=\"\(f(py(energies[leaf])))\" r=\"3.5\" fill=\"#d62728\"/>"
            s += "<text x=\"\(f(cx))\" y=\"\(f(top + plotHeight + 22))\" text-anchor=\"middle\">\(SVGPlot.escape(labels[leaf]))</text>\n"
        }
        return s + "</svg>\n"
    }
}
