import ArgumentParser
import Cluster
import Jobs
import Configuration
import Workflows

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks of this build on this machine (not tests).",
        discussion: """
            `landscape bench throughput` times the data-parallel gradient and curvature products. The scaling study \
            over rank counts launches mpirun once per rank count, so it is a script: bench/scaling.sh (docs/scaling.md).
            """,
        subcommands: [Throughput.self])
}

struct Throughput: MPICommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Loss, gradient, Hessian-vector and Gauss–Newton-vector product throughput against dgemm on every rank.",
        discussion: """
            On the configured data and model (default: 1000 Gaussian-cluster samples in R^100, MLP 100-30-30-10) at the \
            seed's initialisation, times the data-parallel loss, loss + gradient, one-direction and B-direction HVP and \
            GGN products (shard products + one allreduce, as the other commands do), each after --warmup untimed calls, \
            over at least --repetitions calls and --min-seconds; the slowest rank's time per call counts. Prints a \
            Markdown table: seconds per call, samples (× directions) per second, GFLOP/s of the dgemms the code issues \
            (element-wise work not counted; docs/scaling.md), the percentage of the dgemm rate all ranks reach at once \
            in the same job, and each product's time per direction relative to one gradient. --out DIR also writes \
            throughput.json and throughput.md. bench/throughput.sh runs the issue's two models on 1 and 2 ranks.
            """)

    @Option(help: ArgumentHelp("The run's TOML configuration (data, model, seed); flags override it.", valueName: "run.toml"))
    var config: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Directions B of the batched HVP and GGN products.", valueName: "B")) var directions = 64
    @Option(parsing: .unconditional, help: "Timed calls per operation, at least.") var repetitions = 5
    @Option(parsing: .unconditional, help: ArgumentHelp("Time each operation for at least this long.", valueName: "seconds")) var minSeconds = 1.0
    @Option(parsing: .unconditional, help: "Untimed calls before timing each operation.") var warmup = 1
    @Option(parsing: .unconditional, help: ArgumentHelp("Size n of the n × n × n dgemm measured on every rank at once.", valueName: "n")) var dgemmSize = 1000
    @Option(help: "Output directory for throughput.json and throughput.md (optional).") var out: String?
    @Flag(help: "No progress lines on standard error.") var quiet = false
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    func displayName(ofSetting setting: String) -> String? { settings.displayName(ofSetting: setting) }

    func validate() throws {
        guard directions >= 1 else { throw ValidationError("--directions must be ≥ 1") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be ≥ 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be ≥ 0") }
        guard minSeconds >= 0 else { throw ValidationError("--min-seconds must be ≥ 0") }
        guard dgemmSize >= 16 else { throw ValidationError("--dgemm-size must be ≥ 16") }
    }

    func run(on runtime: MPIRuntime) throws {
        let configuration = try RunConfiguration.load(path: config, overrides: settings.overrides, on: runtime.world)
        var job = ThroughputBenchmark(configuration: configuration)
        job.directions = directions
        job.repetitions = repetitions
        job.minimumSeconds = minSeconds
        job.warmup = warmup
        job.dgemmSize = dgemmSize
        job.output = out.map { RunDirectory(path: $0) }
        job.quiet = quiet
        try job.run(on: runtime)
    }
}
