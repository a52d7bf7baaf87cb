import ArgumentParser
import Cluster
import Jobs
import DistributedLinearAlgebra
import Workflows

struct Eig: MPICommand {
    static let configuration = CommandConfiguration(
        abstract: "Eigenvalues (and eigenvectors) of a symmetric NPY matrix, distributed with ELPA or ScaLAPACK.",
        discussion: """
            Reads a square float64/float32 NPY matrix (either byte order, C or Fortran order) straight into a \
            block-cyclic distribution with MPI-IO, checks its symmetry, diagonalises it and writes \
            eigenvalues.npy (ascending), eigenvectors.npy when asked (M × K, column c ↔ eigenvalue c), \
            summary.json and timings.json into --out.
            """)

    @Option(help: "The matrix: an NPY file holding a square float64 or float32 array.")
    var matrix: String?

    @Option(help: ArgumentHelp("A generated dense matrix with a known spectrum instead of --matrix.", valueName: "householder:M[:SEED]"))
    var testMatrix: String?

    @Option(help: ArgumentHelp("Eigenvectors to compute and write: none, all, top:K or bottom:K. A subset also limits eigenvalues.npy to its K eigenvalues.", valueName: "selection"))
    var vectors: String = "none"

    @Option(help: ArgumentHelp("BLACS process grid: auto (the most square Pr × Pc) or PrxPc with Pr·Pc = ranks.", valueName: "PrxPc"))
    var grid: String = "auto"

    @Option(parsing: .unconditional, help: "Block size of the block-cyclic distribution.")
    var block: Int = 64

    @Option(help: "Eigensolver: auto (the fastest measured for the job), elpa, scalapack, or one method: elpa1, elpa2, pdsyev, pdsyevd, pdsyevr, dsyevd_2stage (eigenvalues, one process).")
    var solver: EigensolverChoice = .auto

    @Flag(help: "Accept an asymmetric matrix and diagonalise its symmetric part (A + Aᵀ)/2.")
    var symmetrize = false

    @Option(parsing: .unconditional, help: "Largest relative symmetry defect max|A − Aᵀ| / max|A| accepted without --symmetrize.")
    var symmetryTolerance: Double = 1e-10

    @Option(parsing: .unconditional, help: "Eigenvalues with |λ| ≤ this count as zero in the summary (default M·ε·max|λ|).")
    var zeroTolerance: Double?

    @OptionGroup var memory: MemoryOption

    @Option(help: "Output directory (created when the results are ready).")
    var out: String

    @Flag(help: "No progress lines on standard error.")
    var quiet = false

    func displayName(ofSetting setting: String) -> String? {
        ["vectors": "--vectors", "hessian.grid": "--grid", "test-matrix": "--test-matrix"][setting]
    }

    func validate() throws {
        guard (matrix == nil) != (testMatrix == nil) else {
            throw ValidationError("give exactly one of --matrix FILE.npy or --test-matrix householder:M")
        }
        guard block >= 1 else { throw ValidationError("--block must be ≥ 1 (64 is a good default)") }
        guard symmetryTolerance >= 0 else { throw ValidationError("--symmetry-tolerance must be ≥ 0") }
        _ = try validated(naming: displayName(ofSetting:)) { try EigenvectorSelection(parsing: vectors) }
        _ = try validated(naming: displayName(ofSetting:)) { try testMatrix.map { try HouseholderTestMatrix.Specification(parsing: $0) } }
    }

    func run(on runtime: MPIRuntime) throws {
        let source: EigenJob.Source = if let matrix { .npy(path: matrix) }
            else { .testMatrix(try HouseholderTestMatrix.Specification(parsing: testMatrix!)) }
        var job = EigenJob(source: source, output: RunDirectory(path: out))
        job.vectors = try EigenvectorSelection(parsing: vectors)
        job.grid = grid
        job.blockSize = block
        job.solver = solver
        job.symmetrize = symmetrize
        job.symmetryTolerance = symmetryTolerance
        job.zeroTolerance = zeroTolerance
        job.memoryPerRank = try memory.budget()
        job.quiet = quiet
        try job.run(on: runtime.world)
    }
}

extension EigensolverChoice: ExpressibleByArgument {}

/// Re-throws a library `InputError` as the parser's `ValidationError`, so option mistakes are
/// reported before MPI starts.
/// Runs a library check while parsing; its `InputError` becomes the parser's `ValidationError`,
/// with the setting shown as `names` says (the flag this command uses for it).
func validated<T>(naming names: (String) -> String? = { _ in nil }, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as InputError {
        guard let setting = error.setting, let name = names(setting) else { throw ValidationError(error.message) }
        throw ValidationError(error.naming(name).message)
    }
}

/// Parses `4G`, `512M`, `1.5GiB`, `2000000` (bytes); binary units.
func parseByteCount(_ text: String, option: String) throws -> Int {
    let units: [(String, Double)] = [("TIB", 0x1p40), ("GIB", 0x1p30), ("MIB", 0x1p20), ("KIB", 0x1p10),
                                     ("TB", 0x1p40), ("GB", 0x1p30), ("MB", 0x1p20), ("KB", 0x1p10),
                                     ("T", 0x1p40), ("G", 0x1p30), ("M", 0x1p20), ("K", 0x1p10), ("B", 1)]
    let upper = text.uppercased().trimmingCharacters(in: .whitespaces)
    for (suffix, scale) in units where upper.hasSuffix(suffix) {
        if let value = Double(upper.dropLast(suffix.count)), value > 0 { return Int(value * scale) }
    }
    if let value = Int(upper), value > 0 { return value }
    throw InputError("\(option) '\(text)' is not a size such as 4G, 512M or 1073741824")
}
