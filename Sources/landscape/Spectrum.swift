import ArgumentParser
import Cluster
import Jobs
import DistributedLinearAlgebra
import Configuration
import Workflows

struct Spectrum: MPICommand {
    static let configuration = CommandConfiguration(
        abstract: "The exact Hessian of the training loss at a point, its full spectrum, outliers and (--ggn) the Gauss–Newton split.",
        discussion: """
            Assembles H = ∇²L(w) exactly (sample-GEMMs, data sharded across ranks) into a block-cyclic matrix on the \
            hessian.grid, diagonalises it (--solver, as for `landscape eig`) and writes eigenvalues.npy, summary.json \
            (loss, ‖∇L‖, inertia, the bulk |λ| ≤ τ·max|λ| at each --bulk-tolerances τ, outliers by gap / ratio / elbow, \
            trace two ways, symmetry defect) and timings.json. \
            --ggn adds G (Gauss–Newton) with ggn_eigenvalues.npy and tr R for R = H − G; --residual also diagonalises R \
            (residual_eigenvalues.npy), a third eigensolve. \
            The point is --checkpoint params.npy (e.g. from `landscape train`) or --at init; with neither, the model is \
            trained first (as `landscape train` would, into DIR/train) and the spectrum is taken at initialisation (DIR/init) \
            and after training (DIR/final), drawn one panel each in DIR/spectra.svg. See docs/spectrum.md.
            """)

    @OptionGroup var options: RunOptions
    @Option(help: ArgumentHelp("Parameters at which to take the Hessian: a params.npy from `landscape train`.", valueName: "params.npy"))
    var checkpoint: String?
    @Option(help: ArgumentHelp("Or take it at a named point: init (θ₀: the seed's initialisation, or model.onnx's initialisers).", valueName: "init")) var at: String?
    @Flag(help: "Also assemble and diagonalise the Gauss–Newton matrix G (and report tr R, R = H − G).") var ggn = false
    @Flag(help: "Also diagonalise the residual R = H − G (implies --ggn; one more eigensolve).") var residual = false
    @Option(help: ArgumentHelp("Eigenvectors of H to write: none, all, top:K or bottom:K (a subset limits eigenvalues.npy to K values).", valueName: "selection"))
    var eigenvectors: String = "none"
    @Option(help: ArgumentHelp("Whose eigenvectors --eigenvectors selects: H (default), G (with --ggn), R (with --residual), comma-separated; each gets <prefix>eigenvectors.npy and its anatomy.", valueName: "H,G,R"))
    var eigenvectorsOf: String = "H"
    @Flag(help: "Write H (and G) as NPY through MPI-IO: hessian.npy, gauss_newton.npy.") var saveHessian = false
    @Option(help: ArgumentHelp("Spectra of H's diagonal blocks: none (default), layers, weights-biases or a block file FILE.toml (docs/anatomy.md); blocks/<name>.npy, per-block inertia, outliers and traces, and ‖H − blockdiag(H)‖_F / ‖H‖_F.", valueName: "partition"))
    var blocks: String = "none"
    @Option(parsing: .unconditional, help: ArgumentHelp("Eigensolver: auto (default), elpa, scalapack, elpa1, elpa2, pdsyev, pdsyevd, pdsyevr or dsyevd_2stage. [eig.solver]", valueName: "solver"))
    var solver: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Eigenvalues with |λ| ≤ this count as zero (default M·ε·max|λ|). [eig.zero-tolerance]", valueName: "tol"))
    var zeroTolerance: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Relative thresholds τ of the bulk counts, |λ| ≤ τ·max|λ| (default 1e-4,1e-3). [eig.bulk-tolerances]", valueName: "τ,…"))
    var bulkTolerances: String?
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    /// (key, text) of the `[eig]` flags given.
    var eigenOverrides: [(key: String, text: String)] { keyFlags([("eig.solver", solver), ("eig.zero-tolerance", zeroTolerance), ("eig.bulk-tolerances", bulkTolerances)]) }

    func displayName(ofSetting setting: String) -> String? {
        if setting == "vectors" { return "--eigenvectors" }
        if setting == "blocks" { return "--blocks" }
        if setting == "eigenvectors-of" { return "--eigenvectors-of" }
        if eigenOverrides.contains(where: { $0.key == setting }) { return ConfigurationKey.named(setting)?.flag }
        return settings.displayName(ofSetting: setting)
    }

    func validate() throws {
        guard checkpoint == nil || at == nil else { throw ValidationError("give at most one of --checkpoint params.npy or --at init") }
        if let at, at != "init" { throw ValidationError("--at '\(at)' is not a known point; use --at init or --checkpoint params.npy") }
        _ = try validated(naming: displayName(ofSetting:)) { try EigenvectorSelection(parsing: eigenvectors) }
        _ = try validated(naming: displayName(ofSetting:)) { try Self.partition(blocks) }
        _ = try validated(naming: displayName(ofSetting:)) { try SpectrumJob.parseSymbols(eigenvectorsOf) }
        try validateKeyFlags(eigenOverrides)
    }

    func run(on runtime: MPIRuntime) throws {
        let configuration = try options.configuration(overrides: settings.overrides + eigenOverrides, on: runtime)
        let output = options.output
        let job = try spectrumJob(configuration, checkpoint.map { .checkpoint($0) } ?? .initialization, output)
        if checkpoint == nil && at == nil {
            // Train, then the spectrum before and after (Sagun et al., Fig. 1).
            try TrainedSpectrumJob(spectrum: job, output: output).run(on: runtime.world)
        } else {
            try job.run(on: runtime.world)
        }
    }

    static func partition(_ text: String) throws -> BlockPartition {
        try BlockPartition(parsing: text)
    }

    func spectrumJob(_ configuration: RunConfiguration, _ point: SpectrumJob.Point, _ output: RunDirectory) throws -> SpectrumJob {
        var job = SpectrumJob(configuration: configuration, point: point, output: output)
        job.gaussNewtonSplit = ggn || residual
        job.residualSpectrum = residual
        job.vectors = try EigenvectorSelection(parsing: eigenvectors)
        job.vectorsOf = try validated(naming: displayName(ofSetting:)) { try SpectrumJob.parseSymbols(eigenvectorsOf) }
        job.saveHessian = saveHessian
        job.blocksPartition = try validated(naming: displayName(ofSetting:)) { try Self.partition(blocks) }
        try options.apply(to: &job)
        return job
    }
}
