@testable import CriticalPoints
import Foundation
import Testing

/// Min-mode following (`MinModeFollowing`) on the surfaces of EigenvectorFollowingTests, with the
/// k lowest eigenvectors handed over as the Ritz vectors Lanczos would give and the Hessian applied
/// as a matrix–vector product: the maximum (index 2) and a saddle of cos x + cos y, and the two
/// tabulated saddles of the Müller–Brown potential; and Steihaug's conjugate gradients on small
/// matrices (the Newton step inside the radius, the boundary along negative curvature).
@Suite struct MinModeFollowingTests {
    typealias Surface = EigenvectorFollowingTests.Surface

    /// The search, the k lowest eigenvectors exact: where it ended, ‖∇‖ at every iterate, and the index there.
    static func follow(_ s: Surface, from start: [Double], index k: Int, radius: Double) throws -> (point: [Double], norms: [Double], index: Int) {
        try EigenvectorFollowingTests.walk(s, from: start, index: k, radius: radius) { g, h, follower, norms in
            let (λ, z) = EigenvectorFollowingTests.eigen(h)
            let step = try MinModeFollowing.step(gradient: g, ritzValues: Array(λ.prefix(k)), ritzVectors: z.prefix(k).flatMap { $0 },
                                                 follower: follower, forcing: min(0.1, norms.last! / norms[0]), maxIterations: 2) { d in
                [h[0] * d[0] + h[1] * d[1], h[1] * d[0] + h[2] * d[1]]
            }
            return (step.up, step.down, step.judged)
        }
    }

    @Test func theMaximumAndASaddleOfTheCosinesAreReached() throws {
        let top = try Self.follow(EigenvectorFollowingTests.cosines, from: [0.6, -0.45], index: 2, radius: 0.3)
        #expect(abs(top.point[0]) <= 1e-12 && abs(top.point[1]) <= 1e-12 && top.index == 2, "\(top.point)")
        let saddle = try Self.follow(EigenvectorFollowingTests.cosines, from: [0.4, 2.5], index: 1, radius: 0.3)
        #expect(abs(saddle.point[0]) <= 1e-12 && abs(saddle.point[1] - Double.pi) <= 1e-12 && saddle.index == 1, "\(saddle.point)")
        // From next to the minimum (H = I, ‖∇‖ ≈ 2e-3) index 1 climbs out along the lowest mode.
        let climb = try Self.follow(EigenvectorFollowingTests.cosines, from: [Double.pi + 1e-3, Double.pi - 2e-3], index: 1, radius: 0.3)
        #expect(climb.index == 1 && climb.norms.last! <= 1e-12, "\(climb.point), ‖∇‖ \(climb.norms.last!)")
        for run in [top, saddle, climb] { #expect(run.norms.count < 60, "\(run.norms.count) iterations") }
    }

    /// The starts of EigenvectorFollowingTests' Müller–Brown test, every one ‖∇V‖ ≥ 10 from a
    /// critical point: index-1 min-mode following reaches a tabulated saddle.
    @Test func theMullerBrownSaddlesAreReached() throws {
        let saddles = [[-0.82200, 0.62431], [0.21249, 0.29299]]
        for start in [[-0.70, 0.85], [-0.95, 0.45], [0.35, 0.15], [0.10, 0.40]] {
            let run = try Self.follow(EigenvectorFollowingTests.mullerBrown, from: start, index: 1, radius: 0.05)
            #expect(run.index == 1 && run.norms.last! <= 1e-9, "from \(start): \(run.point), index \(run.index), ‖∇V‖ \(run.norms.last!)")
            let nearest = saddles.map { hypot($0[0] - run.point[0], $0[1] - run.point[1]) }.min()!
            #expect(nearest <= 1e-4, "from \(start): \(run.point) is no tabulated saddle")
        }
    }

    @Test func steihaugTakesTheNewtonStepInsideTheRadiusAndFollowsNegativeCurvatureToIt() throws {
        // B = diag(1, 4, 9): the Newton step −B⁻¹g, in three iterations (three distinct eigenvalues).
        let b = [1.0, 4, 9], g = [1.0, -2, 3]
        let apply = { (d: [Double]) in zip(b, d).map { $0 * $1 } }
        let newton = try MinModeFollowing.steihaug(gradient: g, radius: 10, forcing: 1e-12, maxIterations: 10, apply: apply)
        let exact = zip(g, b).map { -$0 / $1 }
        #expect(zip(newton.step, exact).allSatisfy { abs($0 - $1) <= 1e-12 } && newton.stop == .forcing, "\(newton.step)")
        #expect(abs(newton.model - zip(g, exact).reduce(0) { $0 + 0.5 * $1.0 * $1.1 }) <= 1e-12)
        // A radius inside the Newton step: ‖s‖ = Δ and the model lower than at the Cauchy point.
        let short = try MinModeFollowing.steihaug(gradient: g, radius: 0.3, forcing: 1e-12, maxIterations: 10, apply: apply)
        #expect(abs(MinModeFollowing.norm(short.step) - 0.3) <= 1e-12 && short.stop == .boundary && short.model < 0)
        // Indefinite: the first direction −g has negative curvature, followed to the radius.
        let down = try MinModeFollowing.steihaug(gradient: [1, 0], radius: 0.5, forcing: 1e-12, maxIterations: 10) { [-$0[0], 2 * $0[1]] }
        #expect(down.stop == .negativeCurvature && abs(down.step[0] + 0.5) <= 1e-15 && down.step[1] == 0 && down.model < 0)
    }
}
