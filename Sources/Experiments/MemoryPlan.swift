import Cluster
import DistributedLinearAlgebra

/// Bytes per rank a distributed eigen-decomposition will need, worked out before anything is
/// allocated: the local piece of A, of Z when eigenvectors are kept, the eigensolver's workspace
/// (ScaLAPACK's own LWORK query; ELPA's documented needs), the transposed panel used while
/// symmetrising, further matrices of the same size (`extraMatrices`) and other buffers (`extraBytes`).
public struct MemoryPlan: Sendable {
    public let bytesPerRank: Int
    public let parts: [String: Int]

    public init(grid: ProcessGrid, n: Int, blockSize: Int, vectors: EigenvectorSelection,
                solver: Eigensolver, extraMatrices: Int = 0, extraBytes: Int = 0) throws {
        let layout = BlockCyclicLayout(rows: n, columns: n, rowBlock: blockSize, columnBlock: blockSize,
                                       processRows: grid.rows, processColumns: grid.columns)
        // Doubles, so an absurd request estimates to a huge number instead of overflowing.
        let localEntries = Double(layout.localRows(processRow: grid.myRow)) * Double(layout.localColumns(processColumn: grid.myColumn))
        let matrix = localEntries * 8
        let eigenvectors = vectors == .none ? 0 : matrix
        let workspace = try solver.workspaceBytes(grid: grid, n: n, blockSize: blockSize, selection: vectors)
        let panel = Double(layout.localRows(processRow: grid.myRow)) * Double(max(512, blockSize * grid.columns) / grid.columns) * 8 * 2
        let total = matrix * Double(1 + extraMatrices) + eigenvectors + workspace + panel + Double(n) * 8 + Double(extraBytes)
        // The largest need of any rank is the plan (allreduce in `check`).
        bytesPerRank = total > Double(Int.max / 2) ? Int.max / 2 : Int(total)
        parts = ["matrix": Int(min(matrix, 1e18)), "eigenvectors": Int(min(eigenvectors, 1e18)),
                 "workspace": Int(min(workspace, 1e18)), "panel": Int(min(panel, 1e18)), "other": extraBytes]
    }

    /// Refuses (collectively) a plan that does not fit the memory each rank may use: `limit`, or
    /// this node's available memory shared among the ranks on it.
    public func check(limit: Int?, on world: Communicator) throws {
        let need = try world.allreduce(bytesPerRank, .max)
        var budget: Int
        if let limit {
            budget = limit
        } else {
            let node = try world.splitByNode()
            defer { try? node.free() }
            budget = (availableNodeMemory() ?? Int.max) / node.size
        }
        budget = try world.allreduce(budget, .min)
        guard need > budget else { return }
        let ranksNeeded = Int((Double(world.size) * Double(need) / Double(max(budget, 1))).rounded(.up))
        throw InputError("not enough memory: this job needs ≈ \(formatBytes(need)) per rank but \(formatBytes(budget)) per rank is available; run on ≥ \(ranksNeeded) ranks (or set --memory-per-rank if the estimate of what is free is wrong)")
    }
}
