@testable import CriticalPoints
import Foundation
import Testing

/// P-RFO (`EigenvectorFollowing`) on surfaces whose critical points are known: the shifts against
/// the bordered matrices' eigenvalues in closed form; cos x + cos y (a maximum of index 2 at the
/// origin, index-1 saddles at (0, ±π), (±π, 0)); the Müller–Brown potential (two index-1 saddles,
/// tabulated); quadratic convergence measured; and the certificate and classification on
/// synthetic ends.
@Suite struct EigenvectorFollowingTests {
    /// A 2-D surface: value, gradient, Hessian [h11, h12, h22].
    struct Surface: Sendable {
        /// The value and the scale of its rounding (the sum of its terms' magnitudes).
        let value: @Sendable (Double, Double) -> Double
        let scale: @Sendable (Double, Double) -> Double
        let gradient: @Sendable (Double, Double) -> [Double]
        let hessian: @Sendable (Double, Double) -> [Double]
    }

    static let cosines = Surface(value: { cos($0) + cos($1) }, scale: { abs(cos($0)) + abs(cos($1)) }, gradient: { [-sin($0), -sin($1)] },
                                 hessian: { x, y in [-cos(x), 0, -cos(y)] })

    /// Müller & Brown (1979): V = Σᵢ Aᵢ exp(aᵢ(x − x̄ᵢ)² + bᵢ(x − x̄ᵢ)(y − ȳᵢ) + cᵢ(y − ȳᵢ)²).
    static let mullerBrown: Surface = {
        let A = [-200.0, -100, -170, 15], a = [-1.0, -1, -6.5, 0.7], b = [0.0, 0, 11, 0.6], c = [-10.0, -10, -6.5, 0.7]
        let x0 = [1.0, 0, -0.5, -1], y0 = [0.0, 0.5, 1.5, 1]
        @Sendable func terms(_ x: Double, _ y: Double) -> [(e: Double, dx: Double, dy: Double, i: Int)] {
            (0..<4).map { i in
                let u = x - x0[i], v = y - y0[i]
                let e = A[i] * exp(a[i] * u * u + b[i] * u * v + c[i] * v * v)
                return (e, 2 * a[i] * u + b[i] * v, b[i] * u + 2 * c[i] * v, i)
            }
        }
        return Surface(value: { x, y in terms(x, y).reduce(0) { $0 + $1.e } }, scale: { x, y in terms(x, y).reduce(0) { $0 + abs($1.e) } },
                       gradient: { x, y in terms(x, y).reduce([0, 0]) { [$0[0] + $1.e * $1.dx, $0[1] + $1.e * $1.dy] } },
                       hessian: { x, y in terms(x, y).reduce([0, 0, 0]) { h, t in
                           [h[0] + t.e * (t.dx * t.dx + 2 * a[t.i]), h[1] + t.e * (t.dx * t.dy + b[t.i]), h[2] + t.e * (t.dy * t.dy + 2 * c[t.i])]
                       } })
    }()

    /// The eigenvalues of the 2 × 2 Hessian [h11, h12, h22], ascending, and their unit eigenvectors.
    static func eigen(_ h: [Double]) -> ([Double], [[Double]]) {
        let angle = 0.5 * atan2(2 * h[1], h[0] - h[2])
        let (c, s) = (cos(angle), sin(angle))
        let l1 = c * c * h[0] + 2 * s * c * h[1] + s * s * h[2], l2 = s * s * h[0] - 2 * s * c * h[1] + c * c * h[2]
        return l1 <= l2 ? ([l1, l2], [[c, s], [-s, c]]) : ([l2, l1], [[-s, c], [c, s]])
    }

    /// A step's uphill and downhill parts (parameter space) and the judge's view of them.
    typealias Proposal = (up: [Double], down: [Double], step: EigenvectorFollowing.Step)

    /// The search loop on a surface: `propose` makes a step from ∇, the Hessian [h11, h12, h22], the
    /// radii and ‖∇‖ so far; the parts are judged on the surface's values. Where it ended, ‖∇‖ at
    /// every iterate, and the index there.
    static func walk(_ s: Surface, from start: [Double], index k: Int, radius: Double,
                     propose: (_ g: [Double], _ h: [Double], _ follower: EigenvectorFollowing, _ norms: [Double]) throws -> Proposal)
        rethrows -> (point: [Double], norms: [Double], index: Int) {
        var p = start, norms: [Double] = []
        var follower = EigenvectorFollowing(index: k, radius: radius, maximumRadius: 4 * radius)
        for _ in 0..<300 {
            let g = s.gradient(p[0], p[1])
            norms.append((g[0] * g[0] + g[1] * g[1]).squareRoot())
            if norms.last! <= 1e-13 { break }
            let (up, down, step) = try propose(g, s.hessian(p[0], p[1]), follower, norms)
            let value = s.value(p[0], p[1])
            if follower.judge(step, actualUphill: s.value(p[0] + up[0], p[1] + up[1]) - value,
                              actualDownhill: s.value(p[0] + down[0], p[1] + down[1]) - value, noise: 1e-13 * s.scale(p[0], p[1])) {
                p = [p[0] + up[0] + down[0], p[1] + up[1] + down[1]]
            }
        }
        let λ = Self.eigen(s.hessian(p[0], p[1])).0
        return (p, norms, λ.filter { $0 < 0 }.count)
    }

    /// P-RFO with the surface's exact 2 × 2 eigendecomposition.
    static func follow(_ s: Surface, from start: [Double], index k: Int, radius: Double) -> (point: [Double], norms: [Double], index: Int) {
        walk(s, from: start, index: k, radius: radius) { g, h, follower, _ in
            let (λ, z) = Self.eigen(h)
            let coordinates = z.map { $0[0] * g[0] + $0[1] * g[1] }
            let step = follower.step(eigenvalues: λ, coordinates: coordinates, modes: 2)
            func vector(_ c: [Double]) -> [Double] { [c[0] * z[0][0] + c[1] * z[1][0], c[0] * z[0][1] + c[1] * z[1][1]] }
            return (vector(step.uphill), vector(step.downhill), step)
        }
    }

    @Test func theShiftsAreTheBorderedMatricesExtremeEigenvalues() {
        for (λ, g) in [(0.7, 0.3), (-2.0, 1e-3), (1e-6, 5.0), (3.0, 0.0)] {
            // [[λ, g], [g, 0]] has eigenvalues (λ ± √(λ² + 4g²))/2.
            let root = (λ * λ + 4 * g * g).squareRoot()
            let up = EigenvectorFollowing.secularRoot([λ], [g], above: true)
            let down = EigenvectorFollowing.secularRoot([λ], [g], above: false)
            #expect(abs(up - (g == 0 ? max(λ, 0) : 0.5 * (λ + root))) <= 1e-14 * max(1, abs(λ) + abs(g)), "λ \(λ) g \(g): σ₊ \(up)")
            #expect(abs(down - (g == 0 ? min(λ, 0) : 0.5 * (λ - root))) <= 1e-14 * max(1, abs(λ) + abs(g)), "λ \(λ) g \(g): σ₋ \(down)")
        }
        // Several modes: σ solves σ = Σ gᵢ²/(σ − λᵢ) and lies beyond every λᵢ.
        let λ = [-3.0, -1, 0.5, 2, 7], g = [0.2, -1.1, 0.01, 0.7, 2.5]
        for above in [true, false] {
            let σ = EigenvectorFollowing.secularRoot(λ[...], g[...], above: above)
            let residual = σ - zip(λ, g).reduce(0) { $0 + $1.1 * $1.1 / (σ - $1.0) }
            #expect(abs(residual) <= 1e-12 * 10 && (above ? σ > 7 : σ < -3), "above \(above): σ = \(σ), residual \(residual)")
        }
    }

    @Test func aMaximumAndASaddleOfTheCosinesAreFoundQuadratically() {
        let top = Self.follow(Self.cosines, from: [0.6, -0.45], index: 2, radius: 0.3)
        #expect(abs(top.point[0]) <= 1e-12 && abs(top.point[1]) <= 1e-12 && top.index == 2, "\(top.point)")
        let saddle = Self.follow(Self.cosines, from: [0.4, 2.5], index: 1, radius: 0.3)
        #expect(abs(saddle.point[0]) <= 1e-12 && abs(saddle.point[1] - Double.pi) <= 1e-12 && saddle.index == 1, "\(saddle.point)")
        // From the minimum's basin a search for index 0 stays a minimiser.
        let minimum = Self.follow(Self.cosines, from: [2.8, -3.3], index: 0, radius: 0.3)
        #expect(abs(minimum.point[0] - Double.pi) <= 1e-12 && abs(minimum.point[1] + Double.pi) <= 1e-12 && minimum.index == 0)
        for run in [top, saddle, minimum] {
            let order = try? #require(Certificate.order(run.norms))
            #expect((order ?? 0) >= 1.8, "quadratic convergence: order \(order ?? .nan), norms \(run.norms.suffix(5))")
        }
    }

    /// From points between the Müller–Brown minima (none of them a saddle's neighbour: ‖∇V‖ ≥ 10),
    /// index-1 following reaches a tabulated saddle (−0.822, 0.624) or (0.212, 0.293); index 0 from
    /// near a minimum descends into it. (From the minima themselves the lowest mode can point up the
    /// potential's exponential walls, where no saddle lies.)
    @Test func theMullerBrownSaddlesAreReachedFromTheMinima() {
        let saddles = [[-0.82200, 0.62431], [0.21249, 0.29299]]
        for start in [[-0.70, 0.85], [-0.95, 0.45], [0.35, 0.15], [0.10, 0.40]] {
            let g = Self.mullerBrown.gradient(start[0], start[1])
            #expect(hypot(g[0], g[1]) >= 10, "start \(start) is far from a critical point")
            let run = Self.follow(Self.mullerBrown, from: start, index: 1, radius: 0.05)
            #expect(run.index == 1 && run.norms.last! <= 1e-9, "from \(start): \(run.point), index \(run.index), ‖∇V‖ \(run.norms.last!)")
            let nearest = saddles.map { hypot($0[0] - run.point[0], $0[1] - run.point[1]) }.min()!
            #expect(nearest <= 1e-4, "from \(start): \(run.point) is no tabulated saddle")
            #expect((Certificate.order(run.norms) ?? 0) >= 1.8, "order over \(run.norms.suffix(5))")
        }
        let minimum = Self.follow(Self.mullerBrown, from: [0.5, 0.1], index: 0, radius: 0.05)
        #expect(hypot(minimum.point[0] - 0.62350, minimum.point[1] - 0.02804) <= 1e-4 && minimum.index == 0, "\(minimum.point)")
    }

    /// The order counts only triples whose first step halved ‖∇L‖: a stalled search that ends with
    /// one good step (1e-5 → 0.99e-5 → 1e-12 reads log(1e-7)/log(0.99) ≈ 1600) is not quadratic, and a
    /// linear sequence reads 1 or nothing.
    @Test func theConvergenceOrderIgnoresStalledSteps() {
        #expect(abs(Certificate.order([1e-2, 1e-4, 1e-8, 1e-16])! - 2) <= 1e-9)
        #expect(Certificate.order([1.5e-5, 1e-5, 0.99e-5, 1e-12]) == nil)
        #expect(Certificate.order([1e-3, 1e-5, 0.99e-5, 1e-12])! < 0.01)   // only the stalling triple counts
        #expect(abs(Certificate.order([1, 0.3, 0.09, 0.027, 0.0081])! - 1) <= 1e-9)
        #expect(Certificate.order([1, 0.9, 0.81, 0.729, 0.6561]) == nil)
        // A start near the point: rounding noise after one step is no order, and the bound was met at once.
        let near = [4.7e-7, 2e-12, 8e-17, 9e-17, 6e-17, 7.7e-17]
        #expect(Certificate.order(near) == nil)
        let certified = Certificate(gradientNorms: near, parameterNorm: 3, transverse: [1, 2], coordinates: [7e-17, 0], threshold: 1e-12)
        #expect(certified.certified, "\(certified.failures)")
        let stalled = Certificate(gradientNorms: [1e-3, 1e-5, 0.99e-5, 1e-12], parameterNorm: 3, transverse: [-1, 2], coordinates: [1e-12, 0],
                                  threshold: 1e-12)
        #expect(!stalled.certified && stalled.failures.contains { $0.contains("convergence order") }, "\(stalled.failures)")
    }

    @Test func theCertificateAndTheClassesOfSyntheticEnds() {
        let quadratic = [1e-2, 1e-4, 1e-8, 1e-16]
        let good = Certificate(gradientNorms: quadratic, parameterNorm: 3, transverse: [-1, 2, 3], coordinates: [1e-16, 0, 0], threshold: 1e-12)
        #expect(good.certified, "\(good.failures)")
        #expect(EndClass(certificate: good, reachedTarget: true, reducibility: nil, flatness: 0, parameterNorms: [3, 3]) == .certified)
        // An extra zero eigenvalue: not isolated. An eigenvalue at the threshold: unstable inertia.
        let degenerate = Certificate(gradientNorms: quadratic, parameterNorm: 3, transverse: [-1, 1e-18, 3], coordinates: [0, 0, 0], threshold: 1e-12)
        #expect(!degenerate.certified && degenerate.excessZeros == 1)
        let unstable = Certificate(gradientNorms: quadratic, parameterNorm: 3, transverse: [-1, 5e-12, 3], coordinates: [0, 0, 0], threshold: 1e-12)
        #expect(unstable.failures.contains { $0.hasPrefix("inertia") })
        // Linear convergence and a large Newton step.
        let linear = Certificate(gradientNorms: [1e-2, 5e-3, 2.5e-3, 1.25e-3], parameterNorm: 3, transverse: [1, 2], coordinates: [1e-3, 0], threshold: 1e-12)
        #expect(linear.failures.count == 3, "\(linear.failures)")
        #expect(EndClass(certificate: degenerate, reachedTarget: true, reducibility: nil, flatness: 0.1, parameterNorms: [3, 3]) == .uncertified)
        #expect(EndClass(certificate: linear, reachedTarget: false, reducibility: "layer 1 unit 2 has zero outgoing weights", flatness: 0.9, parameterNorms: [3]) == .reducible)
        #expect(EndClass(certificate: linear, reachedTarget: false, reducibility: nil, flatness: 0.9, parameterNorms: [3]) == .gradientFlat)
        let growing = (0..<30).map { 3 * pow(1.05, Double($0)) }
        #expect(EndClass(certificate: linear, reachedTarget: false, reducibility: nil, flatness: 0.1, parameterNorms: growing) == .asymptotic)
        #expect(EndClass(certificate: linear, reachedTarget: false, reducibility: nil, flatness: 0.1, parameterNorms: growing.reversed()) == .stalled)
    }
}
