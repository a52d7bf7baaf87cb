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
}
