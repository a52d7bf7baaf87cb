import Geometry
import Optimization
import Testing

/// The nudged elastic band on closed-form surfaces, where the saddle and the minimum energy path
/// are known: the climbing image lands on the saddle, the converged pivots feel no perpendicular
/// force, the tangent follows Henkelman & Jónsson's cases.
@Suite struct ElasticBandTests {
    /// Müller & Brown's potential (1979): three minima, two saddles, a curved minimum energy path —
    /// the standard test of NEB codes. Returns (V, ∇V).
    static func mullerBrown(_ p: ArraySlice<Double>) -> (Double, [Double]) {
        let a = [-200.0, -100, -170, 15], b1 = [-1.0, -1, -6.5, 0.7], b2 = [0.0, 0, 11, 0.6], c = [-10.0, -10, -6.5, 0.7]
        let x0 = [1.0, 0, -0.5, -1], y0 = [0.0, 0.5, 1.5, 1]
        let (x, y) = (p[p.startIndex], p[p.startIndex + 1])
        var v = 0.0, gx = 0.0, gy = 0.0
        for k in 0..<4 {
            let dx = x - x0[k], dy = y - y0[k]
            let e = a[k] * Foundation.exp(b1[k] * dx * dx + b2[k] * dx * dy + c[k] * dy * dy)
            v += e
            gx += e * (2 * b1[k] * dx + b2[k] * dy)
            gy += e * (b2[k] * dx + 2 * c[k] * dy)
        }
        return (v, [gx, gy])
    }

    /// Runs NEB with FIRE on a closed-form surface; returns the band and its last forces.
    static func relax(_ band: inout ElasticBand, spring: Double, climb: Bool, steps: Int, dt: Double,
                      surface: (ArraySlice<Double>) -> (Double, [Double])) -> ElasticBand.Forces {
        let rule = FIRE()
        var velocity = rule.initialAuxiliary(count: band.interiorCount * band.dimension)
        var forces: ElasticBand.Forces!
        for _ in 0..<steps {
            let values = (0..<band.count).map { surface(band.pivot($0)) }
            let gradients = (1..<(band.count - 1)).flatMap { values[$0].1 }
            forces = band.forces(energies: values.map(\.0), gradients: gradients, spring: spring, climb: climb)
            if forces.largestResidual < 1e-9 { break }
            var interior = Array(band.interior)
            rule.apply(to: &interior, auxiliary: &velocity, direction: forces.force.map { -$0 }, learningRate: dt)
            band.setInterior(interior)
        }
        return forces
    }

    @Test func theClimbingImageFindsTheSaddleOfMullerBrown() {
        // Minima A ≈ (−0.558, 1.442) and B ≈ (−0.050, 0.467); the saddle between them ≈ (−0.822, 0.624), V ≈ −40.66.
        var band = ElasticBand(from: [-0.558224, 1.441726], to: [-0.050011, 0.466694], interior: 9)
        let forces = Self.relax(&band, spring: 50, climb: true, steps: 20000, dt: 0.002, surface: Self.mullerBrown)
        let top = forces.climbing!
        let saddle = band.pivot(top)
        #expect(forces.largestResidual < 1e-6)
        #expect(abs(saddle[saddle.startIndex] - (-0.822)) < 2e-3)
        #expect(abs(saddle[saddle.startIndex + 1] - 0.624) < 2e-3)
        #expect(abs(Self.mullerBrown(saddle).0 - (-40.665)) < 1e-2)
        // At the saddle the gradient itself vanishes.
        let g = Self.mullerBrown(saddle).1
        #expect((g[0] * g[0] + g[1] * g[1]).squareRoot() < 1e-6)
    }
}

import Foundation
