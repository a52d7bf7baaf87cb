import Cluster

/// What a user may ask for with `--solver`.
public enum EigensolverChoice: String, CaseIterable, Codable, Sendable {
    /// The fastest measured method for the job (see `Eigensolver.resolve`).
    case auto
    /// ELPA, stage chosen by the job: 2-stage for eigenvalues only, 1-stage with eigenvectors.
    case elpa
    /// ScaLAPACK, routine chosen by the job.
    case scalapack
    case elpa1, elpa2, pdsyev, pdsyevd, pdsyevr
    /// LAPACK's two-stage DSYEVD_2STAGE: eigenvalues only, one process.
    case dsyevd2stage = "dsyevd_2stage"
}

/// A concrete symmetric eigensolver: one ScaLAPACK driver, one ELPA stage, or LAPACK's two-stage
/// driver on one process, all behind the same call on a `BlockCyclicMatrix`.
public enum Eigensolver: Equatable, Sendable, CustomStringConvertible {
    case scalapack(ScaLAPACKEigensolver)
    case elpa(ELPAEigensolver.Stage)
    case twoStage

    public var description: String {
        switch self {
        case .scalapack(let routine): routine.rawValue
        case .elpa(let stage): stage.rawValue
        case .twoStage: EigensolverChoice.dsyevd2stage.rawValue
        }
    }

    /// A two-stage reduction (ELPA 2-stage or LAPACK's DSYEVD_2STAGE): the eigenvalues-only
    /// methods the cost model's `eigenvaluesRate` was measured on.
    public var isTwoStage: Bool { self == .elpa(.two) || self == .twoStage }

    /// Below this order ScaLAPACK's PDSYEV beats ELPA 2-stage for eigenvalues only on this
    /// machine's 2 ranks (M = 1500: 0.29–0.33 s against 0.30–0.41 s; M = 2000: a tie at ≈ 0.72 s;
    /// M = 3000: 2.5 s against 1.7–2.3 s). bench/eigensolvers.sh; docs/eigensolvers.md.
    public static let elpaEigenvaluesThreshold = 2000
    /// Below this order PDSYEVR (MRRR) is the fastest eigenvalues-only method on a single process
    /// (M = 1500: 0.19 s against DSYEVD_2STAGE's 0.21 s); from it on LAPACK's two-stage driver is
    /// (M = 2500: 0.80 s against PDSYEVR's 0.91 s and ELPA 2-stage's 1.15 s; M = 3500: 2.08 s
    /// against 3.62 and 2.89 s; M = 5000: 5.72 s against ELPA's 7.0–7.3 s; one core, 2026-12-06).
    public static let singleProcessTwoStageThreshold = 2000

    /// Turns a choice into a solver for this job. `auto` uses the measured rule:
    /// eigenvalues only → on one process PDSYEVR below `singleProcessTwoStageThreshold`, LAPACK's
    /// DSYEVD_2STAGE from there (neither needs ELPA); on more,
    /// PDSYEV below `elpaEigenvaluesThreshold`; otherwise ELPA 2-stage;
    /// eigenvectors (all or a subset) → ELPA 1-stage; ScaLAPACK wherever ELPA cannot take the
    /// layout (fewer than one block per process). Without ELPA, `auto` falls back to
    /// ScaLAPACK (and says so in `note`); asking for ELPA explicitly is then an error.
    public static func resolve(_ choice: EigensolverChoice, selection: EigenvectorSelection, n: Int, blockSize: Int,
                               grid: (rows: Int, columns: Int)) throws -> (solver: Eigensolver, note: String?) {
        let scalapack = ScaLAPACKEigensolver.preferred(for: selection, n: n, blockSize: blockSize, grid: grid)
        let elpaStage: ELPAEigensolver.Stage = selection == .none ? .two : .one
        let solver: Eigensolver
        switch choice {
        case .auto:
            let singleProcess = grid.rows * grid.columns == 1
            if selection == .none && singleProcess {
                return (n < singleProcessTwoStageThreshold ? .scalapack(.pdsyevr) : .twoStage, nil)
            }
            guard ELPAEigensolver.isAvailable else {
                return (.scalapack(scalapack), "ELPA is not available; using ScaLAPACK \(scalapack.rawValue)")
            }
            let useELPA = ELPAEigensolver.supports(n: n, blockSize: blockSize, grid: grid)
                && !(selection == .none && n < elpaEigenvaluesThreshold)
            solver = useELPA ? .elpa(elpaStage) : .scalapack(scalapack)
        case .scalapack: solver = .scalapack(scalapack)
        case .elpa: solver = .elpa(elpaStage)
        case .elpa1: solver = .elpa(.one)
        case .elpa2: solver = .elpa(.two)
        case .pdsyev: solver = .scalapack(.pdsyev)
        case .pdsyevd: solver = .scalapack(.pdsyevd)
        case .pdsyevr: solver = .scalapack(.pdsyevr)
        case .dsyevd2stage: solver = .twoStage
        }
        switch solver {
        case .elpa:
            guard ELPAEigensolver.isAvailable else { throw InputError("--solver \(choice.rawValue): \(ELPAEigensolver.installHint)") }
            guard ELPAEigensolver.supports(n: n, blockSize: blockSize, grid: grid) else {
                throw InputError("--solver \(choice.rawValue) needs M ≥ NB·max(Pr, Pc) so that every process owns a block (M = \(n), NB = \(blockSize), grid \(grid.rows)x\(grid.columns)); use a smaller --block or --solver scalapack")
            }
        case .twoStage:
            guard TwoStageEigensolver.supports(selection, grid: grid) else {
                throw InputError("--solver dsyevd_2stage computes eigenvalues only, on one process (here: \(selection == .none ? "" : "eigenvectors \(selection), ")grid \(grid.rows)x\(grid.columns)); use elpa or scalapack")
            }
        case .scalapack(let routine):
            guard routine.supports(selection) else {
                throw InputError(setting: "vectors", "\(selection) cannot be produced by --solver \(routine.rawValue); use pdsyevr for top:K/bottom:K, pdsyevd or pdsyevr for all, pdsyev or pdsyevr for none")
            }
            if routine == .pdsyevd && !ScaLAPACKEigensolver.pdsyevdIsReliable(n: n, blockSize: blockSize, grid: grid) {
                throw InputError("--solver pdsyevd is unreliable when M < 4·NB·max(Pr, Pc) (M = \(n), NB = \(blockSize), grid \(grid.rows)x\(grid.columns)): ScaLAPACK 2.2.1 returns wrong eigenvectors or hangs there; use a smaller --block or --solver pdsyevr")
            }
        }
        return (solver, nil)
    }

    /// Work memory beyond A and Z on this rank, in bytes (ScaLAPACK: its own LWORK query).
    public func workspaceBytes(grid: ProcessGrid, n: Int, blockSize: Int, selection: EigenvectorSelection) throws -> Double {
        switch self {
        case .scalapack(let routine):
            return Double(try ScaLAPACKSymmetricEigensolver(routine: routine)
                .workspaceBytes(grid: grid, n: n, blockSize: blockSize, selection: selection))
        case .elpa(let stage):
            let rows = BlockCyclicAxis(count: n, blockSize: blockSize, processes: grid.rows).localCount(process: grid.myRow)
            let columns = BlockCyclicAxis(count: n, blockSize: blockSize, processes: grid.columns).localCount(process: grid.myColumn)
            return ELPAEigensolver(stage: stage).workspaceBytes(localEntries: Double(rows) * Double(columns), vectors: selection != .none)
        case .twoStage:
            return try TwoStageEigensolver().workspaceBytes(n: n)
        }
    }

    /// Decomposes `matrix` (destroyed). Eigenvalues ascending; eigenvector c ↔ eigenvalue c.
    public func decompose(_ matrix: inout BlockCyclicMatrix, selection: EigenvectorSelection) throws -> SymmetricEigenDecomposition {
        switch self {
        case .scalapack(let routine): try ScaLAPACKSymmetricEigensolver(routine: routine).decompose(&matrix, selection: selection)
        case .elpa(let stage): try ELPAEigensolver(stage: stage).decompose(&matrix, selection: selection)
        case .twoStage: try TwoStageEigensolver().decompose(&matrix)
        }
    }
}
