import ArgumentParser
import Cluster
import CriticalJobs
import Jobs
import PathJobs
import Configuration
import Workflows

/// `--memory-per-rank`, declared and parsed in one place for every command that plans memory.
struct MemoryOption: ParsableArguments {
    @Option(help: ArgumentHelp("Memory each rank may use, e.g. 4G (default: the node's available memory / ranks on the node).", valueName: "size"))
    var memoryPerRank: String?

    /// Refused before MPI starts.
    func validate() throws { _ = try budget() }

    /// Bytes each rank may use; nil for the default.
    func budget() throws -> Int? {
        try validated { try memoryPerRank.map { try parseByteCount($0, option: "--memory-per-rank") } }
    }
}

/// What every command that writes a resumable run directory takes: the configuration, the
/// directory, whether to continue it, progress lines, and the memory budget.
struct RunOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The run configuration (TOML): data, model and the command's table; flags override it.", valueName: "run.toml"))
    var config: String?
    @Option(help: "Output directory.") var out: String
    @Flag(help: "Continue a run stopped by SIGTERM/SIGUSR1 (exit status 3) in --out from its checkpoint: finished work is kept, a finished run with other settings is refused.")
    var resume = false
    @Flag(help: "No progress lines on standard error.") var quiet = false
    @OptionGroup var memory: MemoryOption

    var output: RunDirectory { RunDirectory(path: out) }

    /// The configuration file, then `overrides` (the flags standing for configuration keys).
    func configuration(overrides: [(key: String, text: String)], on runtime: MPIRuntime) throws -> RunConfiguration {
        try RunConfiguration.load(path: config, overrides: overrides, on: runtime.world)
    }

    /// The job's resume, progress and memory settings from these flags.
    func apply<Job: RunSettings>(to job: inout Job) throws {
        job.memoryPerRank = try memory.budget()
        job.resume = resume
        job.quiet = quiet
    }
}

/// A job that takes `RunOptions`' settings.
protocol RunSettings {
    var memoryPerRank: Int? { get set }
    var resume: Bool { get set }
    var quiet: Bool { get set }
}

extension CriticalJob: RunSettings {}
extension PathJob: RunSettings {}
extension InterpolateJob: RunSettings {}
extension SpectrumJob: RunSettings {}
extension EstimatorJob: RunSettings {}

/// A command with a configuration table of its own (`[path]`, `[critical]`, `[interpolate]`): a
/// flag for each of its keys, the run keys' flags, and `RunOptions`.
protocol TableCommand: MPICommand {
    /// The table's name: its keys are `table.key`.
    static var table: String { get }
    /// (key, text) of the table's flags given.
    var tableOverrides: [(key: String, text: String)] { get }
    var options: RunOptions { get }
    var settings: RunKeyOptions { get }
}

extension TableCommand {
    /// A setting as the user gave it: the flag when typed; a key of the command's table the flag
    /// also when there is no --config file (where else could it come from); else the key.
    func displayName(ofSetting setting: String) -> String? {
        if tableOverrides.contains(where: { $0.key == setting }) || (options.config == nil && setting.hasPrefix(Self.table + ".")) {
            return ConfigurationKey.named(setting)?.flag
        }
        return settings.displayName(ofSetting: setting)
    }

    /// The file, then the run keys' flags, then the table's.
    func configuration(on runtime: MPIRuntime) throws -> RunConfiguration {
        try options.configuration(overrides: settings.overrides + tableOverrides, on: runtime)
    }
}
