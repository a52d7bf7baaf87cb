import Foundation

/// A filled contour plot of a function sampled on a rectangular grid (the loss on a plane):
/// every cell coloured by its value, iso-lines by marching squares, named points marked.
/// Values span orders of magnitude near minima, so colours and levels follow log₁₀(value) when
/// every value is positive and they span more than a factor 10 (`logScale`), linear otherwise.
public struct ContourPlot {
    public var title: String
    public var subtitle = ""
    public var xLabel: String, yLabel: String
    /// Grid coordinates, ascending.
    public var xs: [Double], ys: [Double]
    /// values[j · xs.count + i] is the value at (xs[i], ys[j]); NaN cells are left white.
    public var values: [Double]
    public var points: [(x: Double, y: Double, label: String)] = []
    public var levels = 14
    public var width = 640.0, height = 560.0

    public init(title: String, xLabel: String, yLabel: String, xs: [Double], ys: [Double], values: [Double]) {
        precondition(values.count == xs.count * ys.count)
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xs = xs
        self.ys = ys
        self.values = values
    }

    var logScale: Bool {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else { return false }
        return low > 0 && high > 10 * low
    }

    /// Viridis at nine stops, interpolated linearly (perceptually ordered, readable in grey).
    static let stops: [(Double, Double, Double)] = [
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
        (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)]
    static func color(_ t: Double) -> String {
        let u = min(max(t, 0), 1) * Double(stops.count - 1)
        let k = min(Int(u), stops.count - 2), w = u - Double(k)
        let (a, b) = (stops[k], stops[k + 1])
        return String(format: "#%02x%02x%02x", Int(a.0 + w * (b.0 - a.0)), Int(a.1 + w * (b.1 - a.1)), Int(a.2 + w * (b.2 - a.2)))
    }

    public func render() -> String {
        let nx = xs.count, ny = ys.count
        let log = logScale
        let scaled = values.map { $0.isFinite ? (log ? log10($0) : $0) : .nan }
        let finite = scaled.filter(\.isFinite)
        let low = finite.min() ?? 0, high = max(finite.max() ?? 1, (finite.min() ?? 0) + 1e-300)
        let margin = (left: 70.0, right: 96.0, top: 60.0, bottom: 56.0)
        let plotWidth = width - margin.left - margin.right, plotHeight = height - margin.top - margin.bottom
        let (x0, x1) = (xs.first ?? 0, max(xs.last ?? 1, (xs.first ?? 0) + 1e-12))
        let (y0, y1) = (ys.first ?? 0, max(ys.last ?? 1, (ys.first ?? 0) + 1e-12))
        func px(_ x: Double) -> Double { margin.left + (x - x0) / (x1 - x0) * plotWidth }
        func py(_ y: Double) -> Double { margin.top + (1 - (y - y0) / (y1 - y0)) * plotHeight }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = SVGPlot.header(width: width, height: height, title: title, subtitle: subtitle)
        // Cells: each grid value fills the rectangle halfway to its neighbours.
        func edges(_ v: [Double]) -> [Double] {
            guard v.count > 1 else { return [v[0] - 0.5, v[0] + 0.5] }
            var result = [v[0]]
            for i in 1..<v.count { result.append((v[i - 1] + v[i]) / 2) }
            result.append(v[v.count - 1])
            return result
        }
        let ex = edges(xs), ey = edges(ys)
        for j in 0..<ny {
            for i in 0..<nx {
                let v = scaled[j * nx + i]
                guard v.isFinite else { continue }
                let left = px(ex[i]), right = px(ex[i + 1]), top = py(ey[j + 1]), bottom = py(ey[j])
                s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(right - left + 0.6))\" height=\"\(f(bottom - top + 0.6))\" fill=\"\(Self.color((v - low) / (high - low)))\"/>"
            }
            s += "\n"
        }
        // Iso-lines: marching squares on each cell of four grid values, segments joined by the SVG renderer.
        if nx >= 2, ny >= 2 {
            for k in 1...levels {
                let level = low + (high - low) * Double(k) / Double(levels + 1)
                var path = ""
                for j in 0..<(ny - 1) {
                    for i in 0..<(nx - 1) {
                        let corners = [(xs[i], ys[j], scaled[j * nx + i]), (xs[i + 1], ys[j], scaled[j * nx + i + 1]),
                                       (xs[i + 1], ys[j + 1], scaled[(j + 1) * nx + i + 1]), (xs[i], ys[j + 1], scaled[(j + 1) * nx + i])]
                        guard corners.allSatisfy({ $0.2.isFinite }) else { continue }
                        // Where the level crosses each of the four edges, in order around the cell.
                        var crossings: [(Double, Double)] = []
                        for e in 0..<4 {
                            let (p, q) = (corners[e], corners[(e + 1) % 4])
                            if (p.2 < level) != (q.2 < level) {
                                let t = (level - p.2) / (q.2 - p.2)
                                crossings.append((p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1)))
                            }
                        }
                        // Two crossings: one segment; four (a saddle cell): pair them around the cell.
                        var c = 0
                        while c + 1 < crossings.count {
                            path += "M\(f(px(crossings[c].0))) \(f(py(crossings[c].1)))L\(f(px(crossings[c + 1].0))) \(f(py(crossings[c + 1].1)))"
                            c += 2
                        }
                    }
                }
                if !path.isEmpty { s += "<path d=\"\(path)\" fill=\"none\" stroke=\"white\" stroke-opacity=\"0.7\" stroke-width=\"0.8\"/>\n" }
            }
        }
        // Frame, ticks, labels.
        s += "<rect x=\"\(f(margin.left))\" y=\"\(f(margin.top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        for t in SVGPlot.ticks(x0, x1) {
            s += "<line x1=\"\(f(px(t)))\" y1=\"\(f(margin.top + plotHeight))\" x2=\"\(f(px(t)))\" y2=\"\(f(margin.top + plotHeight + 5))\" stroke=\"#333\"/>"
            s += "<text x=\"\(f(px(t)))\" y=\"\(f(margin.top + plotHeight + 19))\" text-anchor=\"middle\">\(SVGPlot.label(t))</text>\n"
        }
        for t in SVGPlot.ticks(y0, y1) {
            s += "<line x1=\"\(f(margin.left - 5))\" y1=\"\(f(py(t)))\" x2=\"\(f(margin.left))\" y2=\"\(f(py(t)))\" stroke=\"#333\"/>"
            s += "<text x=\"\(f(margin.left - 8))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(SVGPlot.label(t))</text>\n"
        }
        s += "<text x=\"\(f(margin.left + plotWidth / 2))\" y=\"\(f(height - 14))\" text-anchor=\"middle\">\(SVGPlot.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(18 \(f(margin.top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(SVGPlot.escape(yLabel))</text>\n"
        // Colour bar with the value scale.
        let barX = margin.left + plotWidth + 18
        for k in 0..<64 {
            let t0 = Double(k) / 64
            s += "<rect x=\"\(f(barX))\" y=\"\(f(margin.top + (1 - t0 - 1.0 / 64) * plotHeight))\" width=\"16\" height=\"\(f(plotHeight / 64 + 0.6))\" fill=\"\(Self.color(t0 + 0.5 / 64))\"/>"
        }
        s += "\n"
        for k in 0...4 {
            let t = Double(k) / 4, v = low + t * (high - low)
            s += "<text x=\"\(f(barX + 20))\" y=\"\(f(margin.top + (1 - t) * plotHeight + 4))\" font-size=\"11\">\(SVGPlot.label(log ? pow(10, v) : v))</text>"
        }
        s += "<text x=\"\(f(barX))\" y=\"\(f(margin.top - 8))\" font-size=\"11\">\(log ? "log scale" : "")</text>\n"
        for point in points where point.x >= x0 && point.x <= x1 && point.y >= y0 && point.y <= y1 {
            s += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"4.5\" fill=\"white\" stroke=\"black\" stroke-width=\"1.5\"/>"
            s += "<text x=\"\(f(px(point.x) + 7))\" y=\"\(f(py(point.y) - 7))\" font-weight=\"bold\" fill=\"white\" stroke=\"black\" stroke-width=\"0.4\">\(SVGPlot.escape(point.label))</text>\n"
        }
        return s + "</svg>\n"
    }
}
