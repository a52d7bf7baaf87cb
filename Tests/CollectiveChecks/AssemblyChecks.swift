import Cluster
import Curvature
import Datasets
import DistributedLinearAlgebra
import Networks
import Objectives

func registerAssemblyChecks(_ suite: inout CheckSuite) throws {
    let world = suite.world
    let alone = try world.split(color: world.rank)
    defer { try? alone.free() }
    let sharded = try clusters(on: world), whole = try clusters(on: alone)
    // The last two without biases (model.bias = false: no bias rows or columns in the row blocks).
    let shapes: [(widths: [Int], biases: Bool)] = [([5, 6, 4, 3], true), ([5, 7, 3], true), ([5, 4, 4, 4, 3], true),
                                                   ([5, 6, 4, 3], false), ([5, 7, 3], false)]
    let grids = gridShapes(world.size)

    for (s, (widths, biases)) in shapes.enumerated() {
        for (a, activation) in Activation.allCases.enumerated() {
            let loss: Loss = s % 2 == 0 ? .crossEntropy : .meanSquaredError
            let model = MultilayerPerceptron(widths: widths, biases: biases, activation: activation, loss: loss)
            let M = model.parameterCount
            let θ = randomParameters(M, seed: 21 + UInt64(s))
            // Grids in turn, so every shape is tried over the shapes and activations.
            let shape = grids[(s * Activation.allCases.count + a) % grids.count]
            let grid = ProcessGrid(communicator: world, rows: shape.rows, columns: shape.columns)
            defer { grid.release() }
            for part in CurvaturePart.allCases {
                let name = "assembly.\(part.rawValue).\(widths.map(String.init).joined(separator: "-"))\(biases ? "" : ".nobias").\(activation.rawValue).\(shape.rows)x\(shape.columns)"
                // The generic assembler (panels of 5 columns: several panels, the last one short)
                // against the sample-GEMM fast path, on the same grid.
                try suite.check(name + ".generic=fast", tolerance: 1e-12) {
                    var fast = try BlockCyclicMatrix(grid: grid, rows: M, columns: M, blockSize: 4)
                    var generic = fast
                    _ = try CurvatureAssembly(model: model, requested: .sampleGEMM)
                        .assemble(part, at: θ, shard: sharded.samples, globalSampleCount: sharded.globalCount, into: &fast)
                    var columns = try CurvatureAssembly(model: model, requested: .operatorColumns)
                    columns.panelWidth = 5
                    _ = try columns.assemble(part, at: θ, shard: sharded.samples, globalSampleCount: sharded.globalCount, into: &generic)
                    let scale = try fast.maxAbs()
                    var worst = 0.0
                    for i in fast.local.indices { worst = max(worst, abs(fast.local[i] - generic.local[i])) }
                    return worst / scale
                }
                // The distributed fast path against the serial dense matrix of the whole data, by
                // both exchanges (allreduce of partial panels; pieces sent to their owners).
                for exchange in [AssemblyExchange.allreduce, .owners] {
                    try suite.check(name + ".\(exchange.rawValue).distributed=serial", tolerance: 1e-12) {
                        var distributed = try BlockCyclicMatrix(grid: grid, rows: M, columns: M, blockSize: 4)
                        var assembly = try CurvatureAssembly(model: model)
                        assembly.exchange = exchange
                        _ = try assembly
                            .assemble(part, at: θ, shard: sharded.samples, globalSampleCount: sharded.globalCount, into: &distributed)
                        let dense = ExactHessian(network: model).dense(θ, batch: whole.samples, part: part)
                        let scale = dense.reduce(0) { max($0, abs($1)) }
                        var worst = 0.0
                        for c in 0..<distributed.localColumns {
                            for r in 0..<distributed.localRows {
                                let value = distributed.local[c * distributed.leadingDimension + r]
                                worst = max(worst, abs(value - dense[distributed.globalRow(r) * M + distributed.globalColumn(c)]))
                            }
                        }
                        return worst / scale
                    }
                }
            }
        }
    }

    // Pieces: a net of few, large row blocks (60 inputs, 4 hidden units: blocks of 61 rows × up to
    // 259 columns), which the deal cuts into windows of columns on 2–4 ranks, assembled on every
    // grid shape against the serial dense matrix — windows, their owners and the rounds exercised.
    let wide = MultilayerPerceptron(widths: [60, 4, 3], activation: .tanh, loss: .crossEntropy)
    let wideM = wide.parameterCount, wideθ = randomParameters(wideM, seed: 44)
    let wideData = try clusters(on: world, samples: 37, classes: 3, dimension: 60)
    let wideWhole = try clusters(on: alone, samples: 37, classes: 3, dimension: 60)
    let wideDense = ExactHessian(network: wide).dense(wideθ, batch: wideWhole.samples, part: .hessian)
    for shape in grids {
        try suite.check("assembly.pieces.60-4-3.\(shape.rows)x\(shape.columns)", tolerance: 1e-12) {
            let geometry = ExactHessian(network: wide).rowBlockGeometry
            let deal = DistributedHessianAssembly.deal(geometry, columns: wideM, ranks: world.size)
            // Cut on several ranks (one rank keeps whole blocks: nothing to balance), nothing lost.
            let covered = deal.joined().reduce(0) { $0 + $1.columns.count }
            guard covered == geometry.reduce(0, { $0 + wideM - $1.firstColumn }),
                  world.size == 1 || deal.joined().count > geometry.count else { return .infinity }
            let grid = ProcessGrid(communicator: world, rows: shape.rows, columns: shape.columns)
            defer { grid.release() }
            var matrix = try BlockCyclicMatrix(grid: grid, rows: wideM, columns: wideM, blockSize: 8)
            var assembly = try CurvatureAssembly(model: wide)
            assembly.exchange = .owners
            _ = try assembly.assemble(.hessian, at: wideθ, shard: wideData.samples, globalSampleCount: wideData.globalCount, into: &matrix)
            let scale = wideDense.reduce(0) { max($0, abs($1)) }
            var worst = 0.0
            for c in 0..<matrix.localColumns {
                for r in 0..<matrix.localRows {
                    worst = max(worst, abs(matrix.local[c * matrix.leadingDimension + r] - wideDense[matrix.globalRow(r) * wideM + matrix.globalColumn(c)]))
                }
            }
            return worst / scale
        }
    }

    // Symmetrisation: (A + Aᵀ)/2 and the defect it removed, on every grid shape.
    let n = 29
    func entry(_ i: Int, _ j: Int) -> Double { Double(i) - 0.5 * Double(j) + 1 / Double(1 + i * j) }
    for shape in grids {
        try suite.check("symmetrize.\(shape.rows)x\(shape.columns)", tolerance: 1e-15) {
            let grid = ProcessGrid(communicator: world, rows: shape.rows, columns: shape.columns)
            defer { grid.release() }
            var A = try BlockCyclicMatrix(grid: grid, rows: n, columns: n, blockSize: 3)
            A.fill(entry)
            let report = try A.symmetrize(panelWidth: 6)
            var worst = 0.0, defect = 0.0
            for i in 0..<n { for j in 0..<n { defect = max(defect, abs(entry(i, j) - entry(j, i))) } }
            for c in 0..<A.localColumns {
                for r in 0..<A.localRows {
                    let i = A.globalRow(r), j = A.globalColumn(c)
                    worst = max(worst, abs(A.local[c * A.leadingDimension + r] - (entry(i, j) + entry(j, i)) / 2))
                }
            }
            return max(worst, abs(report.defect - defect)) / defect
        }
    }
}
