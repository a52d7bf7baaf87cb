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
                      surface: (ArraySlice<Double>) -> (Double, [Double])) throws -> ElasticBand.Forces {
        let rule = FIRE()
        var velocity = rule.initialAuxiliary(count: band.interiorCount * band.dimension)
        var forces: ElasticBand.Forces!
        for _ in 0..<steps {
            let values = (0..<band.count).map { surface(band.pivot($0)) }
            let gradients = (1..<(band.count - 1)).flatMap { values[$0].1 }
            forces = try band.forces(energies: values.map(\.0), gradients: gradients, spring: spring, climb: climb)
            if forces.largestResidual < 1e-9 { break }
            var interior = Array(band.interior)
            try rule.apply(to: &interior, auxiliary: &velocity, direction: forces.force.map { -$0 }, learningRate: dt)
            band.setInterior(interior)
        }
        return forces
    }

    @Test func theClimbingImageFindsTheSaddleOfMullerBrown() throws {
        // Minima A ≈ (−0.558, 1.442) and B ≈ (−0.050, 0.467); the saddle between them ≈ (−0.822, 0.624), V ≈ −40.66.
        var band = ElasticBand(from: [-0.558224, 1.441726], to: [-0.050011, 0.466694], interior: 9)
        let forces = try Self.relax(&band, spring: 50, climb: true, steps: 20000, dt: 0.002, surface: Self.mullerBrown)
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

extension ElasticBandTests {
    /// Henkelman & Jónsson's cases on a band in the plane: uphill towards the higher neighbour,
    /// and at an extremum the energy-weighted mix.
    @Test func theImprovedTangentFollowsTheHigherNeighbour() throws {
        let band = ElasticBand(pivots: [0, 0, 1, 0, 1, 1], dimension: 2)   // A = (0,0), p = (1,0), B = (1,1)
        #expect(try band.tangent(at: 1, energies: [0, 1, 2]) == [0, 1])         // rising to B: p → B
        #expect(try band.tangent(at: 1, energies: [2, 1, 0]) == [1, 0])         // rising to A: A → p
        // A maximum at p with B lower than A: τ ∝ ΔE_min·(B − p) + ΔE_max·(p − A) = 2·(0,1) + 3·(1,0).
        let τ = try band.tangent(at: 1, energies: [2, 4, 1])
        #expect(abs(τ[0] - 3 / 13.0.squareRoot()) < 1e-15 && abs(τ[1] - 2 / 13.0.squareRoot()) < 1e-15)
    }

    /// The force: the perpendicular part of −∇L plus the spring along τ; the climbing pivot's parallel part inverted.
    @Test func theForceIsTheNudgedSum() throws {
        // A straight band along x with uneven spacing: A = 0, p = 1, B = 3 (τ = x̂ when E rises).
        let band = ElasticBand(pivots: [0, 0, 1, 0, 3, 0], dimension: 2)
        let f = try band.forces(energies: [0, 1, 2], gradients: [0.5, 2], spring: 3, climb: false)
        // −∇L⊥ = (0, −2); spring 3·(2 − 1)·x̂ = (3, 0).
        #expect(f.force == [3, -2])
        #expect(f.residual == [2])
        let c = try band.forces(energies: [0, 1, 0.5], gradients: [0.5, 2], spring: 3, climb: true)
        #expect(c.climbing == 1)
        // −∇L + 2(∇L·τ)τ with τ = x̂ (both neighbours lie along x̂): (0.5, −2).
        #expect(c.force == [0.5, -2])
        #expect(abs(c.residual[0] - (0.25 + 4).squareRoot()) < 1e-15)
    }

    @Test func aPivotIsInsertedWhereASegmentRisesAboveItsPivots() {
        // Segment 0 rises 0.5 above its higher pivot, segment 1 only 0.01: range 1, threshold 0.1.
        let insertions = ElasticBand.insertions(energies: [0, 1, 0.2], segmentMaxima: [1.5, 1.01], at: [0.3, 0.6], threshold: 0.1, budget: 5)
        #expect(insertions.count == 1 && insertions[0].segment == 0 && insertions[0].t == 0.3)
        #expect(ElasticBand.insertions(energies: [0, 1, 0.2], segmentMaxima: [1.5, 1.5], at: [0.3, 0.6], threshold: 0.1, budget: 1).count == 1)
        let band = ElasticBand(from: [0, 0], to: [3, 0], interior: 2).inserting([(segment: 1, t: 0.5)])
        #expect(band.count == 5)
        #expect(Array(band.pivot(2)) == [1.5, 0])
        #expect(Array(band.pivot(4)) == [3, 0])
    }

    /// Four minima, five computed paths: Kruskal keeps the three lowest that join all, and a pair
    /// whose own path is high is connected lower through the tree.
    @Test func theBarrierTreeIsTheMinimumSpanningTreeOfSaddles() {
        let paths = [BarrierTree.Edge(0, 1, saddle: 1), BarrierTree.Edge(1, 2, saddle: 2), BarrierTree.Edge(0, 2, saddle: 5),
                     BarrierTree.Edge(2, 3, saddle: 3), BarrierTree.Edge(0, 3, saddle: 4)]
        let tree = BarrierTree(nodeCount: 4, paths: paths)
        #expect(tree.edges.map(\.saddle) == [1, 2, 3])
        #expect(tree.saddle(between: 0, and: 2) == 2)   // through 1, below the direct 5
        #expect(tree.saddle(between: 0, and: 3) == 3)
        #expect(tree.saddle(between: 3, and: 1) == 3)
        let order = tree.leafOrder
        #expect(Set(order) == [0, 1, 2, 3] && order.count == 4)
        // Each merge's components are contiguous in the order.
        for m in tree.merges {
            let positions = (m.left + m.right).map { order.firstIndex(of: $0)! }.sorted()
            #expect(positions.last! - positions.first! == positions.count - 1)
        }
    }

    /// FIRE on a quadratic bowl reaches the minimum, and its first step from rest is θ − η²g.
    @Test func fireRelaxesAQuadratic() throws {
        let rule = FIRE()
        var θ = [3.0, -2.0], aux = rule.initialAuxiliary(count: 2)
        let η = 0.1
        try rule.apply(to: &θ, auxiliary: &aux, direction: [2 * 3.0, 10 * -2.0], learningRate: η)
        #expect(abs(θ[0] - (3 - η * η * 6)) < 1e-15 && abs(θ[1] - (-2 + η * η * 20)) < 1e-15)
        for _ in 0..<2000 { try rule.apply(to: &θ, auxiliary: &aux, direction: [2 * θ[0], 10 * θ[1]], learningRate: η) }
        #expect(abs(θ[0]) < 1e-8 && abs(θ[1]) < 1e-8)
    }
}
