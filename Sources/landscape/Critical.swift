import ArgumentParser
import Cluster
import Configuration
import CriticalPoints
import Workflows

struct Critical: MPICommand {
    static let configuration = CommandConfiguration(
        abstract: "Critical points ∇L = 0 of every index, their energy and exact index, and the index–energy law (Pennington & Bahri).",
        discussion: """
            From --starts K starting points (--start init: the initialisation at seeds seed, seed + 1, … scaled by --scales in \
            turn; trajectory: the [train] run's state every --trajectory-every steps; files: --points a.npy …), each search \
            solves ∇L = 0 by Newton steps — --method newton: the exact H assembled at every iterate; gauss-newton-mr: MINRES on \
            Hessian–vector products (Newton-MR); gradient-norm: steepest descent on ½‖∇L‖² — with an Armijo line search on \
            ½‖∇L‖² and its gradient H∇L as the fallback far from a solution, until ‖∇L‖ ≤ --tolerance × ‖∇L‖ at the start or \
            --iterations. At each point: ε (the loss), ‖∇L‖, the exact spectrum of H (--curvature lanczos: the smallest \
            eigenvalues), the index α = negative/M, and whether an earlier start found the same point. Then the fit \
            α = α₀|(ε − ε_c)/ε_c|^p with p free. Rank groups (--group-size) take starts side by side. Writes critical.csv, \
            trace.csv, points/<k>.npy, spectra/<k>.npy, index-energy.svg, spectra.svg, convergence.svg, report.md, \
            summary.json. SIGTERM/SIGUSR1 end the run after the current round (exit 3); --resume continues. Needs \
            model.loss = "mse". See docs/critical.md.
            """)

    @Option(help: ArgumentHelp("The run configuration (TOML): data, model, [train] for --start trajectory; flags override it.", valueName: "run.toml"))
    var config: String?
    @Option(help: ArgumentHelp("newton, gauss-newton-mr or gradient-norm.", valueName: "how")) var method = "newton"
    @Option(help: ArgumentHelp("Starting points: init, trajectory or files.", valueName: "where")) var start = "init"
    @Option(parsing: .unconditional, help: ArgumentHelp("The number of starting points (--start files: the files).", valueName: "K")) var starts = 8
    @Option(help: ArgumentHelp("--start init: scale factors of the initialisation, used in turn.", valueName: "a,b,…")) var scales = "1"
    @Option(parsing: .unconditional, help: ArgumentHelp("--start trajectory: training steps between starts.", valueName: "R")) var trajectoryEvery = 100
    @Option(parsing: .upToNextOption, help: ArgumentHelp("--start files: the starting points.", valueName: "a.npy b.npy …"))
    var points: [String] = []
    @Option(parsing: .unconditional, help: ArgumentHelp("Converged when ‖∇L‖ ≤ tol × ‖∇L‖ at the start.", valueName: "tol")) var tolerance = 1e-10
    @Option(parsing: .unconditional, help: ArgumentHelp("Newton iterations per start.", valueName: "n")) var iterations = 100
    @Option(parsing: .unconditional, help: ArgumentHelp("MINRES iterations per Newton step (default M).", valueName: "n")) var innerIterations: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("The longest step ‖θₖ₊₁ − θₖ‖.", valueName: "r")) var maxStep = 1.0
    @Option(parsing: .unconditional, help: ArgumentHelp("Same point when ε and every eigenvalue agree within this fraction.", valueName: "f")) var duplicateTolerance = 1e-6
    @Option(parsing: .unconditional, help: ArgumentHelp("Unconverged searches that ended with ‖∇L‖ ≤ f × the start's are near-critical points, fitted apart.", valueName: "f"))
    var nearCritical = 1e-3
    @Option(help: ArgumentHelp("auto (exact up to M = \(InterpolateJob.exactLimit)), exact, or lanczos (the smallest eigenvalues only).", valueName: "how"))
    var curvature = "auto"
    @Option(parsing: .unconditional, help: ArgumentHelp("Ranks per group (divides the ranks); 0 = one group.", valueName: "G")) var groupSize = 0
    @Option(help: ArgumentHelp("Memory each rank may use, e.g. 4G (default: the node's available memory / ranks on the node).", valueName: "size"))
    var memoryPerRank: String?
    @Option(help: "Output directory.") var out: String
    @Flag(help: "Continue a stopped run in --out (finished starts are kept).") var resume = false
    @Flag(help: "No progress lines on standard error.") var quiet = false
    @OptionGroup(title: "Configuration keys") var settings: RunKeyOptions

    func displayName(ofSetting setting: String) -> String? { settings.displayName(ofSetting: setting) }

    func validate() throws {
        let job = try self.job(configuration: RunConfiguration())
        do { try job.settings.validate() } catch let error as InputError { throw ValidationError(error.message) }
    }

    func job(configuration: RunConfiguration) throws -> CriticalJob {
        var s = CriticalJob.Settings()
        guard let m = CriticalPointSearch.Method(rawValue: method) else { throw ValidationError("--method '\(method)': use newton, gauss-newton-mr or gradient-norm") }
        guard let where_ = CriticalJob.Start(rawValue: start) else { throw ValidationError("--start '\(start)': use init, trajectory or files") }
        guard let c = InterpolateJob.CurvatureMethod(rawValue: curvature) else { throw ValidationError("--curvature '\(curvature)': use auto, exact or lanczos") }
        let factors = scales.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !factors.contains(nil) else { throw ValidationError("--scales '\(scales)': give comma-separated numbers, e.g. 0.5,1,2") }
        (s.method, s.start, s.scales, s.trajectoryEvery) = (m, where_, factors.map { $0! }, trajectoryEvery)
        (s.tolerance, s.iterations, s.innerIterations, s.maximumStep, s.duplicateTolerance) = (tolerance, iterations, innerIterations, maxStep, duplicateTolerance)
        s.nearCriticalTolerance = nearCritical
        s.starts = where_ == .files ? max(points.count, 1) : starts
        var job = CriticalJob(configuration: configuration, settings: s, output: RunDirectory(path: out))
        job.points = points
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
