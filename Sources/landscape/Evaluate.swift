import ArgumentParser
import Cluster
import Jobs
import Configuration
import Workflows
import Objectives

struct Evaluate: MPICommand {
    static let configuration = CommandConfiguration(
        abstract: "Loss, accuracy and gradient norm of a parameter vector on the configured data.",
        discussion: """
            Loads the data of --config (each rank its shard) and the parameter vector --params (M float64 values in the \
            layout of docs/formats.md), prints the mean loss, accuracy and ‖∇L‖, and writes summary.json (with the run header of docs/formats.md), timings.json and config.toml \
            into --out; with --gradient also ∇L (gradient.npy), with --products V.npy the products C·vⱼ of the mean \
            curvature C (products.npy): the numbers to check against another implementation.
            """)

    @Option(help: ArgumentHelp("The run configuration (TOML).", valueName: "run.toml")) var config: String?
    @Option(help: ArgumentHelp("The parameter vector, e.g. a run's params.npy (default: θ₀, the initialisers of model.onnx or the seed's draw).", valueName: "P.npy")) var params: String?
    @Option(help: "Output directory.") var out: String
    @Flag(help: "Also write ∇L (the mean over the samples) as gradient.npy.") var gradient = false
    @Option(help: ArgumentHelp("Directions V, an NPY of shape (M,) or (B, M), one per row: write their products with --curvature as products.npy (same shape).", valueName: "V.npy"))
    var products: String?
    @Option(help: ArgumentHelp("The matrix of --products: hessian, gauss-newton or residual.", valueName: "C")) var curvature: CurvatureKind = .hessian
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    func displayName(ofSetting setting: String) -> String? { settings.displayName(ofSetting: setting) }

    func run(on runtime: MPIRuntime) throws {
        let configuration = try RunConfiguration.load(path: config, overrides: settings.overrides, on: runtime.world)
        var job = EvaluateJob(configuration: configuration, parameters: params, output: RunDirectory(path: out))
        job.writesGradient = gradient
        job.directions = products
        job.curvature = curvature
        try job.run(on: runtime.world)
    }
}

extension CurvatureKind: ExpressibleByArgument {}
