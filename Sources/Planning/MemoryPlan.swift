import Support
import Cluster
import DistributedLinearAlgebra

/// The one memory accounting of a spectrum job on one rank, in bytes: what a run's plan refuses
/// with (`MemoryPlan`, with the solver's own workspace query) and what `landscape plan` prints
/// (`CostModel`, with the measured workspace fractions, since it has no grid to query) — the same
/// terms in both, so the two cannot drift apart. Doubles, so an absurd request estimates to a huge
/// number instead of overflowing.
public struct MemoryAccount: Sendable {
    /// The local pieces of H (and G, R) on this rank.
    public let matrices: Double
    /// Z, when eigenvectors are kept.
    public let eigenvectors: Double
    /// The eigensolver's work arrays.
    public let workspace: Double
    /// The transposed column panel used while symmetrising (two of them).
    public let panel: Double
    /// The eigenvalues (n doubles), the assembly's working memory and other buffers.
    public let other: Double
    public let baseline = MemoryPlan.processBaseline

    public init(localRows: Int, localColumns: Int, gridColumns: Int, blockSize: Int, n: Int, matrices count: Int,
                vectors: Bool, workspace: Double, extraBytes: Double) {
        let piece = Double(localRows) * Double(localColumns) * 8
        matrices = piece * Double(count)
        eigenvectors = vectors ? piece : 0
        self.workspace = workspace
        panel = Double(localRows) * Double(max(512, blockSize * gridColumns) / gridColumns) * 8 * 2
        other = Double(n) * 8 + extraBytes
    }

    public var total: Double { baseline + matrices + eigenvectors + workspace + panel + other }
}

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
        let account = MemoryAccount(
            localRows: layout.localRows(processRow: grid.myRow), localColumns: layout.localColumns(processColumn: grid.myColumn),
            gridColumns: grid.columns, blockSize: blockSize, n: n, matrices: 1 + extraMatrices, vectors: vectors != .none,
            workspace: try solver.workspaceBytes(grid: grid, n: n, blockSize: blockSize, selection: vectors),
            extraBytes: Double(extraBytes))
        // The largest need of any rank is the plan (allreduce in `check`).
        bytesPerRank = account.total > Double(Int.max / 2) ? Int.max / 2 : Int(account.total)
        parts = ["matrix": Int(min(account.matrices, 1e18)), "eigenvectors": Int(min(account.eigenvectors, 1e18)),
                 "workspace": Int(min(account.workspace, 1e18)), "panel": Int(min(account.panel, 1e18)), "other": extraBytes]
    }

    /// The resident memory of a `landscape` process before any matrix (Swift runtime, Open MPI,
    /// OpenBLAS, ScaLAPACK, ELPA): 36 MiB measured here.
    public static let processBaseline = 40.0 * 1024 * 1024

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

    /// The budget every rank plans with: `limit` (`--memory-per-rank`) or `defaultBudget`, the
    /// smallest over the ranks so that all reach the same verdict (collective).
    public static func agreedBudget(_ limit: Int? = nil, on world: Communicator) throws -> Int {
        try world.allreduce(limit ?? defaultBudget(on: world), .min)
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

extension MemoryPlan {
    /// Refuses (before anything is allocated) a count the user chose of things a job holds in
    /// memory together — starting points, grid points, probe or Lanczos vectors — when `count`
    /// of `bytesEach` (besides `baseBytes` the job needs anyway) do not fit `budget`, the memory
    /// each rank may use. The refusal names the setting as `setting` (a flag, or a key that the
    /// command renames), says what it holds, and gives the largest count that fits (`baseBytes`:
    /// the process alone by default). Doubles, so
    /// an absurd count estimates to a huge number rather than overflowing. `value`: how the setting
    /// was written, when that is not the count itself (a grid `0:1:1000000000`).
    ///
    /// The count is blamed only when it is the cause: when one of the things would fit besides
    /// the base, or when the count alone exceeds the whole budget (an absurd count, whatever the
    /// base). A budget that the base alone exceeds, with a modest count, is left to the job's own
    /// memory check, whose message names the remedy that helps (a smaller basis, more ranks).
    public static func requireFits(_ count: Int, setting: String, value: String? = nil, holding what: String, bytesEach: Double,
                                   baseBytes: Double? = nil, budget: Int) throws {
        let baseBytes = baseBytes ?? processBaseline
        let own = Double(count) * bytesEach, need = baseBytes + own
        guard need > Double(budget), baseBytes + bytesEach <= Double(budget) || own > Double(budget) else { return }
        let fitting = bytesEach > 0 ? max(0, (Double(budget) - baseBytes) / bytesEach).rounded(.down) : 0
        let fix = fitting >= 1 ? "give at most \(Int(min(fitting, 1e18)))" : "nothing that size fits; use a smaller model or more memory per rank"
        throw InputError(setting: setting, "\(value ?? "\(count)"): \(what) held in memory need ≈ \(formatBytes(Int(min(need, 1e18)))) per rank, \(formatBytes(budget)) available; \(fix) (or set --memory-per-rank if the estimate of what is free is wrong)")
    }
}
