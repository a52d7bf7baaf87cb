import ArgumentParser
import Cluster
import Configuration
import Jobs
import PathJobs
import Workflows

struct Path: TableCommand {
    static let table = "path"
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

            --polish: the end points are first polished to certified minima of the energy L + λ‖θ‖²/2 (--l2 λ; \
            eigenvector-following with the exact Hessian, the certificate of `landscape critical`), the path runs between \
            them, and the band's highest pivot is refined to a certified index-1 saddle; ends/a.npy, ends/b.npy and \
            saddle.npy are written, and summary.json says what each point is.

            The exact index assembles H on the squarest process grid of each group (hessian.block and hessian.assembly from \
            --config apply); Lanczos takes top.tolerance, top.block-size and top.max-matvecs from --config.
            """)

    @OptionGroup var options: RunOptions
    @Option(help: ArgumentHelp("The start point A: a params.npy.", valueName: "A.npy")) var from: String?
    @Option(help: ArgumentHelp("The end point B.", valueName: "B.npy")) var to: String?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Instead of --from/--to: three or more minima, connected pairwise.", valueName: "a.npy b.npy …"))
    var minima: [String] = []
    @Option(parsing: .unconditional, help: ArgumentHelp("neb, autoneb (default) or string. [path.method]", valueName: "how")) var method: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Interior pivots of the band (AutoNEB: of its first cycle); 4. [path.pivots]", valueName: "P")) var pivots: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("AutoNEB's budget of interior pivots; 16. [path.max-pivots]", valueName: "P")) var maxPivots: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Spring constant k; 1. [path.spring]", valueName: "k")) var spring: String?
    @Flag(help: "Climbing image: the highest pivot climbs to the saddle (NEB, and AutoNEB's final run). [path.climb]") var climb = false
    @Option(parsing: .unconditional, help: ArgumentHelp("Converged when every |F⊥| (the climbing pivot's |F|) is at most this; 1e-4. [path.tolerance]", valueName: "tol"))
    var tolerance: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("NEB iteration budget (AutoNEB: of its final run); 2000. [path.iterations]", valueName: "n")) var iterations: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("AutoNEB: NEB iterations per cycle; 200. [path.cycle-iterations]", valueName: "n")) var cycleIterations: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("AutoNEB: the most insertion cycles; 6. [path.cycles]", valueName: "n")) var cycles: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("AutoNEB: insert a pivot where a segment exceeds its higher pivot by this fraction of the band's loss range; 0.1. [path.insert-threshold]", valueName: "f"))
    var insertThreshold: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Loss samples on each segment between pivots (AutoNEB's test, the string's test, profile.csv); 9. [path.segment-points]", valueName: "n"))
    var segmentPoints: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("momentum (default) or fire: how the band moves along its forces. [path.optimizer]", valueName: "how")) var optimizer: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Momentum's learning rate η (below ≈ 2(1 + μ)/λmax of H along the band), or FIRE's base time step; 0.02. [path.step-size]", valueName: "η"))
    var stepSize: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Momentum μ with --optimizer momentum; 0.9. [path.momentum]", valueName: "μ")) var bandMomentum: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("The longest move of a pivot in one iteration, as a fraction of the first band's spacing |B − A|/(P + 1); 0.1. [path.max-step]", valueName: "f"))
    var maxStep: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("--method string: the loss level λ (above both end points' losses). [path.level]", valueName: "λ"))
    var level: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("--method string: split a segment at its sampled maximum (default) or its midpoint. [path.split]", valueName: "where")) var split: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("--method string: training steps allowed for each new point ([train] settings otherwise); 2000. [path.string-steps]", valueName: "n"))
    var stringSteps: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("--method string: the most points the string may gain; 16. [path.string-points]", valueName: "n")) var stringPoints: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Also the exact index at every K-th pivot (0, K, 2K, …). [path.index-every]", valueName: "K")) var indexEvery: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("auto (exact up to M = \(InterpolateJob.exactLimit); default), exact, or lanczos (the smallest eigenvalues only). [path.curvature]", valueName: "how"))
    var curvature: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("A band checkpoint every this many iterations (0: on signals only); 200. [path.checkpoint-every]", valueName: "n")) var bandCheckpointEvery: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Ranks per group (divides the ranks); 0 = one group (default). [path.group-size]", valueName: "G")) var groupSize: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("node: each group on one host (default; G must divide the ranks on every host), or any: consecutive ranks, straddling hosts if they fall so. [path.group-placement]", valueName: "where"))
    var groupPlacement: String?
    @Flag(help: "Polish the end points to certified minima (eigenvector-following at index 0, exact Hessian) before the band, and refine the band's highest pivot to a certified index-1 saddle after it (NEB, AutoNEB). [path.polish]")
    var polish = false
    @Option(parsing: .unconditional, help: ArgumentHelp("The energy gains the L2 term λ‖θ‖²/2 (band, profile, curvature, polish; neb and autoneb); 0. [path.l2]", valueName: "λ"))
    var l2: String?
    @OptionGroup(title: "Configuration keys") var settings: RunKeyOptions

    /// (key, text) of the `[path]` flags given.
    var tableOverrides: [(key: String, text: String)] {
        let pairs: [(String, String?)] = [
            ("path.method", method), ("path.pivots", pivots), ("path.max-pivots", maxPivots), ("path.spring", spring),
            ("path.climb", climb ? "true" : nil), ("path.tolerance", tolerance), ("path.iterations", iterations),
            ("path.cycle-iterations", cycleIterations), ("path.cycles", cycles), ("path.insert-threshold", insertThreshold),
            ("path.segment-points", segmentPoints), ("path.optimizer", optimizer), ("path.step-size", stepSize),
            ("path.momentum", bandMomentum), ("path.max-step", maxStep), ("path.level", level), ("path.split", split),
            ("path.string-steps", stringSteps), ("path.string-points", stringPoints), ("path.index-every", indexEvery),
            ("path.curvature", curvature), ("path.checkpoint-every", bandCheckpointEvery), ("path.group-size", groupSize), ("path.group-placement", groupPlacement),
            ("path.polish", polish ? "true" : nil), ("path.l2", l2),
        ]
        return keyFlags(pairs)
    }

    func validate() throws {
        try validateKeyFlags(tableOverrides)
        _ = try endpoints()
    }

    /// --from A --to B, or --minima with three or more files.
    func endpoints() throws -> [String] {
        switch (from, to, minima.isEmpty) {
        case (let a?, let b?, true): return [a, b]
        case (nil, nil, false):
            guard minima.count >= 3 else { throw ValidationError("--minima needs three or more minima (for two, use --from and --to)") }
            return minima
        default: throw ValidationError("give --from A.npy --to B.npy, or --minima with three or more files")
        }
    }

    func run(on runtime: MPIRuntime) throws {
        var job = PathJob(configuration: try configuration(on: runtime),
                          endpoints: try endpoints(), output: options.output)
        try options.apply(to: &job)
        try job.run(on: runtime.world)
    }
}
