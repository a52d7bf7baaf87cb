import ArgumentParser
import Cluster
import Configuration
import Workflows

/// The run inputs and outputs `top`, `density` and `trace` share (those of `spectrum`).
struct EstimatorInputs: ParsableArguments {
    @OptionGroup var options: RunOptions
    @Option(help: ArgumentHelp("Parameters at which to estimate: a params.npy from `landscape train`.", valueName: "params.npy"))
    var checkpoint: String?
    @Option(help: ArgumentHelp("Or at a named point: init (θ₀: the seed's initialisation, or model.onnx's initialisers). With neither, the model is trained first (into DIR/train).", valueName: "init"))
    var at: String?
    @Option(help: ArgumentHelp("The exact spectrum (eigenvalues.npy from `landscape spectrum`, all M values) to measure the estimate against.", valueName: "eigenvalues.npy"))
    var compare: String?

    func validate() throws {
        guard checkpoint == nil || at == nil else { throw ValidationError("give at most one of --checkpoint params.npy or --at init") }
        if let at, at != "init" { throw ValidationError("--at '\(at)' is not a known point; use --at init or --checkpoint params.npy") }
    }
}

/// What the three commands do alike: load the configuration with both groups of flags, run the job.
protocol EstimatorCommand: MPICommand {
    static var estimator: EstimatorJob.Estimator { get }
    var inputs: EstimatorInputs { get }
    var settings: ConfigurationOptions { get }
    /// (key, text) of the command's own flags.
    var ownOverrides: [(key: String, text: String)] { get }
}

extension EstimatorCommand {
    func displayName(ofSetting setting: String) -> String? {
        if ownOverrides.contains(where: { $0.key == setting }) { return ConfigurationKey.named(setting)?.flag }
        return settings.displayName(ofSetting: setting)
    }

    func validateOwn() throws { try validateKeyFlags(ownOverrides) }

    func run(on runtime: MPIRuntime) throws {
        let configuration = try inputs.options.configuration(overrides: settings.overrides + ownOverrides, on: runtime)
        let point: SpectrumJob.Point? = inputs.checkpoint.map { .checkpoint($0) } ?? (inputs.at == nil ? nil : .initialization)
        var job = EstimatorJob(Self.estimator, configuration: configuration, point: point, output: inputs.options.output)
        job.compare = inputs.compare
        try inputs.options.apply(to: &job)
        // `landscape top` has a flag for every [top] key, typed or not; other settings as typed.
        let topFlags = Self.estimator == .top
        job.settingName = { key in
            topFlags && key.hasPrefix("top.") ? ConfigurationKey.named(key)?.flag : displayName(ofSetting: key)
        }
        try job.run(on: runtime.world)
    }
}

struct Top: EstimatorCommand {
    static let configuration = CommandConfiguration(
        abstract: "The k largest and/or smallest eigenpairs of H, G or R by Lanczos, matrix-free (every product a data-parallel HVP).",
        discussion: """
            Block Lanczos with full re-orthogonalisation and thick restart when the basis is full (its size from the memory \
            budget, or --basis). A pair is converged when its true residual ‖Av − θv‖ ≤ tolerance·|θ₁|. Writes eigenvalues.npy, \
            eigenvectors.npy (M × K), convergence.svg, summary.json (residuals, matvecs, seconds, overhead) and timings.json. \
            See docs/estimators.md.
            """)
    static let estimator = EstimatorJob.Estimator.top

    @OptionGroup var inputs: EstimatorInputs
    @Option(parsing: .unconditional, help: ArgumentHelp("hessian, gauss-newton or residual. [top.operator]", valueName: "name")) var `operator`: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Eigenpairs wanted at each end. [top.k]", valueName: "k")) var k: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("largest, smallest or both. [top.which]", valueName: "end")) var which: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Residual tolerance relative to |θ₁|. [top.tolerance]", valueName: "tol")) var tolerance: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Directions applied together. [top.block-size]", valueName: "b")) var blockSize: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Basis vectors kept before a thick restart; 0 = what the memory budget allows. [top.basis]", valueName: "n")) var basis: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Operator applications allowed. [top.max-matvecs]", valueName: "n")) var maxMatvecs: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Look for more copies of multiple eigenvalues before accepting (up to 2× the matvecs). [top.check-multiplicity]", valueName: "true|false")) var checkMultiplicity: String?
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    var ownOverrides: [(key: String, text: String)] {
        keyFlags([("top.operator", `operator`), ("top.k", k), ("top.which", which), ("top.tolerance", tolerance), ("top.block-size", blockSize),
               ("top.basis", basis), ("top.max-matvecs", maxMatvecs), ("top.check-multiplicity", checkMultiplicity)])
    }
    func validate() throws { try validateOwn() }
}

struct Density: EstimatorCommand {
    static let configuration = CommandConfiguration(
        abstract: "The spectral density of H, G or R by stochastic Lanczos quadrature, matrix-free.",
        discussion: """
            --probes independent Rademacher or Gaussian probes, --lanczos-steps steps each (fully re-orthogonalised); groups \
            of ranks (--group-size) run probes in parallel, data-parallel inside a group. Writes quadrature_nodes.npy and \
            quadrature_weights.npy (the measure, weights summing to 1), density.csv and density.svg (Gaussian broadening σ, \
            log density axis), summary.json (tr A and tr A² from the quadrature, mass below −σ). See docs/estimators.md.
            """)
    static let estimator = EstimatorJob.Estimator.density

    @OptionGroup var inputs: EstimatorInputs
    @Option(parsing: .unconditional, help: ArgumentHelp("hessian, gauss-newton or residual. [density.operator]", valueName: "name")) var `operator`: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Probe vectors n_v. [density.probes]", valueName: "n")) var probes: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Lanczos steps m per probe (exact to degree 2m − 1). [density.steps]", valueName: "m")) var lanczosSteps: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("rademacher or gaussian. [density.distribution]", valueName: "name")) var distribution: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Gaussian broadening σ; 0 = 1 % of the nodes' range. [density.sigma]", valueName: "σ")) var sigma: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Points of density.csv. [density.grid-points]", valueName: "n")) var gridPoints: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Ranks per group (divides the ranks); 0 = one group. [density.group-size]", valueName: "g")) var groupSize: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("node: each group on one host (default; g must divide the ranks on every host), or any: consecutive ranks, straddling hosts if they fall so. [density.group-placement]", valueName: "where"))
    var groupPlacement: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Probes applied together. [density.block-size]", valueName: "b")) var blockSize: String?
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    var ownOverrides: [(key: String, text: String)] {
        keyFlags([("density.operator", `operator`), ("density.probes", probes), ("density.steps", lanczosSteps), ("density.distribution", distribution),
               ("density.sigma", sigma), ("density.grid-points", gridPoints), ("density.group-size", groupSize), ("density.group-placement", groupPlacement), ("density.block-size", blockSize)])
    }
    func validate() throws { try validateOwn() }
}

struct Trace: EstimatorCommand {
    static let configuration = CommandConfiguration(
        abstract: "tr H, tr H² (or of G, R) by Hutchinson or Hutch++, with the standard error, matrix-free.",
        discussion: """
            Stops when the standard error is ≤ --tolerance·|estimate| (after --min-samples samples) or at --max-matvecs. \
            Writes summary.json (estimate, standard error, matvecs, history) and trace.svg. See docs/estimators.md.
            """)
    static let estimator = EstimatorJob.Estimator.trace

    @OptionGroup var inputs: EstimatorInputs
    @Option(parsing: .unconditional, help: ArgumentHelp("hessian, gauss-newton or residual. [trace.operator]", valueName: "name")) var `operator`: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("hutchinson or hutch++. [trace.method]", valueName: "name")) var method: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("1 for tr A, 2 for tr A². [trace.power]", valueName: "p")) var power: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("rademacher or gaussian. [trace.distribution]", valueName: "name")) var distribution: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Stop at this relative standard error; 0 = spend the budget. [trace.tolerance]", valueName: "tol")) var tolerance: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Operator applications allowed. [trace.max-matvecs]", valueName: "n")) var maxMatvecs: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("No tolerance stop before this many samples. [trace.min-samples]", valueName: "n")) var minSamples: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Probes applied together. [trace.block-size]", valueName: "b")) var blockSize: String?
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    var ownOverrides: [(key: String, text: String)] {
        keyFlags([("trace.operator", `operator`), ("trace.method", method), ("trace.power", power), ("trace.distribution", distribution),
               ("trace.tolerance", tolerance), ("trace.max-matvecs", maxMatvecs), ("trace.min-samples", minSamples), ("trace.block-size", blockSize)])
    }
    func validate() throws { try validateOwn() }
}
