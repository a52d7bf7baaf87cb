import Cluster
import Datasets
import DistributedLinearAlgebra
import Networks
import Objectives
import SeededRandom

/// Sharded Gaussian clusters on `communicator` (N = 23: no rank count up to 4 divides it).
func clusters(on communicator: Communicator, samples: Int = 23, classes: Int = 3, dimension: Int = 5) throws -> Dataset {
    var spec = DataSpecification()
    spec.kind = .clusters
    spec.samples = samples
    spec.classes = classes
    spec.dimension = dimension
    return try spec.load(seed: 11, on: communicator)
}

/// Away-from-special parameters: seeded normals (biases included), the same on every rank.
func randomParameters(_ count: Int, seed: UInt64, scale: Double = 0.5) -> [Double] {
    var random = SplitMix64(seed: seed)
    return (0..<count).map { _ in scale * random.nextNormal() }
}

/// Every factorisation P = rows × columns.
func gridShapes(_ P: Int) -> [(rows: Int, columns: Int)] {
    (1...P).filter { P % $0 == 0 }.map { ($0, P / $0) }
}

func registerObjectiveChecks(_ suite: inout CheckSuite) throws {
    let world = suite.world
    // Every rank alone: the single-rank reference on the whole data.
    let alone = try world.split(color: world.rank)
    defer { try? alone.free() }
    let sharded = try clusters(on: world), whole = try clusters(on: alone)

    for loss in Loss.allCases {
        let model = MultilayerPerceptron(widths: [5, 6, 4, 3], activation: .tanh, loss: loss)
        let θ = randomParameters(model.parameterCount, seed: 3)
        let distributed = DataParallelObjective(model: model, dataset: sharded, communicator: world)
        let serial = DataParallelObjective(model: model, dataset: whole, communicator: alone)

        try suite.check("objective.gradient.\(loss.rawValue)", tolerance: 1e-12) {
            let a = try distributed.evaluate(θ), b = try serial.evaluate(θ)
            return max(relativeDifference(a.gradient!, b.gradient!), abs(a.loss - b.loss) / abs(b.loss),
                       abs((a.accuracy ?? 0) - (b.accuracy ?? 0)))
        }
        try suite.check("objective.minibatch.\(loss.rawValue)", tolerance: 1e-12) {
            let indices = [0, 5, 6, 11, 17, 22]
            let a = try distributed.minibatch(θ, indices: indices), b = try serial.minibatch(θ, indices: indices)
            return relativeDifference(a.gradient!, b.gradient!)
        }
        for kind in CurvatureKind.allCases {
            try suite.check("operator.\(kind.rawValue).\(loss.rawValue)", tolerance: 1e-12) {
                let B = 3
                let V = randomParameters(model.parameterCount * B, seed: 8, scale: 1)
                let a = try distributed.curvature(kind, at: θ).apply(V, count: B)
                let b = try serial.curvature(kind, at: θ).apply(V, count: B)
                return relativeDifference(a, b)
            }
        }
        // The kept linearisation (the operator's default) against products that redo the forward
        // pass: H, G and R, sharded on this many ranks, to rounding.
        for kind in CurvatureKind.allCases {
            try suite.check("operator.kept-linearization.\(kind.rawValue).\(loss.rawValue)", tolerance: 1e-13) {
                let B = 20   // above the kept tiles' 16-direction block
                let V = randomParameters(model.parameterCount * B, seed: 10, scale: 1)
                let kept = distributed.curvature(kind, at: θ)
                guard kept.linearization != nil else { return .infinity }
                let recomputed = CurvatureOperator(kind: kind, model: model, parameters: θ, shard: sharded.samples,
                                                   globalSampleCount: sharded.globalCount, communicator: world, keepLinearization: false)
                return relativeDifference(try kept.apply(V, count: B), try recomputed.apply(V, count: B))
            }
        }
        // R = H − G, as operators.
        try suite.check("operator.split.\(loss.rawValue)", tolerance: 1e-12) {
            let v = randomParameters(model.parameterCount, seed: 9, scale: 1)
            let h = try distributed.curvature(.hessian, at: θ).apply(v)
            let g = try distributed.curvature(.gaussNewton, at: θ).apply(v)
            let r = try distributed.curvature(.residual, at: θ).apply(v)
            return relativeDifference(zip(g, r).map { $0 + $1 }, h)
        }
    }

    // A block-cyclic matrix as an operator, on every grid shape: W = A V against the dense product.
    let n = 37
    func entry(_ i: Int, _ j: Int) -> Double { 1 / Double(1 + i + j) + (i == j ? Double(i) : 0) }
    for shape in gridShapes(world.size) {
        try suite.check("operator.block-cyclic.\(shape.rows)x\(shape.columns)", tolerance: 1e-13) {
            let grid = ProcessGrid(communicator: world, rows: shape.rows, columns: shape.columns)
            defer { grid.release() }
            var A = try BlockCyclicMatrix(grid: grid, rows: n, columns: n, blockSize: 4)
            A.fill(entry)
            let B = 2
            let V = randomParameters(n * B, seed: 5, scale: 1)
            let W = try A.apply(V, count: B)
            var reference = [Double](repeating: 0, count: n * B)
            for j in 0..<B { for i in 0..<n { for k in 0..<n { reference[j * n + i] += entry(i, k) * V[j * n + k] } } }
            return relativeDifference(W, reference)
        }
    }
}
