import Configuration
import Curvature
import DistributedLinearAlgebra
import Networks
import Objectives

/// Every eigenvalue of the exact Hessian at θ, ascending: H assembled from the objective's shard
/// on the squarest BLACS grid of its communicator (hessian.block and hessian.assembly from the
/// configuration), then decomposed by the solver `auto` picks. Collective over the objective's
/// ranks. The curvature at a point of a line (interpolate) and at the pivots of a path (path).
func exactHessianEigenvalues(at θ: [Double], network: MultilayerPerceptron, objective: DataParallelObjective,
                             configuration: RunConfiguration) throws -> [Double] {
    let shape = ProcessGrid.squarestShape(for: objective.communicator.size)
    let grid = ProcessGrid(communicator: objective.communicator, rows: shape.rows, columns: shape.columns)
    defer { grid.release() }
    let m = network.parameterCount
    let blockSize = max(1, min(configuration.hessianBlock, (m + max(shape.rows, shape.columns) - 1) / max(shape.rows, shape.columns)))
    var matrix = try BlockCyclicMatrix(grid: grid, rows: m, columns: m, blockSize: blockSize)
    _ = try CurvatureAssembly(model: network, requested: configuration.hessianAssembly)
        .assemble(.hessian, at: θ, shard: objective.dataset.samples, globalSampleCount: objective.dataset.globalCount, into: &matrix)
    _ = try matrix.symmetrize()
    let solver = try Eigensolver.resolve(.auto, selection: .none, n: m, blockSize: blockSize, grid: (shape.rows, shape.columns)).solver
    return try solver.decompose(&matrix, selection: .none).eigenvalues
}
