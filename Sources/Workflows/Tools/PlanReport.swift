import Cluster
import Configuration
import Jobs
import DistributedLinearAlgebra
import Foundation
import Networks
import NPY
import Planning
import Support

/// `landscape plan`: the memory and time a spectrum job of this configuration would need on P
/// ranks, from the shared accounting (`CostModel` over `MemoryAccount`) — no MPI, nothing allocated.
public struct PlanReport {
    public var configuration: RunConfiguration
    public var ranks: Int
    /// The nodes the ranks are spread over: one node allreduces the assembly's partial panels,
    /// several send each entry to its owner (as the run's `auto` exchange chooses).
    public var nodes = 1
    public var gaussNewtonSplit = false
    /// With the split, R = H − G decomposed too (`spectrum --residual`).
    public var residualSpectrum = false
    public var vectors: EigenvectorSelection = .none
    /// Bytes each rank may use; default this node's available memory / its cores.
    public var memoryPerRank: Int?
    public var rates = CostModel()

    public init(configuration: RunConfiguration, ranks: Int) {
        self.configuration = configuration
        self.ranks = ranks
    }

    /// The plan as printed lines.
    public func text() throws -> String {
        try configuration.validate()   // the same checks a run makes, before any size is computed
        let (n, d, k) = try configuration.data.shape()
        guard n >= 1, d >= 1, k >= 1 else {
            throw InputError("the data has N = \(n) samples of d = \(d) features and k = \(k) outputs; each must be ≥ 1")
        }
        // ScaLAPACK indexes with 32-bit integers: M beyond that is no spectrum job, and the plan's
        // own loops over layer widths would run for hours.
        guard ranks >= 1 else { throw InputError("--ranks must be ≥ 1 (got \(ranks))") }
        guard (1...ranks).contains(nodes) else { throw InputError("--nodes must be between 1 and --ranks = \(ranks) (got \(nodes))") }
        let budget = memoryPerRank.map(Double.init)
            ?? Double(availableNodeMemory() ?? 0) / Double(ProcessInfo.processInfo.activeProcessorCount)
        // As `--solver auto` does: ELPA, unless its work arrays do not fit and ScaLAPACK's do.
        let blockSize = configuration.hessianBlock
        let model = try configuration.builtModel(inputs: d, outputs: k)
        var e = rates.estimate(model: model, samples: n, ranks: ranks, nodes: nodes, blockSize: blockSize,
                               gaussNewtonSplit: gaussNewtonSplit, residualSpectrum: residualSpectrum, vectors: vectors)
        if e.totalBytesPerRank > budget {
            let scalapack = rates.estimate(model: model, samples: n, ranks: ranks, nodes: nodes, blockSize: blockSize,
                                           gaussNewtonSplit: gaussNewtonSplit, residualSpectrum: residualSpectrum, vectors: vectors, useELPA: false)
            if scalapack.totalBytesPerRank <= budget { e = scalapack }
        }
        var lines = ["plan: \(model.summary), M = \(e.parameters), N = \(n), P = \(ranks) on \(nodes) node\(nodes == 1 ? "" : "s") (grid \(e.grid.rows)x\(e.grid.columns), block \(blockSize))",
                     "memory per rank (largest piece):"]
        lines += e.bytesPerRank.map { "  \($0.0): \(formatBytes(Int($0.1)))" }
        lines.append("  total: \(formatBytes(Int(e.totalBytesPerRank))) of \(formatBytes(Int(budget))) per rank → " +
                     (e.totalBytesPerRank <= budget ? "fits" : "does NOT fit; needs ≥ \(Int((Double(ranks) * e.totalBytesPerRank / budget).rounded(.up))) ranks"))
        lines.append("time (cost model, docs/scaling.md):")
        lines += e.seconds.map { String(format: "  %@: %.1f s", $0.0, $0.1) }
        lines.append(String(format: "  total: %.1f s (%.2f h)", e.totalSeconds, e.totalSeconds / 3600))
        return lines.joined(separator: "\n")
    }
}
