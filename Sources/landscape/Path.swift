import ArgumentParser
import Cluster
import Configuration
import Workflows

struct Path: MPICommand {
    static let configuration = CommandConfiguration(
        abstract: "A path of low loss between minima (NEB, AutoNEB, dynamic string sampling) and the exact index at its top.",
        discussion: """
            Between --from A and --to B, or between every pair of --minima a.npy b.npy c.npy … (then also the minimum \
            spanning tree of the saddle energies, pairs.csv, tree.csv, disconnectivity.svg). --method neb: a band of --pivots \
            interior pivots moved by the nudged elastic band force (improved tangent, springs, --climb for the climbing image) \
            until every |F⊥| ≤ --tolerance; autoneb: cycles of NEB with new pivots where a segment rises above its pivots; \
            string: dynamic string sampling at loss level --level. At the highest pivot (and every --index-every K pivots): the \
            exact inertia of H and a verdict (a saddle, one basin, or not a critical point). Rank groups (--group-size) take \
            pivots side by side. Writes pivots.npy, highest.npy, profile.csv, convergence.csv, curvature.csv, path.svg, \
            convergence.svg, summary.json. SIGTERM/SIGUSR1 checkpoint the band (exit 3); --resume continues. See docs/path.md.

            The exact index assembles H on the squarest process grid of each group (hessian.block and hessian.assembly from \
            --config apply); Lanczos takes top.tolerance, top.block-size and top.max-matvecs from --config.
            """)

    @Option(help: ArgumentHelp("The run configuration (TOML): data and model (and [train] for string points); flags override it.", valueName: "run.toml"))
    var config: String?
    @Option(help: ArgumentHelp("The start point A: a params.npy.", valueName: "A.npy")) var from: String?
    @Option(help: ArgumentHelp("The end point B.", valueName: "B.npy")) var to: String?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Instead of --from/--to: three or more minima, connected pairwise.", valueName: "a.npy b.npy …"))
    var minima: [String] = []
    @Option(help: ArgumentHelp("neb, autoneb or string.", valueName: "how")) var method = "autoneb"
    @Option(help: ArgumentHelp("Interior pivots of the band (AutoNEB: of its first cycle).", valueName: "P")) var pivots = 4
    @Option(help: ArgumentHelp("AutoNEB's budget of interior pivots.", valueName: "P")) var maxPivots = 16
    @Option(help: ArgumentHelp("Spring constant k.", valueName: "k")) var spring = 1.0
    @Flag(help: "Climbing image: the highest pivot climbs to the saddle (NEB, and AutoNEB's final run).") var climb = false
    @Option(help: ArgumentHelp("Converged when every |F⊥| (the climbing pivot's |F|) is at most this.", valueName: "tol")) var tolerance = 1e-4
    @Option(help: ArgumentHelp("NEB iteration budget (AutoNEB: of its final run).", valueName: "n")) var iterations = 2000
    @Option(help: ArgumentHelp("AutoNEB: NEB iterations per cycle.", valueName: "n")) var cycleIterations = 200
    @Option(help: ArgumentHelp("AutoNEB: the most insertion cycles.", valueName: "n")) var cycles = 6
    @Option(help: ArgumentHelp("AutoNEB: insert a pivot where a segment exceeds its higher pivot by this fraction of the band's loss range.", valueName: "f"))
    var insertThreshold = 0.1
    @Option(help: ArgumentHelp("Loss samples on each segment between pivots (AutoNEB's test, the string's test, profile.csv).", valueName: "n"))
    var segmentPoints = 9
    @Option(help: ArgumentHelp("momentum or fire: how the band moves along its forces.", valueName: "how")) var optimizer = "momentum"
    @Option(help: ArgumentHelp("Momentum's learning rate η (below ≈ 2(1 + μ)/λmax of H along the band), or FIRE's base time step.", valueName: "η")) var stepSize = 0.02
    @Option(help: ArgumentHelp("Momentum μ with --optimizer momentum.", valueName: "μ")) var bandMomentum = 0.9
    @Option(help: ArgumentHelp("The longest move of a pivot in one iteration, as a fraction of the first band's spacing |B − A|/(P + 1).", valueName: "f"))
    var maxStep = 0.1
    @Option(parsing: .unconditional, help: ArgumentHelp("--method string: the loss level λ (above both end points' losses).", valueName: "λ"))
    var level: Double?
    @Option(help: ArgumentHelp("--method string: split a segment at its sampled maximum or its midpoint.", valueName: "where")) var split = "maximum"
    @Option(help: ArgumentHelp("--method string: training steps allowed for each new point ([train] settings otherwise).", valueName: "n"))
    var stringSteps = 2000
    @Option(help: ArgumentHelp("--method string: the most points the string may gain.", valueName: "n")) var stringPoints = 16
    @Option(help: ArgumentHelp("Also the exact index at every K-th pivot (0, K, 2K, …).", valueName: "K")) var indexEvery: Int?
    @Option(help: ArgumentHelp("auto (exact up to M = \(InterpolateJob.exactLimit)), exact, or lanczos (the smallest eigenvalues only).", valueName: "how"))
    var curvature = "auto"
    @Option(help: ArgumentHelp("A band checkpoint every this many iterations (0: on signals only).", valueName: "n")) var bandCheckpointEvery = 200
    @Option(help: ArgumentHelp("Ranks per group (divides the ranks); 0 = one group.", valueName: "G")) var groupSize = 0
    @Option(help: ArgumentHelp("Memory each rank may use, e.g. 4G (default: the node's available memory / ranks on the node).", valueName: "size"))
    var memoryPerRank: String?
    @Option(help: "Output directory.") var out: String
    @Flag(help: "Continue a stopped run in --out from its checkpoint (finished pairs of --minima are kept; a finished path with other settings is refused).") var resume = false
    @Flag(help: "No progress lines on standard error.") var quiet = false
    @OptionGroup(title: "Configuration keys") var settings: RunKeyOptions

    func displayName(ofSetting setting: String) -> String? { settings.displayName(ofSetting: setting) }

    func validate() throws {
        let job = try self.job(configuration: RunConfiguration())
        do { try job.settings.validate() } catch let error as InputError { throw ValidationError(error.message) }
        _ = try validated { try memoryPerRank.map { try parseByteCount($0, option: "--memory-per-rank") } }
    }

    func job(configuration: RunConfiguration) throws -> PathJob {
        let endpoints: [String]
        switch (from, to, minima.isEmpty) {
        case (let a?, let b?, true): endpoints = [a, b]
        case (nil, nil, false):
            guard minima.count >= 3 else { throw ValidationError("--minima needs three or more minima (for two, use --from and --to)") }
            endpoints = minima
        default: throw ValidationError("give --from A.npy --to B.npy, or --minima with three or more files")
        }
        var s = PathJob.Settings()
        guard let m = PathJob.Method(rawValue: method) else { throw ValidationError("--method '\(method)': use neb, autoneb or string") }
        guard let o = PathJob.Optimizer(rawValue: optimizer) else { throw ValidationError("--optimizer '\(optimizer)': use fire or momentum") }
        guard let where_ = PathJob.SplitPoint(rawValue: split) else { throw ValidationError("--split '\(split)': use maximum or midpoint") }
        guard let c = InterpolateJob.CurvatureMethod(rawValue: curvature) else { throw ValidationError("--curvature '\(curvature)': use auto, exact or lanczos") }
        (s.method, s.optimizer, s.split) = (m, o, where_)
        (s.pivots, s.maxPivots, s.spring, s.climb, s.tolerance, s.iterations) = (pivots, max(maxPivots, m == .autoneb ? maxPivots : pivots), spring, climb, tolerance, iterations)
        (s.cycleIterations, s.cycles, s.insertThreshold, s.segmentPoints) = (cycleIterations, cycles, insertThreshold, segmentPoints)
        (s.stepSize, s.momentum, s.level, s.stringSteps, s.stringPoints, s.checkpointEvery) = (stepSize, bandMomentum, level, stringSteps, stringPoints, bandCheckpointEvery)
        s.maximumStep = maxStep
        var job = PathJob(configuration: configuration, endpoints: endpoints, settings: s, output: RunDirectory(path: out))
        if let indexEvery, indexEvery < 1 { throw ValidationError("--index-every \(indexEvery): give a step of at least 1 pivot") }
        job.indexEvery = indexEvery
        job.curvatureMethod = c
        guard groupSize >= 0 else { throw ValidationError("--group-size \(groupSize): give 0 (one group) or a divisor of the number of ranks") }
        job.groupSize = groupSize
        job.memoryPerRank = try memoryPerRank.map { try parseByteCount($0, option: "--memory-per-rank") }
        job.resume = resume
        job.quiet = quiet
        return job
    }

    func run(on runtime: MPIRuntime) throws {
        let configuration = try RunConfiguration.load(path: config, overrides: settings.overrides, on: runtime.world)
        try job(configuration: configuration).run(on: runtime.world)
    }
}
