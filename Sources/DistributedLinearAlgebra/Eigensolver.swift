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
}

/// A concrete symmetric eigensolver: one ScaLAPACK driver or one ELPA stage, all behind the
/// same call on a `BlockCyclicMatrix`.
public enum Eigensolver: Equatable, Sendable, CustomStringConvertible {
    case scalapack(ScaLAPACKEigensolver)
    case elpa(ELPAEigensolver.Stage)

    public var description: String {
        switch self {
        case .scalapack(let routine): routine.rawValue
        case .elpa(let stage): stage.rawValue
        }
    }

    /// Below this order ScaLAPACK's PDSYEV beats ELPA 2-stage for eigenvalues only on this
    /// machine's 2 ranks (M = 1500: 0.29–0.33 s against 0.30–0.41 s; M = 2000: a tie at ≈ 0.72 s;
    /// M = 3000: 2.5 s against 1.7–2.3 s). bench/eigensolvers.sh; docs/eigensolvers.md.
    public static let elpaEigenvaluesThreshold = 2000
    /// Below this order PDSYEVR (MRRR) is the fastest eigenvalues-only method on a single process
    /// (M = 2500: 1.25–1.39 s against ELPA 2-stage's 1.48–1.84 s); from it on ELPA 2-stage is
    /// (M = 3000: 2.6–2.9 s against 3.0–3.4 s; M = 4000: 4.9–5.1 s against 5.8–7.0 s).
    public static let singleProcessELPAThreshold = 3000

    /// Turns a choice into a solver for this job. `auto` uses the measured rule:
    /// eigenvalues only → on one process PDSYEVR below `singleProcessELPAThreshold`; on more,
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
            guard ELPAEigensolver.isAvailable else {
                return (.scalapack(scalapack), "ELPA is not available; using ScaLAPACK \(scalapack.rawValue)")
            }
            let singleProcess = grid.rows * grid.columns == 1
            if selection == .none && singleProcess && n < singleProcessELPAThreshold {
                solver = .scalapack(.pdsyevr)
            } else {
                let useELPA = ELPAEigensolver.supports(n: n, blockSize: blockSize, grid: grid)
                    && !(selection == .none && n < elpaEigenvaluesThreshold)
                solver = useELPA ? .elpa(elpaStage) : .scalapack(scalapack)
            }
        case .scalapack: solver = .scalapack(scalapack)
        case .elpa: solver = .elpa(elpaStage)
        case .elpa1: solver = .elpa(.one)
        case .elpa2: solver = .elpa(.two)
        case .pdsyev: solver = .scalapack(.pdsyev)
        case .pdsyevd: solver = .scalapack(.pdsyevd)
        case .pdsyevr: solver = .scalapack(.pdsyevr)
        }
        switch solver {
        case .elpa:
            guard ELPAEigensolver.isAvailable else { throw InputError("--solver \(choice.rawValue): \(ELPAEigensolver.installHint)") }
            guard ELPAEigensolver.supports(n: n, blockSize: blockSize, grid: grid) else {
                throw InputError("--solver \(choice.rawValue) needs M ≥ NB·max(Pr, Pc) so that every process owns a block (M = \(n), NB = \(blockSize), grid \(grid.rows)x\(grid.columns)); use a smaller --block or --solver scalapack")
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
        }
    }

    /// Decomposes `matrix` (destroyed). Eigenvalues ascending; eigenvector c ↔ eigenvalue c.
    public func decompose(_ matrix: inout BlockCyclicMatrix, selection: EigenvectorSelection) throws -> SymmetricEigenDecomposition {
        switch self {
        case .scalapack(let routine): try ScaLAPACKSymmetricEigensolver(routine: routine).decompose(&matrix, selection: selection)
        case .elpa(let stage): try ELPAEigensolver(stage: stage).decompose(&matrix, selection: selection)
        }
    }
}
