import ArgumentParser
import Cluster
import Configuration
import DistributedLinearAlgebra
import Planning
import Workflows
import Foundation

struct Plan: NamingSettings {
    static let configuration = CommandConfiguration(
        abstract: "Memory and time a spectrum job would need on P ranks — without running it (no MPI needed).",
        discussion: """
            Reads the same configuration as `landscape spectrum` and prints M, N, the grid, bytes per rank (Hessian \
            piece, eigenvectors, eigensolver work arrays, per-sample factors and the assembly's panels) and a time estimate from a cost model \
            measured on this machine (docs/scaling.md). Whether it fits is judged against --memory-per-rank.
            """)

    @Option(help: "The run's TOML configuration; flags override it.") var config: String?
    @Option(parsing: .unconditional, help: "Number of MPI ranks P to plan for.") var ranks: Int
    @Option(parsing: .unconditional, help: "Nodes the P ranks are spread over: on one node the assembly allreduces its partial panels, across nodes it sends each entry to its owner (as a run's exchange does).")
    var nodes = 1
    @Flag(help: "Plan the Gauss–Newton split too (G).") var ggn = false
    @Flag(help: "Plan R = H − G's eigensolve too (implies --ggn), as `spectrum --residual`.") var residual = false
    @Option(help: ArgumentHelp("Eigenvectors: none, all, top:K or bottom:K.", valueName: "selection")) var eigenvectors = "none"
    @Option(help: ArgumentHelp("Memory per rank on the target machine, e.g. 4G (default: this node's available memory / its cores).", valueName: "size"))
    var memoryPerRank: String?
    @Option(parsing: .unconditional, help: "Assembly GEMM rate per rank in GFLOP/s (default: measured here; for the operator-columns assembly of convnets and other models, 4.7).") var gemmGflops: Double?
    @Option(parsing: .unconditional, help: "Eigenvalue rate M³/(P·s)/10⁹ (default: measured here for ELPA 2-stage).") var eigenvaluesRate: Double?
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    func validate() throws {
        guard ranks >= 1 else { throw ValidationError("--ranks must be ≥ 1") }
        guard (1...ranks).contains(nodes) else { throw ValidationError("--nodes must be between 1 and --ranks = \(ranks) (got \(nodes))") }
        _ = try validated { try EigenvectorSelection(parsing: eigenvectors) }
    }

    /// A setting the user gave as a flag is named as that flag, as the MPI commands do.
    func displayName(ofSetting setting: String) -> String? { settings.displayName(ofSetting: setting) }

    func run() throws {
        let configuration = try RunConfiguration.load(path: config, overrides: settings.overrides)
        var job = PlanReport(configuration: configuration, ranks: ranks)
        job.nodes = nodes
        job.gaussNewtonSplit = ggn || residual
        job.residualSpectrum = residual
        job.vectors = try EigenvectorSelection(parsing: eigenvectors)
        job.memoryPerRank = try memoryPerRank.map { try parseByteCount($0, option: "--memory-per-rank") }
        if let gemmGflops { (job.rates.assemblyGFLOPSPerRank, job.rates.operatorColumnsGFLOPSPerRank) = (gemmGflops, gemmGflops) }
        if let eigenvaluesRate { job.rates.eigenvaluesRate = eigenvaluesRate }
        print(try job.text())
    }
}
