import ArgumentParser
import Cluster
import DistributedLinearAlgebra
import Configuration
import Planning
import Workflows
import Foundation
import Support
import NPY

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Memory and time a spectrum job would need on P ranks — without running it (no MPI needed).",
        discussion: """
            Reads the same configuration as `landscape spectrum` and prints M, N, the grid, bytes per rank (Hessian \
            piece, eigenvectors, eigensolver work arrays, per-sample factors) and a time estimate from a cost model \
            measured on this machine (docs/scaling.md). Whether it fits is judged against --memory-per-rank.
            """)

    @Option(help: "The run's TOML configuration; flags override it.") var config: String?
    @Option(help: "Number of MPI ranks P to plan for.") var ranks: Int
    @Flag(help: "Plan the Gauss–Newton split too (G and R).") var ggn = false
    @Option(help: ArgumentHelp("Eigenvectors: none, all, top:K or bottom:K.", valueName: "selection")) var eigenvectors = "none"
    @Option(help: ArgumentHelp("Memory per rank on the target machine, e.g. 4G (default: this node's available memory / its cores).", valueName: "size"))
    var memoryPerRank: String?
    @Option(help: "Assembly GEMM rate per rank in GFLOP/s (default: measured here).") var gemmGflops: Double?
    @Option(help: "Eigenvalue rate M³/(P·s)/10⁹ (default: measured here for ELPA 2-stage).") var eigenvaluesRate: Double?
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    func validate() throws {
        guard ranks >= 1 else { throw ValidationError("--ranks must be ≥ 1") }
        _ = try validated { try EigenvectorSelection(parsing: eigenvectors) }
    }

    func run() throws {
        do {
            try plan()
        } catch let error as InputError {
            standardError("error: \(error.message)")
            throw ExitCode(2)
        }
    }

    func plan() throws {
        let configuration = try RunConfiguration.load(path: config, overrides: settings.overrides)
        try configuration.validate()   // the same checks a run makes, before any size is computed
        let (n, d, k) = try Self.dataShape(configuration)
        let widths = [d] + configuration.model.layers + [k]
        var model = CostModel()
        if let gemmGflops { model.assemblyGFLOPSPerRank = gemmGflops }
        if let eigenvaluesRate { model.eigenvaluesRate = eigenvaluesRate }
        let budget = try memoryPerRank.map { Double(try parseByteCount($0, option: "--memory-per-rank")) }
            ?? Double(availableNodeMemory() ?? 0) / Double(ProcessInfo.processInfo.activeProcessorCount)
        let selection = try EigenvectorSelection(parsing: eigenvectors)
        // As `--solver auto` does: ELPA, unless its work arrays do not fit and ScaLAPACK's do.
        var e = model.estimate(widths: widths, samples: n, ranks: ranks, blockSize: configuration.hessianBlock,
                               gaussNewtonSplit: ggn, vectors: selection)
        if e.totalBytesPerRank > budget {
            let scalapack = model.estimate(widths: widths, samples: n, ranks: ranks, blockSize: configuration.hessianBlock,
                                           gaussNewtonSplit: ggn, vectors: selection, useELPA: false)
            if scalapack.totalBytesPerRank <= budget { e = scalapack }
        }
        var lines = ["plan: MLP \(widths.map(String.init).joined(separator: "-")), M = \(e.parameters), N = \(n), P = \(ranks) (grid \(e.grid.rows)x\(e.grid.columns), block \(configuration.hessianBlock))",
                     "memory per rank (largest piece):"]
        lines += e.bytesPerRank.map { "  \($0.0): \(formatBytes(Int($0.1)))" }
        lines.append("  total: \(formatBytes(Int(e.totalBytesPerRank))) of \(formatBytes(Int(budget))) per rank → " +
                     (e.totalBytesPerRank <= budget ? "fits" : "does NOT fit; needs ≥ \(Int((Double(ranks) * e.totalBytesPerRank / budget).rounded(.up))) ranks"))
        lines.append("time (cost model, docs/scaling.md):")
        lines += e.seconds.map { String(format: "  %@: %.1f s", $0.0, $0.1) }
        lines.append(String(format: "  total: %.1f s (%.2f h)", e.totalSeconds, e.totalSeconds / 3600))
        print(lines.joined(separator: "\n"))
    }

    /// N, d and k of the configured data, from the configuration or the files' headers.
    static func dataShape(_ c: RunConfiguration) throws -> (Int, Int, Int) {
        switch c.data.kind {
        case .clusters, .random:
            return (c.data.samples ?? 1000, c.data.dimension, c.data.classes)
        case .mnist: return (c.data.samples ?? 60000, 784, 10)
        case .cifar10: return (c.data.samples ?? 50000, 3072, 10)
        case .npy:
            guard let x = c.data.x, let y = c.data.y else { throw InputError("data.kind = \"npy\" needs data.x and data.y") }
            let hx: NPYHeader, hy: NPYHeader
            do { hx = try NPYHeader.read(contentsOf: x); hy = try NPYHeader.read(contentsOf: y) } catch let error as NPYError {
                throw InputError(error.message)
            }
            guard hx.shape.count == 2 else { throw InputError("data.x '\(x)' is not N × d") }
            let k = hy.shape.count == 2 ? hy.shape[1] : Int((try NPYArray(contentsOf: y).values.max() ?? 1)) + 1
            return (min(c.data.samples ?? hx.shape[0], hx.shape[0]), hx.shape[1], k)
        }
    }
}
