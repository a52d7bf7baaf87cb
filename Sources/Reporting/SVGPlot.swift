import Foundation

/// Minimal, dependency-free SVG charts for run reports: line/point series on linear axes and
/// histograms with a logarithmic count axis. The output is plain SVG 1.1 (opens in browsers and
/// rsvg-convert); text is escaped; axes get "nice" ticks (1, 2, 5 × 10ᵏ).
public struct SVGPlot {
    public enum Style { case line, points }
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var style: Style
        public init(name: String, points: [(x: Double, y: Double)], style: Style = .line) {
            self.name = name
            self.points = points
            self.style = style
        }
    }

    public var title: String
    /// A second, smaller title line (model, data, sizes), so long captions are not clipped.
    public var subtitle = ""
    public var xLabel: String
    public var yLabel: String
    public var series: [Series] = []
    /// A log axis (histogram counts, densities, residuals): y values must be > 0 to be drawn.
    public var logY = false
    /// Vertical lines at these x values with a label at the top (the end points of a segment).
    public var markers: [(x: Double, label: String)] = []
    /// A symmetric-log x axis, sign(x)·log₁₀(1 + |x|/c) with this linear scale c: the bulk near 0
    /// and outliers orders of magnitude away show together (eigenvalue histograms).
    public var symmetricLogX: Double? = nil
    /// Short red ticks along the foot of the plot at these x values (outlier eigenvalues).
    public var rug: [Double] = []
    public var width = 720.0, height = 440.0

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    public static let legendLimit = 12
    let margin = (left: 78.0, right: 24.0, top: 60.0, bottom: 58.0)

    /// A histogram of `values` in `bins` equal bins, drawn as bars with a log₁₀ count axis. With
    /// `symmetricLog` the bins are equal on the symmetric-log axis of that linear scale; `range`
    /// fixes the axis (panels that share one).
    public static func histogram(_ values: [Double], bins: Int = 60, title: String, xLabel: String,
                                 symmetricLog: Double? = nil, range: ClosedRange<Double>? = nil) -> SVGPlot {
        var plot = SVGPlot(title: title, xLabel: xLabel, yLabel: "count (log scale)")
        plot.logY = true
        plot.symmetricLogX = symmetricLog
        let u = values.map(plot.axisX)
        guard let low = range.map({ plot.axisX($0.lowerBound) }) ?? u.min(),
              let high = range.map({ plot.axisX($0.upperBound) }) ?? u.max() else { return plot }
        let span = high > low ? high - low : 1
        var counts = [Int](repeating: 0, count: bins)
        for v in u { counts[max(0, min(bins - 1, Int((v - low) / span * Double(bins))))] += 1 }
        var points: [(x: Double, y: Double)] = []
        for (b, c) in counts.enumerated() where c > 0 {
            let left = low + span * Double(b) / Double(bins), right = low + span * Double(b + 1) / Double(bins)
            points.append((plot.dataX(left), Double(c)))
            points.append((plot.dataX(right), Double(c)))
        }
        plot.series = [Series(name: "eigenvalues", points: points, style: .line)]
        plot.bars = (low, span / Double(bins), counts)
        return plot
    }
    /// Bars in axis coordinates (after the symmetric-log map, if any).
    var bars: (low: Double, width: Double, counts: [Int])? = nil

    /// Data x → axis coordinate: the identity, or the symmetric log of scale c.
    func axisX(_ x: Double) -> Double {
        guard let c = symmetricLogX else { return x }
        return (x < 0 ? -1 : 1) * log10(1 + abs(x) / c)
    }
    /// Axis coordinate → data x (the inverse of `axisX`).
    func dataX(_ u: Double) -> Double {
        guard let c = symmetricLogX else { return u }
        return (u < 0 ? -1 : 1) * c * (pow(10, abs(u)) - 1)
    }
    /// Ticks of a symmetric-log axis over axis coordinates [low, high]: 0 and ±10ᵏ at or above
    /// the linear scale, thinned to about eight.
    func symmetricLogTicks(_ low: Double, _ high: Double, scale c: Double) -> [Double] {
        var values: [Double] = [0]
        let first = Int(floor(log10(c))), last = Int(ceil(log10(max(abs(dataX(low)), abs(dataX(high)), c))))
        for k in first...max(first, last) { values += [pow(10, Double(k)), -pow(10, Double(k))] }
        var inside = values.map(axisX).filter { $0 >= low - 1e-12 && $0 <= high + 1e-12 }.sorted()
        let stride = max(1, (inside.count + 7) / 8)
        if stride > 1 {
            // Keep 0 (the bulk's centre) and every stride-th decade on each side of it.
            let zero = inside.firstIndex(of: 0) ?? 0
            inside = inside.enumerated().filter { abs($0.offset - zero) % stride == 0 }.map(\.element)
        }
        return inside
    }

    public func render() -> String {
        let all = series.flatMap { $0.points }.filter { !logY || $0.y > 0 }
        let xs = all.map { axisX($0.x) }, ys = all.map { logY ? log10($0.y) : $0.y }
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1)
        var (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        // A log axis starts at 10⁰ for counts, lower for values below 1 (densities, residuals).
        if logY { y0 = min(0, floor(y0)); y1 = max(y1 + 0.15, y0 + 1) }
        // A range at the values' rounding (equal values, or a fitted curve that is constant up to
        // rounding) is no range: widen it to ±5 % of the value (±1 at 0).
        func widen(_ a: inout Double, _ b: inout Double) {
            guard b - a <= 1e-9 * max(abs(a), abs(b)) else { return }
            let half = max(abs(a), abs(b)) > 0 ? 0.05 * max(abs(a), abs(b)) : 1
            (a, b) = (a - half, b + half)
        }
        widen(&x0, &x1)
        widen(&y0, &y1)
        let pad = 0.04 * (y1 - y0)
        if !logY { y0 -= pad; y1 += pad }
        let plotWidth = width - margin.left - margin.right, plotHeight = height - margin.top - margin.bottom
        // px takes an axis coordinate (axisX of a data x); the bars are stored in them already.
        func px(_ x: Double) -> Double { margin.left + (x - x0) / (x1 - x0) * plotWidth }
        func py(_ y: Double) -> Double { margin.top + (1 - (y - y0) / (y1 - y0)) * plotHeight }
        var s = Self.header(width: width, height: height, title: title, subtitle: subtitle)
        // Axes and ticks.
        s += "<rect x=\"\(f(margin.left))\" y=\"\(f(margin.top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        let xTicks = symmetricLogX.map { symmetricLogTicks(x0, x1, scale: $0) } ?? Self.ticks(x0, x1)
        for t in xTicks {
            s += "<line x1=\"\(f(px(t)))\" y1=\"\(f(margin.top + plotHeight))\" x2=\"\(f(px(t)))\" y2=\"\(f(margin.top + plotHeight + 5))\" stroke=\"#333\"/>"
            s += "<text x=\"\(f(px(t)))\" y=\"\(f(margin.top + plotHeight + 19))\" text-anchor=\"middle\">\(Self.label(symmetricLogX == nil ? t : dataX(t)))</text>\n"
        }
        let yTicks = logY ? Array(stride(from: y0, through: floor(y1), by: max(1, ((y1 - y0) / 8).rounded(.up)))) : Self.ticks(y0, y1)
        for t in yTicks {
            s += "<line x1=\"\(f(margin.left - 5))\" y1=\"\(f(py(t)))\" x2=\"\(f(margin.left))\" y2=\"\(f(py(t)))\" stroke=\"#333\"/>"
            s += "<line x1=\"\(f(margin.left))\" y1=\"\(f(py(t)))\" x2=\"\(f(margin.left + plotWidth))\" y2=\"\(f(py(t)))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(f(margin.left - 8))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(logY ? Self.label(pow(10, t)) : Self.label(t))</text>\n"
        }
        s += "<text x=\"\(f(margin.left + plotWidth / 2))\" y=\"\(f(height - 14))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        s += "<text transform=\"translate(18 \(f(margin.top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for marker in markers where axisX(marker.x) >= x0 && axisX(marker.x) <= x1 {
            let x = px(axisX(marker.x))
            s += "<line x1=\"\(f(x))\" y1=\"\(f(margin.top))\" x2=\"\(f(x))\" y2=\"\(f(margin.top + plotHeight))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>"
            // At the foot of the line: the legend sits at the top right.
            s += "<text x=\"\(f(x + 4))\" y=\"\(f(margin.top + plotHeight - 6))\" fill=\"#555\">\(Self.escape(marker.label))</text>\n"
        }
        for x in rug.map(axisX) where x >= x0 && x <= x1 {
            s += "<line x1=\"\(f(px(x)))\" y1=\"\(f(margin.top + plotHeight - 12))\" x2=\"\(f(px(x)))\" y2=\"\(f(margin.top + plotHeight))\" stroke=\"#d62728\" stroke-width=\"1.5\"/>"
        }
        if !rug.isEmpty { s += "\n" }
        // Data.
        if let bars {
            for (b, c) in bars.counts.enumerated() where c > 0 {
                let left = px(bars.low + Double(b) * bars.width), right = px(bars.low + Double(b + 1) * bars.width)
                let top = py(log10(Double(c)))
                let bottom = py(0)
                s += "<rect x=\"\(f(left))\" y=\"\(f(min(top, bottom - 1)))\" width=\"\(f(max(right - left - 0.5, 0.5)))\" height=\"\(f(max(bottom - top, 1)))\" fill=\"\(Self.colors[0])\"/>\n"
            }
        } else {
            for (k, one) in series.enumerated() {
                let color = Self.colors[k % Self.colors.count]
                let points = one.points.filter { !logY || $0.y > 0 }.map { (px(axisX($0.x)), py(logY ? log10($0.y) : $0.y)) }
                switch one.style {
                case .line:
                    let path = points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
                    s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\" points=\"\(path)\"/>\n"
                case .points:
                    for (x, y) in points { s += "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"2.2\" fill=\"\(color)\"/>" }
                    s += "\n"
                }
            }
            if series.count > 1 {
                // A legend taller than the plot would hide the data: the first entries, then a count.
                let shown = series.count > Self.legendLimit ? Self.legendLimit - 1 : series.count
                if shown < series.count {
                    let y = margin.top + 16 + 18 * Double(shown), x = margin.left + plotWidth - 185
                    s += "<text x=\"\(f(x + 28))\" y=\"\(f(y))\">… and \(series.count - shown) more</text>\n"
                }
                for (k, one) in series.prefix(shown).enumerated() {
                    let y = margin.top + 16 + 18 * Double(k), x = margin.left + plotWidth - 185
                    s += "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 22))\" y2=\"\(f(y - 4))\" stroke=\"\(Self.colors[k % Self.colors.count])\" stroke-width=\"2\"/>"
                    s += "<text x=\"\(f(x + 28))\" y=\"\(f(y))\">\(Self.escape(one.name))</text>\n"
                }
            }
        }
        return s + "</svg>\n"
    }

    /// The document's opening: size, white background, title and subtitle.
    static func header(width: Double, height: Double, title: String, subtitle: String) -> String {
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="13">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>
        <text x="\(f(width / 2))" y="41" text-anchor="middle" font-size="12" fill="#555">\(escape(subtitle))</text>

        """
    }

    /// About six ticks at 1, 2 or 5 × 10ᵏ spacing covering [low, high].
    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        let raw = (high - low) / 6
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = ceil(low / step) * step
        // A range far below the values' own precision cannot be ticked (t + step == t): one tick.
        guard step > 0, step.isFinite, first + step > first else { return [low] }
        // Tick i is first + i·step (not a running sum, which rounding can stall), at most a dozen.
        var result: [Double] = []
        for i in 0..<12 {
            let t = first + Double(i) * step
            guard t <= high + step * 1e-9 else { break }
            result.append(abs(t) < step * 1e-9 ? 0 : t)
        }
        return result.isEmpty ? [low] : result
    }

    public static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e5 || a < 1e-3 { return String(format: "%.0e", v) }
        if a == a.rounded() { return String(format: "%.0f", v) }
        return String(format: "%g", (v * 1e4).rounded() / 1e4)
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

/// Several plots stacked in one SVG document, one panel each (one spectrum per panel, as Sagun et
/// al. draw the points of a run, instead of curves of different scales on one axis).
public struct SVGPanels {
    public var panels: [SVGPlot]
    public init(_ panels: [SVGPlot]) { self.panels = panels }

    public func render() -> String {
        let width = panels.map(\.width).max() ?? 720
        let height = panels.map(\.height).reduce(0, +)
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))">
        <rect width="100%" height="100%" fill="white"/>

        """
        var y = 0.0
        for panel in panels {
            // Each panel is a complete plot, nested as an <svg> element at its offset.
            let body = panel.render().split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).last.map(String.init) ?? ""
            s += "<g transform=\"translate(0 \(Int(y)))\">\n" + body + "</g>\n"
            y += panel.height
        }
        return s + "</svg>\n"
    }
}
