import CScaLAPACK
import Cluster
import CriticalJobs
import Jobs
import PathJobs
import Configuration
import Datasets
import Foundation
import Geometry
import Networks
import NPY
import Workflows

/// The job layer over a model that is not an MLP (`AffineRegression`, θ = (b, W)): train, spectrum
/// by operator columns, top, interpolate, critical and path run on it through the same jobs the CLI
/// runs, and every number is checked against the closed forms of a linear least-squares problem —
/// computed here from the whole data, independently of the model's own code:
///   L(θ) = (1/(2Nk)) Σᵢ ‖W xᵢ + b − yᵢ‖²,  H = G = C ⊗ I_k with C = (1/(Nk)) Σᵢ x̃ᵢx̃ᵢᵀ, x̃ = (1, x), R = 0,
///   the minimiser from the normal equations, GD iterates θ ← θ − η∇L, and (convexity) no barrier
///   on the straight segment between two points.
func registerSeamChecks(_ suite: inout CheckSuite) throws {
    guard suite.selects(family: "seam.") else { return }
    let world = suite.world
    let (n, d, k) = (23, 4, 2)
    let configuration = try RunConfiguration(toml: """
        seed = 5
        [data]
        kind = "random"
        samples = \(n)
        dimension = \(d)
        classes = \(k)
        [model]
        loss = "mse"
        init = "glorot-normal"
        [train]
        algorithm = "gd"
        learning-rate = 0.3
        steps = 25
        record-every = 5
        [hessian]
        block = 3
        assembly = "operator-columns"
        [top]
        k = 3
        """, source: "the seam checks")
    let model = AffineRegression(inputDimension: d, outputDimension: k, loss: .meanSquaredError)
    let m = model.parameterCount

    // The whole data on every rank, for the closed forms.
    let alone = try world.split(color: world.rank)
    defer { try? alone.free() }
    let whole = try configuration.data.load(seed: configuration.seed, on: alone).samples
    let problem = LeastSquares(x: whole.inputs, y: whole.targets, n: n, d: d, k: k)

    // One scratch directory for all jobs, the same path on every rank (rank 0's pid).
    var pid = [Int(ProcessInfo.processInfo.processIdentifier)]
    try world.broadcast(&pid)
    let root = RunDirectory(path: NSTemporaryDirectory() + "landscape-seam-\(pid[0])-\(world.size)")
    defer { if world.isRoot { try? FileManager.default.removeItem(atPath: root.path) } }
    if world.isRoot { try FileManager.default.createDirectory(atPath: root.path, withIntermediateDirectories: true) }
    try world.barrier()
    func read(_ directory: RunDirectory, _ file: String) throws -> [Double] { try NPYArray(contentsOf: directory.file(file)).values }
    func json(_ directory: RunDirectory) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.file("summary.json")))) as! [String: Any]
    }

    // train: GD on the model, against the closed-form GD iterates from the same θ₀.
    let θ0 = configuration.model.initialization.parameters(for: model, seed: configuration.seed)
    let trained = root.subdirectory("train")
    // (Outside the check: every other check starts from its result.)
    var train = TrainJob(configuration: configuration, output: trained)
    (train.model, train.quiet, train.announce) = (model, true, false)
    try train.run(on: world)
    try world.barrier()  // rank 0 writes the files; nobody reads before they exist
    try suite.check("seam.train", tolerance: 1e-12) {
        var θ = θ0
        for _ in 0..<25 { θ = zip(θ, problem.gradient(θ)).map { $0 - 0.3 * $1 } }
        return relativeDifference(try read(trained, "params.npy"), θ)
    }
    let θ = try read(trained, "params.npy")

    // spectrum by operator columns: every eigenvalue of C ⊗ I_k, G = H and R = 0.
    try suite.check("seam.spectrum", tolerance: 1e-10) {
        let output = root.subdirectory("spectrum")
        var job = SpectrumJob(configuration: configuration, point: .checkpoint(trained.file("params.npy")), output: output)
        job.model = model
        job.gaussNewtonSplit = true
        job.residualSpectrum = true
        job.quiet = true
        job.announce = false
        try job.run(on: world)
        try world.barrier()  // rank 0 writes the files; nobody reads before they exist
        let expected = problem.hessianEigenvalues
        let h = try read(output, "eigenvalues.npy"), g = try read(output, "ggn_eigenvalues.npy")
        let r = try read(output, "residual_eigenvalues.npy")
        let residual = r.map(abs).max()! / expected.max()!
        return max(relativeDifference(h, expected), relativeDifference(g, expected), residual)
    }

    // top: the three largest, by Lanczos.
    try suite.check("seam.top", tolerance: 1e-8) {
        let output = root.subdirectory("top")
        var job = EstimatorJob(.top, configuration: configuration, point: .checkpoint(trained.file("params.npy")), output: output)
        job.model = model
        job.quiet = true
        try job.run(on: world)
        try world.barrier()  // rank 0 writes the files; nobody reads before they exist
        let top = try read(output, "eigenvalues.npy").sorted(by: >)
        return relativeDifference(top, Array(problem.hessianEigenvalues.sorted(by: >).prefix(3)))
    }

    // interpolate: the loss along a random line through θ is the closed-form quadratic.
    try suite.check("seam.interpolate", tolerance: 1e-12) {
        let output = root.subdirectory("interpolate")
        var job = InterpolateJob(configuration: configuration, shape: .line(from: trained.file("params.npy"), .random), output: output)
        job.settings.range = "-1:1:5"
        job.model = model
        job.quiet = true
        try job.run(on: world)
        try world.barrier()  // rank 0 writes the files; nobody reads before they exist
        let direction = try read(output, "directions.npy")
        let rows = try String(contentsOfFile: output.file("line.csv"), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",") }
        let column = rows[0].firstIndex(of: "loss")!
        var worst = 0.0
        for row in rows.dropFirst() {
            let α = Double(row[0])!, loss = Double(row[column])!
            let expected = problem.loss(zip(θ, direction).map { $0 + α * $1 })
            worst = max(worst, abs(loss - expected) / expected)
        }
        return worst
    }

    // critical: Newton from two starts reaches the least-squares minimum (one distinct minimum).
    try suite.check("seam.critical", tolerance: 1e-10) {
        let output = root.subdirectory("critical")
        var job = CriticalJob(configuration: configuration, output: output)
        job.settings.starts = 2
        job.model = model
        job.quiet = true
        try job.run(on: world)
        try world.barrier()  // rank 0 writes the files; nobody reads before they exist
        let summary = try json(output)
        guard summary["converged"] as? Int == 2, summary["minima"] as? Int == 1, summary["saddles"] as? Int == 0,
              let lowest = summary["lowestMinimumEnergy"] as? Double else { return .infinity }
        let minimum = problem.loss(problem.minimizer)
        return abs(lowest - minimum) / minimum
    }

    // path: L is convex, so neither the straight segment nor the band rises above its higher end.
    try suite.check("seam.path", tolerance: 1e-12) {
        let output = root.subdirectory("path")
        let start = root.file("initialization.npy")
        if world.isRoot { try NPYArray(shape: [m], values: θ0).write(to: start) }
        try world.barrier()
        var job = PathJob(configuration: configuration, endpoints: [trained.file("params.npy"), start], output: output)
        (job.settings.method, job.settings.iterations) = (.neb, 50)
        job.model = model
        job.quiet = true
        try job.run(on: world)
        try world.barrier()  // rank 0 writes the files; nobody reads before they exist
        let summary = try json(output)
        let ends = summary["endpointLosses"] as! [Double]
        let scale = max(ends[0], ends[1])
        let barrier = summary["barrier"] as! Double, straight = summary["straightLineBarrier"] as! Double
        return max(relativeDifference(ends, [problem.loss(θ), problem.loss(θ0)]), max(barrier, straight, 0) / scale)
    }

    // M ≤ top.k: Lanczos asked for the k smallest (critical, path) or largest (interpolate) of a
    // 4-parameter model returns all four, exact — it reached a precondition before.
    try suite.check("seam.small-m", tolerance: 1e-10) {
        var small = configuration
        small.data.dimension = 1
        small.top.count = 5
        let tiny = AffineRegression(inputDimension: 1, outputDimension: k, loss: .meanSquaredError)
        let data = try small.data.load(seed: small.seed, on: alone).samples
        let exact = LeastSquares(x: data.inputs, y: data.targets, n: n, d: 1, k: k)
        let expected = exact.hessianEigenvalues   // the Hessian is constant: every point has these
        let base = root.subdirectory("small")
        var critical = CriticalJob(configuration: small, output: base.subdirectory("critical"))
        (critical.settings.starts, critical.settings.curvature) = (2, .lanczos)
        (critical.model, critical.quiet) = (tiny, true)
        try critical.run(on: world)
        try world.barrier()
        let summary = try json(base.subdirectory("critical"))
        guard summary["converged"] as? Int == 2, summary["minima"] as? Int == 1 else { return .infinity }

        let ends = [base.subdirectory("critical").subdirectory("points").file("0.npy"), root.file("small-start.npy")]
        if world.isRoot {
            try NPYArray(shape: [4], values: small.model.initialization.parameters(for: tiny, seed: 9)).write(to: ends[1])
        }
        try world.barrier()
        var path = PathJob(configuration: small, endpoints: ends, output: base.subdirectory("path"))
        (path.settings.method, path.settings.iterations, path.settings.pivots, path.settings.curvature) = (.neb, 10, 2, .lanczos)
        (path.model, path.quiet) = (tiny, true)
        try path.run(on: world)

        var line = InterpolateJob(configuration: small, shape: .line(from: ends[0], .random), output: base.subdirectory("interpolate"))
        (line.settings.range, line.settings.every, line.settings.curvature) = ("-1:1:3", 1, .lanczos)
        (line.model, line.quiet) = (tiny, true)
        try line.run(on: world)
        try world.barrier()

        func csv(_ directory: RunDirectory) throws -> [[String]] {
            try String(contentsOfFile: directory.file("curvature.csv"), encoding: .utf8).split(separator: "\n")
                .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }
        var worst = 0.0
        let pivots = try csv(base.subdirectory("path")), column = pivots[0].firstIndex(of: "smallest_eigenvalues")!
        for row in pivots.dropFirst() {
            worst = max(worst, relativeDifference(row[column].split(separator: " ").map { Double($0)! }, expected))
        }
        let sites = try csv(base.subdirectory("interpolate"))
        let lambdas = (1...4).map { sites[0].firstIndex(of: "lambda\($0)")! }
        for row in sites.dropFirst() {
            worst = max(worst, relativeDifference(lambdas.map { Double(row[$0])! }, expected.reversed()))
        }
        return pivots.count > 1 && sites.count == 4 ? worst : .infinity
    }
}

/// The closed forms of L(θ) = (1/(2Nk)) Σᵢ ‖W xᵢ + b − yᵢ‖² with θ = (b, W), W row-major k × d.
struct LeastSquares {
    let x: [Double], y: [Double]
    let n: Int, d: Int, k: Int

    /// x̃ᵢ = (1, xᵢ).
    func augmented(_ i: Int) -> [Double] { [1] + x[(i * d)..<((i + 1) * d)] }

    /// The residual W xᵢ + b − yᵢ.
    func residual(_ θ: [Double], _ i: Int) -> [Double] {
        let a = augmented(i)
        return (0..<k).map { c in
            var s = θ[c] * a[0]
            for j in 0..<d { s += θ[k + c * d + j] * a[j + 1] }
            return s - y[i * k + c]
        }
    }

    func loss(_ θ: [Double]) -> Double {
        (0..<n).reduce(0) { $0 + residual(θ, $1).reduce(0) { $0 + $1 * $1 } } / Double(2 * n * k)
    }

    func gradient(_ θ: [Double]) -> [Double] {
        var g = [Double](repeating: 0, count: k * (d + 1))
        for i in 0..<n {
            let r = residual(θ, i), a = augmented(i)
            for c in 0..<k {
                g[c] += r[c]
                for j in 0..<d { g[k + c * d + j] += r[c] * a[j + 1] }
            }
        }
        return g.map { $0 / Double(n * k) }
    }

    /// C = (1/(Nk)) Σ x̃x̃ᵀ, (d + 1) × (d + 1).
    var covariance: [Double] {
        let p = d + 1
        var c = [Double](repeating: 0, count: p * p)
        for i in 0..<n {
            let a = augmented(i)
            for r in 0..<p { for s in 0..<p { c[r * p + s] += a[r] * a[s] / Double(n * k) } }
        }
        return c
    }

    /// eig(C ⊗ I_k), ascending: each eigenvalue of C k times (LAPACK dsyev).
    var hessianEigenvalues: [Double] {
        let p = d + 1
        var a = covariance, w = [Double](repeating: 0, count: p)
        let info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "U")), Int32(p), &a, Int32(p), &w)
        precondition(info == 0, "dsyev failed: \(info)")
        return w.flatMap { Array(repeating: $0, count: k) }.sorted()
    }

    /// The minimiser: for each output c, (Σ x̃x̃ᵀ) w̃_c = Σ x̃ y_c (LAPACK dposv), w̃_c = (b_c, W_c).
    var minimizer: [Double] {
        let p = d + 1
        var a = covariance.map { $0 * Double(n * k) }
        var rhs = [Double](repeating: 0, count: p * k)   // row-major p × k
        for i in 0..<n {
            let t = augmented(i)
            for r in 0..<p { for c in 0..<k { rhs[r * k + c] += t[r] * y[i * k + c] } }
        }
        let info = LAPACKE_dposv(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "U")), Int32(p), Int32(k), &a, Int32(p), &rhs, Int32(k))
        precondition(info == 0, "dposv failed: \(info)")
        var θ = [Double](repeating: 0, count: k * p)
        for c in 0..<k {
            θ[c] = rhs[c]
            for j in 0..<d { θ[k + c * d + j] = rhs[(j + 1) * k + c] }
        }
        return θ
    }
}
