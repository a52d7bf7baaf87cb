import ArgumentParser
import Cluster
import Configuration
import CriticalJobs
import Jobs
import CriticalPoints
import Workflows

struct Critical: TableCommand {
    static let table = "critical"
    static let configuration = CommandConfiguration(
        abstract: "Critical points ∇L = 0 of every index, their energy and exact index, and the index–energy law (Pennington & Bahri).",
        discussion: """
            From --starts K starting points (--start init: the initialisation at seeds seed, seed + 1, … scaled by --scales in \
            turn; trajectory: the [train] run's state every --trajectory-every steps; trajectory-loss: the states of the whole [train] \
            run nearest K evenly spaced energies; files: --points a.npy …), each search \
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

    @OptionGroup var options: RunOptions
    @Option(parsing: .unconditional, help: ArgumentHelp("newton (default), gauss-newton-mr, gradient-norm, eigenvector-following (aims at --index; H assembled), or min-mode-following (aims at --index; matrix-free). [critical.method]", valueName: "how")) var method: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("eigenvector-following, min-mode-following: the index k aimed at (negative eigenvalues); 0. [critical.index]", valueName: "k")) var index: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("eigenvector-following, min-mode-following: the first trust radius of the uphill and downhill subspaces; 0.1. [critical.trust-radius]", valueName: "r")) var trustRadius: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("The energy gains the L2 term λ‖θ‖²/2; 0. [critical.l2]", valueName: "λ")) var l2: String?
    @Flag(help: "Deflate the model's continuous symmetries (linear: GL(h), or O(h) with --l2; ReLU: rescaling) from the steps and the index count. [critical.project-symmetries]") var projectSymmetries = false
    @Option(parsing: .unconditional, help: ArgumentHelp("min-mode-following: exact eigenvector-following steps (H assembled) once ‖∇E‖ ≤ f × the start's, or when the matrix-free steps stall; off by default. [critical.polish]", valueName: "f")) var polish: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Starting points: init (default), trajectory, trajectory-loss or files. [critical.start]", valueName: "where")) var start: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("The number of starting points (start files: the files); 8. [critical.starts]", valueName: "K")) var starts: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("start init: scale factors of the initialisation, used in turn; 1. [critical.scales]", valueName: "a,b,…")) var scales: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("start trajectory: training steps between starts; trajectory-loss: between candidates; 100. [critical.trajectory-every]", valueName: "R")) var trajectoryEvery: String?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("--start files: the starting points.", valueName: "a.npy b.npy …"))
    var points: [String] = []
    @Option(parsing: .unconditional, help: ArgumentHelp("Converged when ‖∇L‖ ≤ tol × ‖∇L‖ at the start; 1e-10. [critical.tolerance]", valueName: "tol")) var tolerance: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Newton iterations per start; 100. [critical.iterations]", valueName: "n")) var iterations: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("MINRES iterations per Newton step (default M). [critical.inner-iterations]", valueName: "n")) var innerIterations: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("The longest step ‖θₖ₊₁ − θₖ‖; 1. [critical.max-step]", valueName: "r")) var maxStep: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Same point when ε and every eigenvalue agree within this fraction; 1e-6. [critical.duplicate-tolerance]", valueName: "f")) var duplicateTolerance: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Unconverged searches that ended with ‖∇L‖ ≤ f × the start's are near-critical points, fitted apart; 1e-3. [critical.near-critical]", valueName: "f"))
    var nearCritical: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("auto (exact up to M = \(InterpolateJob.exactLimit); default), exact, or lanczos (the smallest eigenvalues only). [critical.curvature]", valueName: "how"))
    var curvature: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Ranks per group (divides the ranks); 0 = one group (default). [critical.group-size]", valueName: "G")) var groupSize: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("node: each group on one host (default; G must divide the ranks on every host), or any: consecutive ranks, straddling hosts if they fall so. [critical.group-placement]", valueName: "where"))
    var groupPlacement: String?
    @OptionGroup(title: "Configuration keys") var settings: RunKeyOptions

    /// (key, text) of the `[critical]` flags given; with --points, the start count is theirs.
    var tableOverrides: [(key: String, text: String)] {
        keyFlags([("critical.method", method), ("critical.start", start), ("critical.starts", points.isEmpty ? starts : "\(points.count)"),
                  ("critical.scales", scales), ("critical.trajectory-every", trajectoryEvery), ("critical.tolerance", tolerance),
                  ("critical.iterations", iterations), ("critical.inner-iterations", innerIterations), ("critical.max-step", maxStep),
                  ("critical.duplicate-tolerance", duplicateTolerance), ("critical.near-critical", nearCritical),
                  ("critical.curvature", curvature), ("critical.group-size", groupSize), ("critical.group-placement", groupPlacement), ("critical.index", index),
                  ("critical.trust-radius", trustRadius), ("critical.l2", l2), ("critical.project-symmetries", projectSymmetries ? "true" : nil),
                  ("critical.polish", polish)])
    }

    func validate() throws {
        try validateKeyFlags(tableOverrides)
    }

    func run(on runtime: MPIRuntime) throws {
        var job = CriticalJob(configuration: try configuration(on: runtime), output: options.output)
        job.points = points
        try options.apply(to: &job)
        try job.run(on: runtime.world)
    }
}
