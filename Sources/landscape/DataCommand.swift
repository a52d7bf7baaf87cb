import ArgumentParser
import Cluster
import Jobs
import Configuration
import Workflows

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Datasets as the other commands see them.",
        subcommands: [DataExport.self])
}

struct DataExport: MPICommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the configured dataset as X.npy (N × d) and y.npy (labels or N × k targets).",
        discussion: """
            The data exactly as training sees it (subset, standardisation and all), so that another tool can reproduce \
            our numbers. Each rank builds its shard; rank 0 gathers and writes X.npy, y.npy and config.toml into --out.
            """)

    @Option(help: ArgumentHelp("The run configuration (TOML); only [data] and seed matter.", valueName: "run.toml")) var config: String?
    @Option(help: "Output directory.") var out: String
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    func displayName(ofSetting setting: String) -> String? { settings.displayName(ofSetting: setting) }

    func run(on runtime: MPIRuntime) throws {
        let configuration = try RunConfiguration.load(path: config, overrides: settings.overrides, on: runtime.world)
        try DataExportJob(configuration: configuration, output: RunDirectory(path: out)).run(on: runtime.world)
    }
}
