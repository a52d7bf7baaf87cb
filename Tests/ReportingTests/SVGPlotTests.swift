@testable import Reporting
import Testing

/// The plots' axes: ticks stay few and finite whatever the range — including a range at the
/// values' rounding, which once looped appending ticks until memory ran out (a fitted index–energy
/// curve that was constant up to rounding: every certified saddle of one run had the same index).
@Suite struct SVGPlotTests {
    @Test func ticksAreFewAndCoverTheRange() {
        for (low, high) in [(0.0, 1.0), (-3.5, 12.25), (0.4411, 0.4441), (1e-9, 3e-9), (7.8125e-3, 7.8125e-3 + 1e-17), (1e300, 1.0000001e300)] {
            let ticks = SVGPlot.ticks(low, high)
            #expect(!ticks.isEmpty && ticks.count <= 12, "[\(low), \(high)]: \(ticks.count) ticks")
            #expect(ticks.allSatisfy { $0.isFinite })
        }
    }

    @Test func aSeriesConstantUpToRoundingRenders() {
        var plot = SVGPlot(title: "t", xLabel: "x", yLabel: "y")
        let y = 4.0 / 512
        var points: [(Double, Double)] = []
        for i in 0...100 {
            let wobble = Double(i % 3) * 1e-16
            points.append((0.44 + 1e-4 * Double(i), y * (1 + wobble)))
        }
        plot.series = [.init(name: "flat", points: points)]
        let svg = plot.render()
        #expect(svg.hasPrefix("<svg") || svg.contains("<svg"))
        #expect(svg.count < 200_000)
    }

    /// The symmetric-log axis maps 0 to 0, is odd and invertible, and its ticks are few, sorted
    /// and include 0; its histogram counts every value once.
    @Test func symmetricLogAxisRoundTripsAndBins() {
        var plot = SVGPlot(title: "t", xLabel: "x", yLabel: "y")
        plot.symmetricLogX = 1e-3
        #expect(plot.axisX(0) == 0)
        for x in [1e-6, 1e-3, 0.5, 7.0, 1e4] {
            #expect(plot.axisX(-x) == -plot.axisX(x))
            #expect(abs(plot.dataX(plot.axisX(x)) - x) <= 1e-12 * x)
        }
        let ticks = plot.symmetricLogTicks(plot.axisX(-2), plot.axisX(30), scale: 1e-3)
        #expect(ticks.contains(0) && ticks == ticks.sorted() && ticks.count <= 12)
        let values = [-2.0, -1e-5, 0, 0, 3e-6, 1e-4, 0.2, 30]
        let histogram = SVGPlot.histogram(values, title: "h", xLabel: "λ", symmetricLog: 1e-3)
        #expect(histogram.bars!.counts.reduce(0, +) == values.count)
        #expect(histogram.render().contains("<rect"))
    }

    /// Panels stack complete plots in one well-formed document, one title each.
    @Test func panelsStackPlots() {
        let a = SVGPlot.histogram([1, 2, 3], title: "first", xLabel: "λ"), b = SVGPlot.histogram([-1, 0, 5e3], title: "second", xLabel: "λ", symmetricLog: 1)
        let svg = SVGPanels([a, b]).render()
        #expect(svg.components(separatedBy: "<?xml").count == 2)
        #expect(svg.contains("first") && svg.contains("second"))
        #expect(svg.contains("height=\"\(Int(a.height + b.height))\""))
    }
}
