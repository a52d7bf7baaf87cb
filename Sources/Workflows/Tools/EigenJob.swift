import Jobs
import Cluster
import DistributedLinearAlgebra
import Foundation
import Support
import NPY
import Planning

/// `landscape eig`: the distributed symmetric eigensolver for a matrix given as an NPY file (or a
/// generated test matrix with a known spectrum).
public struct EigenJob: Sendable {
    public enum Source: Sendable {
        case npy(path: String)
        case testMatrix(HouseholderTestMatrix.Specification)
    }

    public var source: Source
    public var vectors: EigenvectorSelection = .none
    /// `"auto"` or `"PrxPc"`.
    public var grid: String = "auto"
    public var blockSize: Int = 64
    public var solver: EigensolverChoice = .auto
    /// Replace an asymmetric input by its symmetric part instead of refusing it.
    public var symmetrize = false
    /// Largest relative symmetry defect max|A − Aᵀ| / max|A| accepted without `symmetrize`.
    public var symmetryTolerance = 1e-10
    public var zeroTolerance: Double? = nil
    /// nil: this node's available memory divided by the ranks on it.
    public var memoryPerRank: Int? = nil
    public var output: RunDirectory
    public var quiet = false

    public init(source: Source, output: RunDirectory) {
        self.source = source
        self.output = output
    }

    /// What `summary.json` holds.
    public struct Summary: Codable, Sendable {
        package var matrix: String
        package var dimension: Int
        package var ranks: Int
        package var grid: String
        package var block: Int
        package var solver: String
        package var vectors: String
        package var eigenvaluesComputed: Int
        package var symmetryDefect: Double
        package var relativeSymmetryDefect: Double
        package var symmetrized: Bool
        package var counts: SpectrumCounts
        package var knownSpectrumMaxError: Double?
        package var seconds: [String: Double]
        package var peakResidentBytesPerRank: [Int]
        package var memoryEstimateBytesPerRank: Int
    }

    public func run(on world: Communicator) throws {
        try JobRun.perform("eig", configuration: nil, output: output, quiet: quiet, on: world) { run in
            try execute(&run)
        }
    }

    /// What was decomposed: the file, or the test matrix's description.
    package var matrixName: String {
        switch source {
        case .npy(let path): path
        case .testMatrix(let t): t.description
        }
    }

    private func execute(_ run: inout JobRun) throws {
        let (world, progress) = (run.world, run.progress)
        var timings = run.timings

        // 1. Every check before any heavy work; each verdict is reached by all ranks together.
        let shape = try ProcessGrid.parseShape(grid, processes: world.size)
        let header: NPYHeader? = try world.agree {
            guard case .npy(let path) = source else { return nil }
            return try Self.readMatrixHeader(path)
        }
        let n: Int = switch source {
        case .npy: header!.shape[0]
        case .testMatrix(let t): t.size
        }
        let processGrid = ProcessGrid(communicator: world, rows: shape.rows, columns: shape.columns)
        defer { processGrid.release() }
        (run.header.data, run.header.parameters, run.header.grid) = (matrixName, n, processGrid.shapeDescription)
        let (solver, plan, notes) = try MemoryPlan.choose(self.solver, vectors: vectors, grid: processGrid, n: n,
                                                          blockSize: blockSize, limit: memoryPerRank, on: world)
        notes.forEach(progress.note)
        try plan.check(limit: memoryPerRank, on: world)
        progress.say("eig: M = \(n), \(world.size) ranks, grid \(processGrid.shapeDescription), block \(blockSize), \(solver), vectors \(vectors); memory ≈ \(formatBytes(plan.bytesPerRank)) per rank")

        // Every input is checked: from here on this job owns the run directory, which must not hold
        // another run's results (they would be overwritten silently).
        try run.own {
            if FileManager.default.fileExists(atPath: output.file("summary.json")) {
                throw InputError("\(output.named) already holds results (summary.json); choose another --out or remove them first")
            }
        }

        // 2. The matrix, distributed.
        var matrix = try timings.measure("read", on: world) { () throws -> BlockCyclicMatrix in
            switch source {
            case .npy(let path):
                return try BlockCyclicMatrix.read(npy: path, header: header!, grid: processGrid, blockSize: blockSize).matrix
            case .testMatrix(let specification):
                // Generated only now, after the memory plan has passed.
                let t = specification.generate()
                var m = try BlockCyclicMatrix(grid: processGrid, rows: n, columns: n, blockSize: blockSize)
                m.fill(t.entry)
                return m
            }
        }
        // NaN/Inf would reach ScaLAPACK/ELPA (INFO ≠ 0 on some ranks, or empty results): refused here.
        if case .npy(let path) = source, let bad = try matrix.firstNonFinite() {
            throw InputError("--matrix '\(path)': entry (\(bad.row), \(bad.column)) is NaN or ±∞; an eigen-decomposition needs finite entries")
        }
        let symmetry = try timings.measure("symmetrize", on: world) { try matrix.symmetrize() }
        if symmetry.relativeDefect > symmetryTolerance && !symmetrize {
            throw InputError(String(format: "the matrix is not symmetric: max|A − Aᵀ| / max|A| = %.3g exceeds %.1g; pass --symmetrize to use (A + Aᵀ)/2", symmetry.relativeDefect, symmetryTolerance))
        }

        // 3. Solve.
        progress.say("eig: solving")
        let decomposition = try timings.measure("solve", method: solver.description, on: world) { try solver.decompose(&matrix, selection: vectors) }
        let eigenvalues = decomposition.eigenvalues

        // 4. Write: the directory appears only now, with complete files.
        try timings.measure("write", on: world) {
            try output.write(decomposition, eigenvalues: "eigenvalues.npy", eigenvectors: "eigenvectors.npy", on: world)
        }

        var knownError: Double? = nil
        if case .testMatrix(let specification) = source {
            let range = vectors.indexRange(n: n)
            let expected = Array(specification.generate().eigenvalues[(range.lowerBound - 1)..<range.upperBound])
            knownError = zip(eigenvalues, expected).reduce(0) { max($0, abs($1.0 - $1.1)) }
        }
        run.timings = timings
        let completed = try run.completedHeader()
        let summary = Summary(
            matrix: matrixName,
            dimension: n, ranks: world.size, grid: processGrid.shapeDescription, block: blockSize,
            solver: solver.description, vectors: vectors.description, eigenvaluesComputed: eigenvalues.count,
            symmetryDefect: symmetry.defect, relativeSymmetryDefect: symmetry.relativeDefect,
            symmetrized: symmetry.defect > 0,
            counts: SpectrumCounts(eigenvalues: eigenvalues, dimension: n, zeroTolerance: zeroTolerance),
            knownSpectrumMaxError: knownError, seconds: timings.wallSeconds,
            peakResidentBytesPerRank: completed.peakResidentBytesPerRank,
            memoryEstimateBytesPerRank: plan.bytesPerRank)
        try run.finish(summary, header: completed)
        if world.isRoot {
            print(Self.report(summary, directory: output.path))
        }
    }

    /// Reads and checks the header of the user's matrix (rank 0 only, inside `agree`).
    package static func readMatrixHeader(_ path: String) throws -> NPYHeader {
        let header: NPYHeader
        do { header = try NPYHeader.read(contentsOf: path) } catch let error as NPYError {
            throw InputError("--matrix: \(error.message)")
        }
        guard header.dataType.isFloatingPoint else {
            throw InputError("--matrix '\(path)' has dtype \(header.dataType); save it as float64 or float32 (e.g. numpy.save(path, A.astype('f8')))")
        }
        guard header.shape.count == 2 else {
            throw InputError("--matrix '\(path)' has shape \(header.shape); a 2-D square matrix is required")
        }
        guard header.shape[0] == header.shape[1] else {
            throw InputError("--matrix '\(path)' is \(header.shape[0]) × \(header.shape[1]); a square matrix is required")
        }
        guard header.shape[0] >= 1, header.shape[0] <= Int(Int32.max) else {
            throw InputError("--matrix '\(path)' has dimension \(header.shape[0]); 1 … \(Int32.max) is supported")
        }
        return header
    }

    package static func report(_ s: Summary, directory: String) -> String {
        var lines = [
            "eigenvalues of \(s.matrix): M = \(s.dimension), \(s.ranks) ranks on a \(s.grid) grid, block \(s.block), \(s.solver)",
            String(format: "  min %.10g  max %.10g", s.counts.minimum, s.counts.maximum),
            String(format: "  negative %d  near-zero %d  positive %d  (|λ| ≤ %.3g counts as zero)",
                   s.counts.negative, s.counts.nearZero, s.counts.positive, s.counts.zeroTolerance),
            String(format: "  symmetry defect max|A − Aᵀ| = %.3g (relative %.3g)", s.symmetryDefect, s.relativeSymmetryDefect),
        ]
        if let e = s.knownSpectrumMaxError {
            lines.append(String(format: "  max |λ − λ_exact| = %.3g against the known spectrum", e))
        }
        let phases = ["read", "symmetrize", "solve", "write"].compactMap { p in s.seconds[p].map { String(format: "%@ %.2f s", p, $0) } }
        lines.append("  time: " + phases.joined(separator: ", "))
        lines.append("  results in \(directory)/")
        return lines.joined(separator: "\n")
    }
}
