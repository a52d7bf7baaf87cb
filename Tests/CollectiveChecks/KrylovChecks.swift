import CScaLAPACK
import Cluster
import Curvature
import Datasets
import DistributedLinearAlgebra
import Krylov
import Networks
import Objectives

/// The matrix-free estimators against LAPACK on the exactly assembled matrix (the ground truth),
/// and distributed against single-rank: Lanczos at both ends of H, G and R (with and without
/// thick restarts, single and block), SLQ's per-probe moments, Hutchinson within its standard
/// error over 20 seeds, Hutch++ beating Hutchinson on G.
func registerKrylovChecks(_ suite: inout CheckSuite) throws {
    let world = suite.world
    let alone = try world.split(color: world.rank)
    defer { try? alone.free() }
    let sharded = try clusters(on: world, samples: 31, classes: 4, dimension: 6)
    let whole = try clusters(on: alone, samples: 31, classes: 4, dimension: 6)
    let model = MultilayerPerceptron(widths: [6, 9, 7, 4], activation: .tanh, loss: .crossEntropy)
    let M = model.parameterCount
    let θ = randomParameters(M, seed: 5)
    let distributed = DataParallelObjective(model: model, dataset: sharded, communicator: world)
    let serial = DataParallelObjective(model: model, dataset: whole, communicator: alone)

    // The exact matrices (row-major M × M; symmetric) and their spectra.
    let exact = ExactHessian(network: model)
    let h = exact.dense(θ, batch: whole.samples, part: .hessian)
    let g = exact.dense(θ, batch: whole.samples, part: .gaussNewton)
    let dense: [CurvatureKind: [Double]] = [.hessian: h, .gaussNewton: g, .residual: zip(h, g).map { $0 - $1 }]

    for kind in CurvatureKind.allCases {
        let matrix = dense[kind]!
        let λ = symmetricEigenvalues(matrix, M)
        let norm = λ.map(abs).max()!
        let a = distributed.curvature(kind, at: θ)
        for which in SpectrumEnd.allCases {
            // Full basis (no restart) with single vectors; a small basis with blocks of 3 (restarts).
            // G's smallest eigenvalues are its null space (multiplicity M − rank G) next to
            // eigenvalues ~1e-5‖G‖: that relative gap makes a small restarted basis converge slowly,
            // so there it restarts from a larger one (60 of M = 165 ran out of its 20·M matvecs on
            // 3 ranks on this machine — rounding decides on such a gap; 80 converges on 1–4).
            let small = kind == .gaussNewton && which != .largest ? 80 : 24
            for (blockSize, basis) in [(1, M), (3, small)] {
                let k = 5
                let settings = LanczosSettings(count: k, which: which, tolerance: 1e-11, blockSize: blockSize,
                                               basis: basis, maxMatvecs: 20 * M, seed: 7, checkMultiplicity: true)
                let name = "krylov.top.\(kind.rawValue).\(which.rawValue).b\(blockSize).basis\(basis)"
                var result: Lanczos.Result?
                try suite.check(name + ".eigenvalues=lapack", tolerance: 1e-10) {
                    let r = try Lanczos(settings).run(a)
                    result = r
                    // Relative to ‖A‖: G and R have eigenvalues at zero, where |λ| itself is no scale.
                    let n = λ.count
                    let reference = (which == .smallest ? [] : (0..<k).map { λ[n - 1 - $0] }) + (which == .largest ? [] : Array(λ[0..<k]))
                    let errors = zip(r.eigenvalues, reference).map { abs($0 - $1) / norm }
                    return r.converged.allSatisfy { $0 } ? errors.max()! : .infinity
                }
                try suite.check(name + ".residuals", tolerance: 1e-8) {
                    guard let r = result else { return .infinity }
                    var worst = 0.0
                    for (j, θj) in r.eigenvalues.enumerated() {
                        let v = Array(r.eigenvectors[j * M ..< (j + 1) * M])
                        var residual = 0.0
                        for i in 0..<M {
                            var av = 0.0
                            for c in 0..<M { av += matrix[i * M + c] * v[c] }
                            residual += (av - θj * v[i]) * (av - θj * v[i])
                        }
                        worst = max(worst, residual.squareRoot() / norm)
                    }
                    return worst
                }
            }
        }
        // Distributed = single-rank, eigenvalue for eigenvalue.
        try suite.check("krylov.top.\(kind.rawValue).distributed=serial", tolerance: 1e-10) {
            let settings = LanczosSettings(count: 4, which: .both, tolerance: 1e-11, blockSize: 2, basis: 30, maxMatvecs: 20 * M, seed: 3)
            let p = try Lanczos(settings).run(a), s = try Lanczos(settings).run(serial.curvature(kind, at: θ))
            return zip(p.eigenvalues, s.eigenvalues).map { abs($0 - $1) / norm }.max()!
        }

        // Sharded bases (each rank its rows of every vector) against replicated ones on the same
        // ranks: the same Ritz values, and a basis orthonormal across the ranks' rows.
        try suite.check("krylov.top.\(kind.rawValue).sharded=replicated", tolerance: 1e-12) {
            // G's smallest end is its null space, slow to converge in a small basis (see above).
            var settings = LanczosSettings(count: 4, which: kind == .gaussNewton ? .largest : .both, tolerance: 1e-11, blockSize: 2,
                                           basis: 30, maxMatvecs: 20 * M, seed: 3)
            let sharded = try Lanczos(settings).run(a)
            settings.shardedBasis = false
            let replicated = try Lanczos(settings).run(a)
            guard sharded.converged.allSatisfy({ $0 }), sharded.eigenvectors.count == M * sharded.eigenvalues.count else { return .infinity }
            return zip(sharded.eigenvalues, replicated.eigenvalues).map { abs($0 - $1) / norm }.max()!
        }
        try suite.check("krylov.top.\(kind.rawValue).sharded-basis.orthonormal", tolerance: 1e-13) {
            let settings = LanczosSettings(count: 3, which: .largest, tolerance: 1e-14, blockSize: 3, basis: 24, maxMatvecs: 20 * M, seed: 8)
            var expansions = 0
            guard case .stopped(let state) = try Lanczos(settings).run(a, from: nil, observe: { _ in expansions += 1; return expansions < 6 }) else {
                return .infinity
            }
            let rows = state.rows.count, c = state.basisCount
            guard state.rows.parts == world.size || M < world.size else { return .infinity }
            var gram = [Double](repeating: 0, count: c * c)
            for i in 0..<c { for j in 0..<c { for r in 0..<rows { gram[j * c + i] += state.basis[i * rows + r] * state.basis[j * rows + r] } } }
            if state.rows.parts > 1 { try world.allreduce(&gram, .sum) }
            var worst = 0.0
            for i in 0..<c { for j in 0..<c { worst = max(worst, abs(gram[j * c + i] - (i == j ? 1.0 : 0.0))) } }
            return worst
        }

        // SLQ: per probe, Σ wᵢ θᵢʲ = vᵀ Aʲ v exactly for j ≤ 2m − 1 (m = 3 steps: j ≤ 5).
        try suite.check("krylov.slq.\(kind.rawValue).moments", tolerance: 1e-10) {
            let slq = StochasticLanczosQuadrature(steps: 3, distribution: .gaussian, seed: 12)
            let probes = try slq.quadratures(a, probes: [0, 1, 2, 5])
            var worst = 0.0
            for probe in probes {
                var v = ProbeStream(seed: 12, purpose: .density, distribution: .gaussian).vector(probe.probe, length: M)
                let norm2 = v.reduce(0) { $0 + $1 * $1 }
                v = v.map { $0 / norm2.squareRoot() }
                var power = v   // Aʲ v
                for j in 1...5 {
                    power = multiply(matrix, M, power)
                    let exactMoment = zip(v, power).reduce(0) { $0 + $1.0 * $1.1 }
                    worst = max(worst, abs(probe.moment(j) - exactMoment) / pow(norm, Double(j)))
                }
                worst = max(worst, abs(probe.normSquared - norm2) / norm2)
            }
            return worst
        }
        try suite.check("krylov.slq.\(kind.rawValue).distributed=serial", tolerance: 1e-10) {
            let slq = StochasticLanczosQuadrature(steps: 12, seed: 4)
            let p = try slq.quadratures(a, probes: [3, 9]), s = try slq.quadratures(serial.curvature(kind, at: θ), probes: [3, 9])
            return zip(p, s).map { max(relativeDifference($0.nodes, $1.nodes), relativeDifference($0.weights, $1.weights)) }.max()!
        }
    }

    // Hutchinson: over 20 seeds, every estimate within 4 standard errors of the exact trace
    // (fixed seeds: a deterministic test of a statistical statement), for tr H and tr H².
    let hλ = symmetricEigenvalues(h, M)
    for power in [1, 2] {
        let exactTrace = hλ.reduce(0) { $0 + (power == 1 ? $1 : $1 * $1) }
        try suite.check("krylov.hutchinson.power\(power).within-4-standard-errors", tolerance: 4) {
            var worst = 0.0
            for seed in 0..<20 {
                let settings = TraceSettings(method: .hutchinson, power: power, tolerance: 0, maxMatvecs: 40, blockSize: 8, seed: UInt64(seed))
                let estimate = try TraceEstimator(settings).run(distributed.curvature(.hessian, at: θ))
                worst = max(worst, abs(estimate.estimate - exactTrace) / estimate.standardError!)
            }
            return worst
        }
    }
    // Hutch++ on G (a few large eigenvalues over a bulk, and many zeros): a smaller mean error
    // than Hutchinson at the same number of matvecs, over the same 20 seeds.
    let gTrace = symmetricEigenvalues(g, M).reduce(0, +)
    for budget in [30, 60] {
        try suite.check("krylov.hutch++.beats-hutchinson.G.matvecs\(budget)", tolerance: 0.999) {
            var errors: [TraceMethod: Double] = [:]
            for method in TraceMethod.allCases {
                for seed in 0..<20 {
                    let settings = TraceSettings(method: method, tolerance: 0, maxMatvecs: budget, blockSize: 10, seed: UInt64(seed))
                    let estimate = try TraceEstimator(settings).run(distributed.curvature(.gaussNewton, at: θ))
                    guard estimate.matvecs == budget else { return .infinity }
                    errors[method, default: 0] += abs(estimate.estimate - gTrace) / gTrace / 20
                }
            }
            if world.isRoot { print(String(format: "  mean relative error at %d matvecs: Hutchinson %.3g, Hutch++ %.3g", budget, errors[.hutchinson]!, errors[.hutchPlusPlus]!)) }
            return errors[.hutchPlusPlus]! / errors[.hutchinson]!   // < 1: Hutch++ is better
        }
    }
    try suite.check("krylov.slq-and-hutch++.sharded=replicated", tolerance: 1e-12) {
        let a = distributed.curvature(.gaussNewton, at: θ)
        var slq = StochasticLanczosQuadrature(steps: 12, seed: 4)
        let sharded = try slq.quadratures(a, probes: [3, 9])
        slq.shardedBasis = false
        let replicated = try slq.quadratures(a, probes: [3, 9])
        var settings = TraceSettings(method: .hutchPlusPlus, power: 1, tolerance: 0, maxMatvecs: 24, blockSize: 5, seed: 9)
        let trace = try TraceEstimator(settings).run(a)
        settings.shardedBasis = false
        let traceReplicated = try TraceEstimator(settings).run(a)
        let nodes = zip(sharded, replicated).map { max(relativeDifference($0.nodes, $1.nodes), relativeDifference($0.weights, $1.weights)) }.max()!
        return max(nodes, abs(trace.estimate - traceReplicated.estimate) / abs(traceReplicated.estimate))
    }
    try suite.check("krylov.trace.distributed=serial", tolerance: 1e-10) {
        let settings = TraceSettings(method: .hutchPlusPlus, power: 2, tolerance: 0, maxMatvecs: 24, blockSize: 5, seed: 9)
        let p = try TraceEstimator(settings).run(distributed.curvature(.residual, at: θ))
        let s = try TraceEstimator(settings).run(serial.curvature(.residual, at: θ))
        return abs(p.estimate - s.estimate) / abs(s.estimate)
    }

    // MINRES-QLP on the indefinite, ill-conditioned H: a consistent system b = H x* is solved to
    // its residual, checked with the dense matrix (an independent product); on the singular G with
    // b outside its range it stops at a least-squares solution: G(Gx − b) ≈ 0 relative to Gb, as
    // the matrix measures it (not only as the recurrence claims).
    let xStar = randomParameters(M, seed: 21)
    try suite.check("krylov.minres-qlp.hessian.consistent=dense", tolerance: 1e-8) {
        let b = multiply(dense[.hessian]!, M, xStar)
        let r = try MinimumResidualQLP(tolerance: 1e-12, maxIterations: 20 * M).solve(distributed.curvature(.hessian, at: θ), b)
        let residual = zip(multiply(dense[.hessian]!, M, r.solution), b).map { $0 - $1 }
        return norm2(residual) / norm2(b)
    }
    for tolerance in [1e-6, 1e-10] {
        try suite.check("krylov.minres-qlp.gauss-newton.least-squares\(tolerance)=dense", tolerance: 10 * tolerance) {
            let b = randomParameters(M, seed: 22)
            let gMatrix = dense[.gaussNewton]!
            let r = try MinimumResidualQLP(tolerance: tolerance, maxIterations: 20 * M).solve(distributed.curvature(.gaussNewton, at: θ), b)
            guard r.stop != .iterations else { return .infinity }
            let residual = zip(multiply(gMatrix, M, r.solution), b).map { $0 - $1 }
            // ‖G r‖ / ‖G b‖: the normal equations' relative residual.
            return norm2(multiply(gMatrix, M, residual)) / norm2(multiply(gMatrix, M, b))
        }
    }
    try suite.check("krylov.minres-qlp.distributed=serial", tolerance: 1e-10) {
        let b = randomParameters(M, seed: 23)
        // A dozen iterations: beyond them, rounding in an ill-conditioned Krylov space grows (as for Lanczos).
        let solver = MinimumResidualQLP(tolerance: 1e-14, maxIterations: 12)
        let p = try solver.solve(distributed.curvature(.hessian, at: θ), b), s = try solver.solve(serial.curvature(.hessian, at: θ), b)
        return p.iterations == s.iterations ? norm2(zip(p.solution, s.solution).map { $0 - $1 }) / norm2(s.solution) : .infinity
    }
    // A + σI (an energy's L2 term): the sharded path unwraps the shift and keeps the base's reduce-scatter.
    try suite.check("krylov.top.shifted.sharded=replicated", tolerance: 1e-12) {
        let a = ShiftedOperator(distributed.curvature(.hessian, at: θ), shift: 0.3)
        var settings = LanczosSettings(count: 3, which: .both, tolerance: 1e-11, blockSize: 2, basis: 30, maxMatvecs: 20 * M, seed: 5)
        let sharded = try Lanczos(settings).run(a)
        settings.shardedBasis = false
        let replicated = try Lanczos(settings).run(a)
        let norm = replicated.eigenvalues.map(abs).max()!
        return zip(sharded.eigenvalues, replicated.eigenvalues).map { abs($0 - $1) / norm }.max()!
    }
    try suite.check("krylov.minres-qlp.sharded=replicated", tolerance: 1e-12) {
        let b = randomParameters(M, seed: 23), h = distributed.curvature(.hessian, at: θ)
        var solver = MinimumResidualQLP(tolerance: 1e-14, maxIterations: 12)
        let sharded = try solver.solve(h, b)
        solver.shardedVectors = false
        let replicated = try solver.solve(h, b)
        guard sharded.iterations == replicated.iterations, sharded.solution.count == M else { return .infinity }
        return norm2(zip(sharded.solution, replicated.solution).map { $0 - $1 }) / norm2(replicated.solution)
    }
    try registerMinimumLengthChecks(&suite)
}

/// MINRES-QLP's defining property against a closed form: on a singular symmetric A = Q D Qᵀ (Q a
/// product of Householder reflectors, D with exact zeros), for b inside and outside A's range, the
/// solution is A⁺b = Q D⁺ Qᵀ b — consistent and inconsistent, indefinite, on every grid shape of
/// the world (the block-cyclic operator's allreduce rounds differently on each). Two spectra: six
/// distinct nonzero eigenvalues of multiplicity six (the Krylov space is exhausted after seven
/// steps), and 36 distinct ones (Lanczos loses orthogonality before the null space is reached).
func registerMinimumLengthChecks(_ suite: inout CheckSuite) throws {
    let world = suite.world
    let n = 48, nullity = 12
    let clustered = (0..<(n - nullity)).map { [-3, -1, -0.5, 0.7, 2, 4][$0 % 6] }
    let distinct = (0..<(n - nullity)).map { i -> Double in
        let t = Double(i / 2) / Double((n - nullity) / 2 - 1)     // 0…1, each value twice: ±
        return (i % 2 == 0 ? 1 : -1) * (0.5 + 3.5 * t) * (1 + 0.01 * Double(i))
    }
    for (name, nonzero) in [("clustered", clustered), ("distinct", distinct)] {
        let d = nonzero + [Double](repeating: 0, count: nullity)
        let q = householderProduct(n, reflectors: 3, seed: 31)
        // A = Q D Qᵀ and A⁺ = Q D⁺ Qᵀ, row-major.
        var a = [Double](repeating: 0, count: n * n), pseudoInverse = a
        for i in 0..<n { for j in 0..<n { for k in 0..<n where d[k] != 0 {
            a[i * n + j] += q[i * n + k] * d[k] * q[j * n + k]
            pseudoInverse[i * n + j] += q[i * n + k] / d[k] * q[j * n + k]
        } } }
        let inconsistent = randomParameters(n, seed: 41, scale: 1)
        let consistent = multiply(a, n, randomParameters(n, seed: 42, scale: 1))
        for shape in gridShapes(world.size) {
            for (kind, b) in [("inconsistent", inconsistent), ("consistent", consistent)] {
                try suite.check("krylov.minres-qlp.minimum-length.\(name).\(kind).\(shape.rows)x\(shape.columns)=pinv", tolerance: 1e-10) {
                    let grid = ProcessGrid(communicator: world, rows: shape.rows, columns: shape.columns)
                    defer { grid.release() }
                    var matrix = try BlockCyclicMatrix(grid: grid, rows: n, columns: n, blockSize: 5)
                    matrix.fill { a[$0 * n + $1] }
                    let r = try MinimumResidualQLP(tolerance: 1e-12, maxIterations: 10 * n).solve(matrix, b)
                    let reference = multiply(pseudoInverse, n, b)
                    guard r.stop != .iterations else { return .infinity }
                    return norm2(zip(r.solution, reference).map { $0 - $1 }) / norm2(reference)
                }
            }
        }
    }
}

/// Q = H₁ ⋯ H_r (row-major n × n) for Householder reflectors Hᵢ = I − 2uᵢuᵢᵀ of random unit uᵢ.
func householderProduct(_ n: Int, reflectors: Int, seed: UInt64) -> [Double] {
    var q = (0..<(n * n)).map { $0 % (n + 1) == 0 ? 1.0 : 0 }
    for r in 0..<reflectors {
        var u = randomParameters(n, seed: seed + UInt64(r), scale: 1)
        let length = norm2(u)
        u = u.map { $0 / length }
        // Q ← Q (I − 2uuᵀ): each row qᵢ ← qᵢ − 2 (qᵢ·u) uᵀ.
        for i in 0..<n {
            let projection = (0..<n).reduce(0) { $0 + q[i * n + $1] * u[$1] }
            for j in 0..<n { q[i * n + j] -= 2 * projection * u[j] }
        }
    }
    return q
}

func norm2(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

/// y = A x for row-major A (n × n).
func multiply(_ a: [Double], _ n: Int, _ x: [Double]) -> [Double] {
    (0..<n).map { i in (0..<n).reduce(0) { $0 + a[i * n + $1] * x[$1] } }
}

/// LAPACK's eigenvalues of a symmetric row-major matrix, ascending (the reference).
func symmetricEigenvalues(_ a: [Double], _ n: Int) -> [Double] {
    var copy = a
    var w = [Double](repeating: 0, count: n)
    let info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "U")), Int32(n), &copy, Int32(n), &w)
    precondition(info == 0, "dsyev failed: \(info)")
    return w
}

#if canImport(Glibc)
import Glibc
#endif
