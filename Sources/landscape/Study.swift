import ArgumentParser
import Cluster
import Jobs
import Studies
import Configuration
import Foundation
import Workflows

struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Presets that run several jobs as one study and write a report.",
        subcommands: [LargeSmallBatch.self, Connectivity.self])

    /// A study's TOML text, read on rank 0 and shared (one refusal on every rank if it cannot be read).
    static func readFile(_ path: String, example: String, on world: Communicator) throws -> String {
        try world.agree { () throws -> String in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw InputError("--config: cannot read '\(path)' (a run configuration plus a [study] table, e.g. \(example))")
            }
            return text
        }
    }
}

struct LargeSmallBatch: MPICommand {
    static let configuration = CommandConfiguration(
        commandName: "lb-sb",
        abstract: "Sagun et al.'s large-batch → small-batch study: two training parts, the line between their ends, both spectra, report.md.",
        discussion: """
            --config is a run configuration plus a [study] table (examples/lb-sb.toml): Part I trains with SGD and batch \
            study.large-batch for study.large-steps steps, Part II continues from its end point with study.small-batch and \
            the same learning rate; then the line between the two end points (study.range, training and held-out data), the \
            Hessian at both ends (study.spectrum: exact, top or none) and DIR/report.md. Re-running the same command skips \
            the parts already finished and continues a stopped one; a part run with other settings is refused (exit 2). See \
            docs/lb-sb.md.
            """)

    @Option(help: ArgumentHelp("The study's TOML file: a run configuration plus a [study] table.", valueName: "study.toml")) var config: String
    @Option(help: "Output directory: large/, small/, line/, spectrum-large/, spectrum-small/ and report.md.") var out: String
    @OptionGroup var memory: MemoryOption
    @Option(help: ArgumentHelp("Override study.large-batch (B₁).", valueName: "B")) var largeBatch: Int?
    @Option(help: ArgumentHelp("Override study.large-steps (S₁).", valueName: "n")) var largeSteps: Int?
    @Option(help: ArgumentHelp("Override study.small-batch (B₂).", valueName: "B")) var smallBatch: Int?
    @Option(help: ArgumentHelp("Override study.small-steps (S₂).", valueName: "n")) var smallSteps: Int?
    @Flag(help: "No progress lines on standard error.") var quiet = false
    @OptionGroup(title: "Configuration keys (override the file's run configuration)") var settings: ConfigurationOptions

    func displayName(ofSetting setting: String) -> String? { settings.displayName(ofSetting: setting) }

    func validate() throws {
        for (flag, value) in [("--large-batch", largeBatch), ("--large-steps", largeSteps), ("--small-batch", smallBatch), ("--small-steps", smallSteps)] {
            if let value, value < 1 { throw ValidationError("\(flag) \(value): give a whole number ≥ 1") }
        }
    }

    func run(on runtime: MPIRuntime) throws {
        let world = runtime.world
        let text = try Study.readFile(config, example: "examples/lb-sb.toml", on: world)
        var study = try LargeSmallBatchStudy(toml: text, source: config)
        for (key, value) in settings.overrides { try study.base.override(key, text: value) }
        if let largeBatch { study.largeBatch = largeBatch }
        if let largeSteps { study.largeSteps = largeSteps }
        if let smallBatch { study.smallBatch = smallBatch }
        if let smallSteps { study.smallSteps = smallSteps }
        var job = LargeSmallBatchStudyJob(study: study, output: RunDirectory(path: out))
        job.memoryPerRank = try memory.budget()
        job.quiet = quiet
        try job.run(on: world)
    }
}

struct Connectivity: MPICommand {
    static let configuration = CommandConfiguration(
        abstract: "Mode connectivity: minima from several seeds and widths, connected by landscape path; barriers and the index at each top in report.md.",
        discussion: """
            --config is a run configuration plus a [study] table (examples/connectivity.toml): for every width in study.widths, \
            a minimum is trained with [train] from every seed in study.seeds on one dataset (data.seed, or seed), and the minima \
            are connected pairwise by `landscape path` with the file's [path] settings (path.method, path.pivots, … as its \
            flags), with the minimum spanning tree of the saddles for three or more seeds. DIR/report.md tabulates each path's barrier against the straight line's and the exact \
            index at its highest pivot, per width. Re-running the same command skips the parts already finished and \
            continues a stopped one; a part run with other settings is refused (exit 2). See docs/connectivity.md.
            """)

    @Option(help: ArgumentHelp("The study's TOML file: a run configuration plus a [study] table.", valueName: "study.toml")) var config: String
    @Option(help: "Output directory: <width>/minimum-<seed>/, <width>/paths/ and report.md.") var out: String
    @OptionGroup var memory: MemoryOption
    @Flag(help: "No progress lines on standard error.") var quiet = false
    @OptionGroup(title: "Configuration keys (override the file's run configuration)") var settings: ConfigurationOptions

    func displayName(ofSetting setting: String) -> String? { settings.displayName(ofSetting: setting) }

    func validate() throws {
    }

    func run(on runtime: MPIRuntime) throws {
        let world = runtime.world
        let text = try Study.readFile(config, example: "examples/connectivity.toml", on: world)
        var study = try ConnectivityStudy(toml: text, source: config)
        for (key, value) in settings.overrides { try study.base.override(key, text: value) }
        var job = ConnectivityStudyJob(study: study, output: RunDirectory(path: out))
        job.memoryPerRank = try memory.budget()
        job.quiet = quiet
        try job.run(on: world)
    }
}
