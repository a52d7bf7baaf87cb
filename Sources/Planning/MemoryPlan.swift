import Support
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
        let total = Self.processBaseline + matrix * Double(1 + extraMatrices) + eigenvectors + workspace + panel
            + Double(n) * 8 + Double(extraBytes)
        // The largest need of any rank is the plan (allreduce in `check`).
        bytesPerRank = total > Double(Int.max / 2) ? Int.max / 2 : Int(total)
        parts = ["matrix": Int(min(matrix, 1e18)), "eigenvectors": Int(min(eigenvectors, 1e18)),
                 "workspace": Int(min(workspace, 1e18)), "panel": Int(min(panel, 1e18)), "other": extraBytes]
    }

    /// The resident memory of a `landscape` process before any matrix (Swift runtime, Open MPI,
    /// OpenBLAS, ScaLAPACK, ELPA): 36 MiB measured here.
    static let processBaseline = 40.0 * 1024 * 1024

    /// The solver for a job and its plan. When `auto` picked ELPA but ELPA's work arrays do not fit
    /// the memory each rank may use, ScaLAPACK (whose PDSYEV needs little beyond the matrix) is
    /// used instead, with a note; any other over-budget plan is refused by `check`.
    public static func choose(_ choice: EigensolverChoice, vectors: EigenvectorSelection, grid: ProcessGrid, n: Int,
                              blockSize: Int, limit: Int?, extraMatrices: Int = 0, extraBytes: Int = 0,
                              on world: Communicator) throws -> (solver: Eigensolver, plan: MemoryPlan, notes: [String]) {
        let shape = (rows: grid.rows, columns: grid.columns)
        var (solver, note) = try Eigensolver.resolve(choice, selection: vectors, n: n, blockSize: blockSize, grid: shape)
        var notes = note.map { [$0] } ?? []
        var plan = try MemoryPlan(grid: grid, n: n, blockSize: blockSize, vectors: vectors, solver: solver,
                                  extraMatrices: extraMatrices, extraBytes: extraBytes)
        if choice == .auto, case .elpa = solver, try !plan.fits(limit: limit, on: world) {
            let fallback = Eigensolver.scalapack(ScaLAPACKEigensolver.preferred(for: vectors, n: n, blockSize: blockSize, grid: shape))
            let smaller = try MemoryPlan(grid: grid, n: n, blockSize: blockSize, vectors: vectors, solver: fallback,
                                         extraMatrices: extraMatrices, extraBytes: extraBytes)
            if try smaller.fits(limit: limit, on: world) {
                notes.append("ELPA's work arrays would not fit in memory (≈ \(formatBytes(plan.bytesPerRank)) per rank); using ScaLAPACK \(fallback)")
                solver = fallback
                plan = smaller
            }
        }
        return (solver, plan, notes)
    }

    /// Whether the largest rank's need fits the smallest rank's budget (collective).
    public func fits(limit: Int?, on world: Communicator) throws -> Bool {
        let (need, budget) = try needAndBudget(limit: limit, on: world)
        return need <= budget
    }

    private func needAndBudget(limit: Int?, on world: Communicator) throws -> (Int, Int) {
        let need = try world.allreduce(bytesPerRank, .max)
        let budget = try limit ?? Self.defaultBudget(on: world)
        return (need, try world.allreduce(budget, .min))
    }

    /// What a rank may use when nobody says: this node's available memory shared among the ranks
    /// of `world` on it. A sweep asks this of the whole job, not of one group, since the groups
    /// on a node share its memory.
    public static func defaultBudget(on world: Communicator) throws -> Int {
        let node = try world.splitByNode()
        defer { try? node.free() }
        return (availableNodeMemory() ?? Int.max) / node.size
    }

    /// Refuses (collectively) a plan that does not fit the memory each rank may use: `limit`, or
    /// this node's available memory shared among the ranks on it.
    public func check(limit: Int?, on world: Communicator) throws {
        let (need, budget) = try needAndBudget(limit: limit, on: world)
        guard need > budget else { return }
        let ranksNeeded = Int((Double(world.size) * Double(need) / Double(max(budget, 1))).rounded(.up))
        throw InputError("not enough memory: this job needs ≈ \(formatBytes(need)) per rank but \(formatBytes(budget)) per rank is available; run on ≥ \(ranksNeeded) ranks (or set --memory-per-rank if the estimate of what is free is wrong)")
    }
}
