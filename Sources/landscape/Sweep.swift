import ArgumentParser
import Cluster
import Jobs
import DistributedLinearAlgebra
import Configuration
import Workflows
import Foundation

struct Sweep: MPICommand {
    static let configuration = CommandConfiguration(
        abstract: "Many spectrum runs in one job: a [sweep] of configuration axes, run by groups of ranks, aggregated on rank 0.",
        discussion: """
            The --config file is a run configuration (as for `landscape spectrum`) plus a [sweep] table: axes as \
            dotted keys with lists of values ("data.classes" = [2, 5, 10], seed = [0, 1]), combined as a Cartesian \
            product, and/or [[sweep.points]] tables. Each point trains and takes the Hessian spectrum after training, \
            in DIR/points/<id>/ (the same layout as a `landscape spectrum` run without --checkpoint). The ranks split \
            into groups of --group-size that run points side by side; world rank 0 writes DIR/sweep/summary.csv, \
            summary.json, report.md and the plots. Re-running the same command skips finished points and redoes \
            interrupted ones; SIGTERM/SIGUSR1 stop it between points with exit status 3. For Slurm job arrays, each \
            task runs --slice I/N and a final --aggregate-only writes the report. See docs/sweeps.md.
            """)

    @Option(help: "The sweep's TOML file: a run configuration plus a [sweep] table.") var config: String
    @Option(help: "Output directory: points/<id>/ per point, sweep/ for the aggregate.") var out: String
    @Option(parsing: .unconditional, help: "Ranks per group (must divide the number of ranks; default: all ranks in one group).") var groupSize: Int?
    @Option(help: ArgumentHelp("node: each group on one host (default; the size must divide the ranks on every host), or any: consecutive ranks, straddling hosts if they fall so.", valueName: "where"))
    var groupPlacement: GroupPlacement = .node
    @Flag(help: "Continue a sweep in --out (re-running without it does the same; with it, --out must hold a sweep).") var resume = false
    @Option(help: ArgumentHelp("Run only slice I of N (0-based) of the points, e.g. a job-array task's $SLURM_ARRAY_TASK_ID/N.", valueName: "I/N"))
    var slice: String?
    @Flag(help: "Run no points; only write the sweep-level files from what is on disk.") var aggregateOnly = false
    @Option(help: "Eigensolver for every point: auto, elpa, scalapack, elpa1, elpa2, pdsyev, pdsyevd, pdsyevr or dsyevd_2stage (default: eig.solver of --config).") var solver: EigensolverChoice?
    @Option(help: ArgumentHelp("Every point's spectrum also per diagonal block: none (default), layers or weights-biases (per-block outliers in summary.csv).", valueName: "partition"))
    var blocks: String = "none"
    @Option(help: ArgumentHelp("Eigenvectors of every point's H: none (default), top:K, bottom:K or all, with their anatomy (class-mean overlap and layer masses in summary.csv).", valueName: "selection"))
    var eigenvectors: String = "none"
    @OptionGroup var memory: MemoryOption
    @Flag(help: "No progress lines on standard error.") var quiet = false

    func validate() throws {
        _ = try validated { try slice.map(Self.parseSlice) }
        if let groupSize, groupSize < 1 { throw ValidationError("--group-size must be ≥ 1") }
        if aggregateOnly && slice != nil { throw ValidationError("give --slice or --aggregate-only, not both") }
    }

    static func parseSlice(_ text: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let index = parts[0], let count = parts[1], count >= 1, (0..<count).contains(index) else {
            throw InputError("--slice '\(text)' must be I/N with 0 ≤ I < N, e.g. 0/4 for the first of four array tasks")
        }
        return (index, count)
    }

    func run(on runtime: MPIRuntime) throws {
        let world = runtime.world
        let text = try world.agree { () throws -> String in
            guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                throw InputError("--config: cannot read '\(config)' (no such file, or not UTF-8 text)")
            }
            return text
        }
        var job = SweepJob(definition: try SweepDefinition(toml: text, source: config), definitionText: text, output: RunDirectory(path: out))
        job.groupSize = groupSize
        job.groupPlacement = groupPlacement
        job.slice = try slice.map(Self.parseSlice)
        job.aggregateOnly = aggregateOnly
        job.resume = resume
        job.solver = solver
        job.blocksPartition = try Spectrum.partition(blocks)
        job.vectors = try EigenvectorSelection(parsing: eigenvectors)
        job.memoryPerRank = try memory.budget()
        job.quiet = quiet
        try job.run(on: world)
    }
}

extension GroupPlacement: ExpressibleByArgument {}
