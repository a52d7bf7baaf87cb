import ArgumentParser
import Cluster
import Jobs
import Configuration
import Workflows

struct Evaluate: MPICommand {
    static let configuration = CommandConfiguration(
        abstract: "Loss, accuracy and gradient norm of a parameter vector on the configured data.",
        discussion: """
            Loads the data of --config (each rank its shard) and the parameter vector --params (M float64 values in the \
            layout of docs/formats.md), prints the mean loss, accuracy and ‖∇L‖, and writes summary.json (with the run header of docs/formats.md), timings.json and config.toml \
            into --out.
            """)

    @Option(help: ArgumentHelp("The run configuration (TOML).", valueName: "run.toml")) var config: String?
    @Option(help: ArgumentHelp("The parameter vector, e.g. a run's params.npy.", valueName: "P.npy")) var params: String
    @Option(help: "Output directory.") var out: String
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    func displayName(ofSetting setting: String) -> String? { settings.displayName(ofSetting: setting) }

    func run(on runtime: MPIRuntime) throws {
        let configuration = try RunConfiguration.load(path: config, overrides: settings.overrides, on: runtime.world)
        try EvaluateJob(configuration: configuration, parameters: params, output: RunDirectory(path: out)).run(on: runtime.world)
    }
}
