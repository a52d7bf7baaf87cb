import Cluster
import Curvature
import Datasets
import DistributedLinearAlgebra
import Foundation
import Support
import Networks
import Objectives
import NPY
import Optimization
import Training
import Configuration
import Planning
import Reporting

/// `landscape spectrum`: the exact Hessian of the mean training loss at a point, assembled across
/// ranks into a block-cyclic matrix, diagonalised, and analysed as Sagun et al. do; with `--ggn`
/// also the Gauss–Newton part G and the residual R = H − G.
public struct SpectrumJob {
    public enum Point: Sendable { case checkpoint(String), initialization }

    public var configuration: RunConfiguration
    public var point: Point
    public var output: RunDirectory
    public var gaussNewtonSplit = false
    public var vectors: EigenvectorSelection = .none
    public var solver: EigensolverChoice = .auto
    public var saveHessian = false
    public var zeroTolerance: Double? = nil
    public var memoryPerRank: Int? = nil
    public var quiet = false
    /// Print the report on standard output (rank 0); off inside a sweep.
    public var announce = true
    /// Continue from DIR/checkpoint (left by a run stopped by SIGTERM/SIGUSR1), if it is there.
    public var resume = false

    public init(configuration: RunConfiguration, point: Point, output: RunDirectory) {
        self.configuration = configuration
        self.point = point
        self.output = output
    }

    /// The analysis of one matrix's spectrum (H, G or R).
    public struct SpectrumSummary: Codable, Sendable {
        var counts: SpectrumCounts
        var outliers: OutlierCounts
        var trace: TraceCheck
        var symmetryDefect: Double
        var solver: String
    }

    /// summary.json (read back by the sweep's aggregation).
    struct Summary: Codable {
        var model: String
        var data: String
        var parameters: Int
        var samples: Int
        var point: String
        var loss: Double
        var accuracy: Double?
        var gradientNorm: Double
        var ranks: Int
        var grid: String
        var block: Int
        var hessian: SpectrumSummary
        var gaussNewton: SpectrumSummary?
        var residual: SpectrumSummary?
        /// |tr H − tr G − tr R| / |tr H| from the three spectra (an independent check of the split).
        var splitTraceDefect: Double?
        var assemblyGFLOP: Double
        var assemblyGFLOPPerSecond: Double
        var seconds: [String: Double]
        var peakResidentBytesPerRank: [Int]
        var memoryEstimateBytesPerRank: Int
    }

    /// Runs on `world`: the whole job, or one group of a sweep.
    public func run(on world: Communicator) throws {
        StopSignals.install()   // from the start: an early SIGUSR1 must not kill the rank
        let progress = Progress(communicator: world, quiet: quiet)
        var timings = PhaseTimings()
        try configuration.validate()
        try world.agree { try output.validate() }

        let dataset = try timings.measure("data", on: world) { try configuration.data.load(seed: configuration.seed, on: world) }
        let network = try TrainJob.network(configuration, for: dataset)
        let m = network.parameterCount
        let θ: [Double]
        let pointName: String
        switch point {
        case .checkpoint(let path):
            θ = try TrainJob.readVector(path, count: m, on: world)
            pointName = path
        case .initialization:
            θ = configuration.model.initialization.parameters(for: network.layout, seed: configuration.seed)
            pointName = "initialization (seed \(configuration.seed))"
        }
        let blockSize = configuration.hessianBlock
        guard blockSize >= 1, blockSize <= m else {
            throw InputError("hessian.block = \(blockSize) must be between 1 and M = \(m); 64 is a good default")
        }
        let shape = try ProcessGrid.parseShape(configuration.hessianGrid, processes: world.size)
        let grid = ProcessGrid(communicator: world, rows: shape.rows, columns: shape.columns)
        defer { grid.release() }

        let assembly = try CurvatureAssembly(model: network, requested: configuration.hessianAssembly)
        // Memory: H (+ G and R for the split), the solver, and the assembly's working memory.
        let (eigensolver, plan, notes) = try MemoryPlan.choose(
            solver, vectors: vectors, grid: grid, n: m, blockSize: blockSize, limit: memoryPerRank,
            extraMatrices: gaussNewtonSplit ? 2 : 0,
            extraBytes: assembly.workingBytes(samples: dataset.samples.count), on: world)
        notes.forEach(progress.note)
        try plan.check(limit: memoryPerRank, on: world)
        let widths = network.layout.widths.map(String.init).joined(separator: "-")
        progress.say("spectrum: MLP \(widths) (\(configuration.model.activation.rawValue), \(configuration.model.loss.rawValue)), M = \(m), N = \(dataset.globalCount), \(world.size) ranks on \(grid.shapeDescription), block \(blockSize), \(eigensolver); memory ≈ \(formatBytes(plan.bytesPerRank)) per rank")

        // Loss and gradient at the point.
        let evaluation = try DataParallelObjective(model: network, dataset: dataset, communicator: world).evaluate(θ)

        // The matrices to decompose, in order: assembled, or read back from a checkpoint that a
        // signalled run left (the raw assembled matrices, before symmetrisation).
        let checkpoint = SpectrumCheckpoint(directory: RunDirectory(path: output.file("checkpoint")))
        let identity = "\(configuration.toml)point=\(pointName) ggn=\(gaussNewtonSplit) vectors=\(vectors)"
        let saved: SpectrumCheckpoint.State? = resume ? try world.agree { try checkpoint.state(matching: identity) } : nil
        var parts: [(name: String, file: String, vectorsFile: String?, matrix: BlockCyclicMatrix?)] = [
            ("H", "eigenvalues.npy", vectors == .none ? nil : "eigenvectors.npy", nil)]
        if gaussNewtonSplit { parts += [("G", "ggn_eigenvalues.npy", nil, nil), ("R", "residual_eigenvalues.npy", nil, nil)] }
        var finished = saved?.finished ?? [:]
        let assemblyFlops: Double, assemblySeconds: Double
        if let saved {
            progress.say("spectrum: resuming from \(checkpoint.directory.path): spectra done: \(finished.isEmpty ? "none" : finished.keys.sorted().joined(separator: ", ")); reading \(saved.remaining.joined(separator: ", "))")
            for k in parts.indices where saved.remaining.contains(parts[k].name) {
                parts[k].matrix = try timings.measure("read checkpoint \(parts[k].name)", on: world) {
                    try checkpoint.read(parts[k].name, grid: grid, blockSize: blockSize)
                }
            }
            (assemblyFlops, assemblySeconds) = (saved.assemblyFlops, saved.assemblySeconds)
        } else {
            let unit = assembly.method == .sampleGEMM ? "row blocks" : "column panels"
            func assemble(_ part: CurvaturePart) throws -> BlockCyclicMatrix {
                var matrix = try BlockCyclicMatrix(grid: grid, rows: m, columns: m, blockSize: blockSize)
                let timing = try assembly.assemble(part, at: θ, shard: dataset.samples, globalSampleCount: dataset.globalCount,
                                                   into: &matrix) { done, total in
                    if done == total || done % max(1, total / 10) == 0 {
                        progress.say("spectrum: assembling \(part.rawValue): \(done)/\(total) \(unit)")
                    }
                }
                try timings.record("assemble \(part.rawValue)", seconds: timing.compute, on: world)
                try timings.record("reduce \(part.rawValue)", seconds: timing.reduce, on: world)
                return matrix
            }
            // `parts` holds the only reference to each matrix (no local copies that outlive this
            // block), so the in-place eigensolvers never trigger a copy-on-write of an M × M piece.
            let clock = Stopwatch()
            parts[0].matrix = try assemble(.hessian)
            assemblySeconds = try world.allreduce(clock.seconds, .max)
            assemblyFlops = assembly.method == .sampleGEMM
                ? ExactHessian(network: network).gemmFlops(samples: dataset.globalCount)
                : Double(assembly.progressSteps) * ThroughputBenchmark.flops(.hvp, widths: network.layout.widths,
                                                                              directions: assembly.panelWidth, samples: dataset.globalCount)
            if gaussNewtonSplit {
                let g = try assemble(.gaussNewton)
                var r = parts[0].matrix!   // R = H − G: its own storage, by design
                for i in r.local.indices { r.local[i] -= g.local[i] }
                parts[1].matrix = g
                parts[2].matrix = r
            }
        }
        if saveHessian, saved == nil {
            try timings.measure("write matrices", on: world) {
                try output.createCollectively(on: world)
                try parts[0].matrix!.writeNPY(to: output.file("hessian.npy"))
                if gaussNewtonSplit { try parts[1].matrix!.writeNPY(to: output.file("gauss_newton.npy")) }
            }
        }

        // Spectra, one matrix at a time. Before each eigensolve, a pending SIGTERM/SIGUSR1 (on any
        // rank) stops the job: the matrices not yet decomposed go to DIR/checkpoint through MPI-IO,
        // with the finished spectra's summaries, and `--resume` continues from there.
        let rates = CostModel()
        func analyse(_ matrix: inout BlockCyclicMatrix, name: String, file: String, vectorsFile: String?) throws -> SpectrumSummary {
            let diagonalTrace = try matrix.trace()
            let symmetry = try matrix.symmetrize()
            let selection = vectorsFile == nil ? EigenvectorSelection.none : vectors
            // H may be asked for eigenvectors; G and R never are, and may get a different method.
            let solverForThis = selection == vectors ? eigensolver
                : try MemoryPlan.choose(solver, vectors: selection, grid: grid, n: m, blockSize: blockSize, limit: memoryPerRank,
                                        extraMatrices: gaussNewtonSplit ? 2 : 0, on: world).solver
            // An expectation from the cost model's rates (docs/scaling.md), so a long solve is not silent.
            var rate = rates.scalapackEigenvaluesRate
            if selection != .none { rate = rates.eigenvectorsRate } else if case .elpa = solverForThis { rate = rates.eigenvaluesRate }
            let expected = pow(Double(m), 3) / Double(world.size) / (rate * 1e9)
            progress.say("spectrum: eigen-decomposition of \(name) (\(solverForThis)); expected ≈ \(Int(expected.rounded(.up))) s at this machine's measured rate")
            let decomposition = try timings.measure("eigensolve \(name)", on: world) { try solverForThis.decompose(&matrix, selection: selection) }
            try timings.measure("write \(name)", on: world) {
                try output.write(decomposition, eigenvalues: file, eigenvectors: vectorsFile, on: world)
            }
            let all = decomposition.eigenvalues
            return SpectrumSummary(counts: SpectrumCounts(eigenvalues: all, dimension: m, zeroTolerance: zeroTolerance),
                                   outliers: OutlierCounts(eigenvalues: all),
                                   trace: TraceCheck(fromEigenvalues: all.reduce(0, +), fromDiagonal: diagonalTrace),
                                   symmetryDefect: symmetry.defect, solver: solverForThis.description)
        }
        for k in parts.indices where finished[parts[k].name] == nil {
            if try world.allreduce(Int(StopSignals.pending), .max) != 0 {
                let remaining = parts[k...].filter { finished[$0.name] == nil }
                try checkpoint.write(remaining.map { ($0.name, $0.matrix!) }, state: .init(
                    identity: identity, finished: finished, remaining: remaining.map(\.name),
                    assemblyFlops: assemblyFlops, assemblySeconds: assemblySeconds), on: world)
                throw StoppedBySignal(message: "signal before the eigen-decomposition of \(parts[k].name): the matrices not yet decomposed are in \(checkpoint.directory.path); continue with the same command and --resume")
            }
            var matrix = parts[k].matrix!
            parts[k].matrix = nil   // the eigensolver overwrites it; drop the other reference first
            finished[parts[k].name] = try analyse(&matrix, name: parts[k].name, file: parts[k].file, vectorsFile: parts[k].vectorsFile)
        }
        if world.isRoot && saved != nil { try checkpoint.remove() }
        let h = finished["H"]!, g = finished["G"], r = finished["R"]
        // The spectra for the plots, as written (rank 0 reads them back; a resumed run did not compute all of them).
        func values(_ file: String) throws -> [Double] { world.isRoot ? try NPYArray(contentsOf: output.file(file)).values : [] }
        let hValues = try values("eigenvalues.npy")
        var split: [(String, [Double])] = []
        if gaussNewtonSplit {
            split = [("H", hValues), ("G (Gauss–Newton)", try values("ggn_eigenvalues.npy")), ("R = H − G", try values("residual_eigenvalues.npy"))]
        }
        var splitDefect: Double? = nil
        if let g, let r {
            let total = h.trace.fromEigenvalues
            splitDefect = abs(total - g.trace.fromEigenvalues - r.trace.fromEigenvalues) / max(abs(total), .leastNormalMagnitude)
        }
        let summary = Summary(
            model: "MLP \(widths) \(configuration.model.activation.rawValue) \(configuration.model.loss.rawValue)",
            data: dataset.description, parameters: m, samples: dataset.globalCount, point: pointName,
            loss: evaluation.loss, accuracy: evaluation.accuracy, gradientNorm: evaluation.gradientNorm ?? .nan, ranks: world.size, grid: grid.shapeDescription,
            block: blockSize, hessian: h, gaussNewton: g, residual: r, splitTraceDefect: splitDefect,
            assemblyGFLOP: assemblyFlops / 1e9, assemblyGFLOPPerSecond: assemblyFlops / 1e9 / max(assemblySeconds, 1e-9),
            seconds: timings.wallSeconds, peakResidentBytesPerRank: try world.gather([peakResidentBytes()]),
            memoryEstimateBytesPerRank: plan.bytesPerRank)
        if world.isRoot {
            try writeAtomically(Data(configuration.toml.utf8), to: output.file("config.toml"))
            try output.writeJSON(timings, to: "timings.json")
            try output.writeJSON(summary, to: "summary.json")
            let caption = "\(summary.model), \(dataset.description.split(separator: ":").first ?? ""), M = \(m), N = \(dataset.globalCount)"
            for (name, plot) in SpectrumPlots.plots(eigenvalues: hValues, split: split, caption: caption) {
                try writeAtomically(Data(plot.render().utf8), to: output.file(name))
            }
            if announce { print(Self.report(summary, directory: output.path)) }
        }
    }

    /// The paper's Figure 1: the ordered spectra at initialisation and after training, overlaid
    /// (rank 0, from the two run directories' eigenvalues.npy).
    public static func writeComparison(initial: RunDirectory, final: RunDirectory, to output: RunDirectory) throws {
        let before = try NPYArray(contentsOf: initial.file("eigenvalues.npy")).values
        let after = try NPYArray(contentsOf: final.file("eigenvalues.npy")).values
        var plot = SVGPlot(title: "Hessian spectrum at initialisation and after training",
                           xLabel: "index i (ascending)", yLabel: "eigenvalue λᵢ")
        plot.subtitle = "M = \(before.count)"
        plot.series = [("at initialisation", before), ("after training", after)].map { name, values in
            SVGPlot.Series(name: name, points: values.enumerated().map { (Double($0.offset + 1), $0.element) })
        }
        try writeAtomically(Data(plot.render().utf8), to: output.file("spectra.svg"))
    }

    static func report(_ s: Summary, directory: String) -> String {
        func line(_ name: String, _ x: SpectrumSummary) -> String {
            String(format: "  %@: λ ∈ [%.6g, %.6g]; %d negative, %d near zero (|λ| ≤ %.2g), %d positive; outliers: gap %d, ratio %d, elbow %d; trace %.6g (diagonal %.6g)",
                   name, x.counts.minimum, x.counts.maximum, x.counts.negative, x.counts.nearZero, x.counts.zeroTolerance,
                   x.counts.positive, x.outliers.gap, x.outliers.ratio, x.outliers.elbow, x.trace.fromEigenvalues, x.trace.fromDiagonal)
        }
        var lines = ["spectrum of \(s.model) at \(s.point): M = \(s.parameters), N = \(s.samples), \(s.ranks) ranks on \(s.grid), block \(s.block)",
                     String(format: "  loss %.6g, ‖∇L‖ %.3g", s.loss, s.gradientNorm) + (s.accuracy.map { String(format: ", accuracy %.4f", $0) } ?? ""),
                     line("H", s.hessian)]
        if let g = s.gaussNewton { lines.append(line("G", g)) }
        if let r = s.residual { lines.append(line("R", r)) }
        lines.append(String(format: "  assembly %.2f GFLOP at %.1f GFLOP/s", s.assemblyGFLOP, s.assemblyGFLOPPerSecond))
        let phases = s.seconds.sorted { $0.key < $1.key }.map { String(format: "%@ %.2f s", $0.key, $0.value) }
        lines.append("  time: " + phases.joined(separator: ", "))
        lines.append("  results in \(directory)/")
        return lines.joined(separator: "\n")
    }
}
