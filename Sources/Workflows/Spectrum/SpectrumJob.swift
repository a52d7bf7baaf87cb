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
import Jobs
import Planning
import Reporting

/// `landscape spectrum`: the exact Hessian of the mean training loss at a point, assembled across
/// ranks into a block-cyclic matrix, diagonalised, and analysed as Sagun et al. do; with `--ggn`
/// also the Gauss–Newton part G, and with `--residual` the residual R = H − G.
public struct SpectrumJob {
    public typealias Point = ParameterPoint

    public var configuration: RunConfiguration
    /// Run on this model instead of one built from `configuration.model` (library callers; `JobModel.swift`).
    public var model: (any Model)? = nil
    public var point: Point
    public var output: RunDirectory
    public var gaussNewtonSplit = false
    /// With the split, also decompose R = H − G. Off by default: R's spectrum costs a third
    /// eigensolve (as much as H's), while its trace — what the split's bookkeeping needs — comes
    /// from the diagonals of H and G for free (`Summary.residualTrace`).
    public var residualSpectrum = false
    public var vectors: EigenvectorSelection = .none
    /// The matrices whose eigenvectors `vectors` selects (`--eigenvectors-of`): H by default; G
    /// with the split, R with its spectrum. Each gets its eigenvector file and its anatomy.
    public var vectorsOf: Set<CurvatureKind> = [.hessian]
    /// `--blocks`: the spectra of H's diagonal blocks per layer or per named parameter block.
    public var blocksPartition = BlockPartition.none
    /// The configuration's `[eig]`: the eigensolver, and the zero tolerance of the inertia.
    public var solver: EigensolverChoice {
        get { configuration.eig.solver }
        set { configuration.eig.solver = newValue }
    }
    public var saveHessian = false
    public var zeroTolerance: Double? {
        get { configuration.eig.zeroTolerance }
        set { configuration.eig.zeroTolerance = newValue }
    }
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
        package var counts: SpectrumCounts
        /// The inertia at each `eig.bulk-tolerances` τ: the bulk |λ| ≤ τ·max|λ| as the papers
        /// count it (absent in summaries written before it existed).
        package var bulk: [RelativeInertia]?
        package var outliers: OutlierCounts
        package var trace: TraceCheck
        package var symmetryDefect: Double
        package var solver: String
        /// With eigenvectors: where they live (EigenvectorAnatomy.swift); absent otherwise.
        package var anatomy: AnatomySummary?
    }

    /// summary.json (read back by the sweep's aggregation).
    package struct Summary: Codable {
        package var model: String
        package var data: String
        package var parameters: Int
        package var samples: Int
        package var point: String
        package var loss: Double
        package var accuracy: Double?
        package var gradientNorm: Double
        package var ranks: Int
        package var grid: String
        package var block: Int
        package var hessian: SpectrumSummary
        package var gaussNewton: SpectrumSummary?
        package var residual: SpectrumSummary?
        /// |tr H − tr G − tr R| / |tr H| from the three spectra (an independent check of the split;
        /// only with R's spectrum).
        package var splitTraceDefect: Double?
        /// With the split: tr R = tr H − tr G from the diagonals, whether or not R was decomposed.
        package var residualTrace: Double?
        /// With `--blocks`: the diagonal blocks' spectra and ‖H − blockdiag(H)‖_F / ‖H‖_F; with
        /// `--ggn` also G's.
        package var blocks: BlockSpectraSummary?
        package var gaussNewtonBlocks: BlockSpectraSummary?
        package var assemblyGFLOP: Double
        package var assemblyGFLOPPerSecond: Double
        package var seconds: [String: Double]
        package var peakResidentBytesPerRank: [Int]
        package var memoryEstimateBytesPerRank: Int
    }

    /// One matrix of the job: which curvature, and where its spectrum goes. H comes first; with
    /// the split G follows, and R = H − G when asked for. Each may get eigenvectors.
    /// Files: eigenvalues.npy, eigenvectors.npy, anatomy.json for H; the same with the prefix
    /// `ggn_` for G and `residual_` for R.
    package struct Target {
        package let kind: CurvatureKind
        package let eigenvaluesFile: String
        package let vectorsFile: String?
        /// "H", "G", "R": the name in timings, checkpoints and the report.
        package var name: String { kind.symbol }

        package static func list(split: Bool, residual: Bool, vectors: EigenvectorSelection, of: Set<CurvatureKind>) -> [Target] {
            let kinds: [CurvatureKind] = [.hessian] + (split ? [.gaussNewton] : []) + (split && residual ? [.residual] : [])
            return kinds.map { kind in
                let prefix = SpectrumJob.filePrefix(kind)
                return Target(kind: kind, eigenvaluesFile: prefix + "eigenvalues.npy",
                              vectorsFile: vectors != .none && of.contains(kind) ? prefix + "eigenvectors.npy" : nil)
            }
        }
    }

    /// The prefix of a matrix's files in the run directory: none for H, `ggn_` for G, `residual_` for R.
    package static func filePrefix(_ kind: CurvatureKind) -> String {
        switch kind {
        case .hessian: ""
        case .gaussNewton: "ggn_"
        case .residual: "residual_"
        }
    }

    /// The M × M matrices held at once beside H: G with the split, and R with its spectrum.
    package var extraMatrices: Int { gaussNewtonSplit ? (residualSpectrum ? 2 : 1) : 0 }

    /// What every phase shares: the communicator, the data, the model and the point, the grid and
    /// the plan, the timings.
    package struct Context {
        package let world: Communicator
        package let progress: JobProgress
        package var timings = PhaseTimings()
        package let dataset: Dataset
        package let model: any Model
        package let θ: [Double]
        package let pointName: String
        package let grid: ProcessGrid
        package let blockSize: Int
        package let assembly: CurvatureAssembly
        package let eigensolver: Eigensolver
        package let plan: MemoryPlan
        package var m: Int { model.parameterCount }
    }

    /// Runs on `world`: the whole job, or one group of a sweep. Phases: prepare (inputs, grid,
    /// memory plan), assemble (or read back a checkpoint), decompose each target in turn (a signal
    /// between them checkpoints the rest), report.
    public func run(on world: Communicator) throws {
        try JobRun.perform("spectrum", configuration: configuration, model: model, output: output, quiet: quiet, on: world) { run in
            try execute(&run)
        }
    }

    /// Every refusal of this job (inputs, grid, memory plan) without running it: a study checks
    /// its later parts before the first one starts.
    package func check(on world: Communicator) throws {
        try JobRun.perform("spectrum", configuration: configuration, model: model, output: output, quiet: true, on: world) { run in
            try prepare(&run).grid.release()
        }
    }

    private func execute(_ run: inout JobRun) throws {
        let world = run.world
        var context = try prepare(&run)
        defer { context.grid.release() }
        // Every input is checked: from here on this job owns the run directory.
        try run.own { try output.refuseFinishedRun(resuming: resume) }

        // Loss and gradient at the point.
        let evaluation = try DataParallelObjective(model: context.model, dataset: context.dataset, communicator: world)
            .evaluate(context.θ)

        let targets = Target.list(split: gaussNewtonSplit, residual: residualSpectrum, vectors: vectors, of: vectorsOf)
        let checkpoint = SpectrumCheckpoint(directory: output.subdirectory("checkpoint"))
        var settings = SettingsIdentity(run: configuration, model: model, ["point": context.pointName, "spectrum.ggn": "\(gaussNewtonSplit)",
                                                                          "spectrum.eigenvectors": vectors.description])
        // Only when asked for: a run without --blocks keeps the identity it had before the option.
        if blocksPartition != .none { settings["spectrum.blocks"] = blocksPartition.description }
        if residualSpectrum { settings["spectrum.residual"] = "true" }
        if vectorsOf != [.hessian] { settings["spectrum.eigenvectors-of"] = Self.symbols(vectorsOf) }
        let identity = settings.text
        let saved: SpectrumCheckpoint.State? = resume ? try world.agree { try checkpoint.state(matching: identity) } : nil
        var matrices: [BlockCyclicMatrix?] = Array(repeating: nil, count: targets.count)
        var finished = saved?.finished ?? [:]
        let assemblyFlops: Double, assemblySeconds: Double
        if let saved {
            context.progress.say("spectrum: resuming from \(checkpoint.directory.path): spectra done: \(finished.isEmpty ? "none" : finished.keys.sorted().joined(separator: ", ")); reading \(saved.remaining.joined(separator: ", "))")
            let (grid, blockSize) = (context.grid, context.blockSize)
            for (k, target) in targets.enumerated() where saved.remaining.contains(target.name) {
                matrices[k] = try context.timings.measure("read checkpoint \(target.name)", on: world) {
                    try checkpoint.read(target.name, grid: grid, blockSize: blockSize)
                }
            }
            (assemblyFlops, assemblySeconds) = (saved.assemblyFlops, saved.assemblySeconds)
        } else {
            (assemblyFlops, assemblySeconds) = try assemble(targets, into: &matrices, &context)
        }

        // The diagonal blocks of H, before H's own eigensolve overwrites it (a resumed run whose H
        // was decomposed before the stop did these too, and finds them in DIR/blocks).
        var blockSummaries: [CurvatureKind: BlockSpectraSummary] = [:]
        for (k, target) in targets.enumerated() where blocksPartition != .none && target.kind != .residual {
            if let matrix = matrices[k] { blockSummaries[target.kind] = try blockSpectra(of: matrix, target.kind, &context) }
        }

        // Spectra, one matrix at a time. Before each eigensolve, a pending SIGTERM/SIGUSR1 (on any
        // rank) stops the job: the matrices not yet decomposed go to DIR/checkpoint through MPI-IO,
        // with the finished spectra's summaries, and `--resume` continues from there.
        for (k, target) in targets.enumerated() where finished[target.name] == nil {
            if try world.allreduce(Int(StopSignals.pending), .max) != 0 {
                let remaining = targets.indices.filter { $0 >= k && finished[targets[$0].name] == nil }
                try checkpoint.write(remaining.map { (targets[$0].name, matrices[$0]!) }, state: .init(
                    identity: identity, finished: finished, remaining: remaining.map { targets[$0].name },
                    assemblyFlops: assemblyFlops, assemblySeconds: assemblySeconds), on: world)
                throw StoppedBySignal(message: "signal before the eigen-decomposition of \(target.name): the matrices not yet decomposed are in \(checkpoint.directory.path); continue with the same command and --resume")
            }
            var matrix = matrices[k]!
            matrices[k] = nil   // the eigensolver overwrites it; drop the other reference first
            finished[target.name] = try analyse(&matrix, target, &context)
        }
        if world.isRoot && saved != nil { try checkpoint.remove() }
        run.timings = context.timings
        for kind in [CurvatureKind.hessian, .gaussNewton] where blockSummaries[kind] == nil && world.isRoot {
            blockSummaries[kind] = savedBlockSpectra(kind)
        }
        try report(finished, blocks: blockSummaries, evaluation: evaluation,
                   assemblyFlops: assemblyFlops, assemblySeconds: assemblySeconds, context, run)
    }

    /// Inputs, the point, the grid, the assembly and the memory plan — every refusal before any
    /// large allocation.
    package func prepare(_ run: inout JobRun) throws -> Context {
        let (world, progress) = (run.world, run.progress)
        let inputs = try run.inputs(configuration, given: model)
        let (dataset, model, m) = (inputs.dataset, inputs.model, inputs.m)
        let (θ, pointName) = try run.point(point, configuration, inputs)
        // The diagonal blocks name the model's parameter blocks: checked before any work (every rank
        // reads the same file and model, so every rank reaches the same verdict).
        _ = try blocksPartition.blocks(of: model)
        try checkVectorsOf()
        let blockSize = configuration.hessianBlock
        guard blockSize >= 1, blockSize <= m else {
            throw InputError(setting: "hessian.block", "= \(blockSize) must be between 1 and M = \(m); 64 is a good default")
        }
        let shape = try ProcessGrid.parseShape(configuration.hessianGrid, processes: world.size)
        let grid = ProcessGrid(communicator: world, rows: shape.rows, columns: shape.columns)
        run.header.grid = grid.shapeDescription
        do {
            let assembly = try CurvatureAssembly(model: model, requested: configuration.hessianAssembly)
            // Memory: H (+ G for the split, + R for its spectrum), the solver, and the assembly's working memory
            // for the exchange it will take on these nodes.
            let (eigensolver, plan, notes) = try MemoryPlan.choose(
                solver, vectors: vectors, grid: grid, n: m, blockSize: blockSize, limit: memoryPerRank,
                extraMatrices: extraMatrices,
                extraBytes: assembly.cost(samples: dataset.samples.count, ranks: world.size,
                                          nodes: Set(try world.nodeOfEachRank()).count).workingBytes, on: world)
            notes.forEach(progress.note)
            try plan.check(limit: memoryPerRank, on: world)
            progress.say("spectrum: \(model.summary), M = \(m), N = \(dataset.globalCount), \(world.size) ranks on \(grid.shapeDescription), block \(blockSize), \(eigensolver), \(assembly.method.rawValue) assembly; memory ≈ \(formatBytes(plan.bytesPerRank)) per rank")
            return Context(world: world, progress: progress, timings: run.timings, dataset: dataset, model: model, θ: θ,
                           pointName: pointName, grid: grid, blockSize: blockSize, assembly: assembly, eigensolver: eigensolver, plan: plan)
        } catch {
            grid.release()
            throw error
        }
    }

    /// Eigenvectors of G need the split, of R its spectrum; and `--eigenvectors-of` without
    /// `--eigenvectors` asks for nothing.
    package func checkVectorsOf() throws {
        if vectorsOf.contains(.gaussNewton) && !gaussNewtonSplit {
            throw InputError(setting: "eigenvectors-of", "= \(Self.symbols(vectorsOf)) names G, which is computed only with --ggn; add --ggn")
        }
        if vectorsOf.contains(.residual) && !residualSpectrum {
            throw InputError(setting: "eigenvectors-of", "= \(Self.symbols(vectorsOf)) names R, which is decomposed only with --residual; add --residual")
        }
        if vectorsOf != [.hessian] && vectors == .none {
            throw InputError(setting: "eigenvectors-of", "= \(Self.symbols(vectorsOf)) selects whose eigenvectors to compute, but none are asked for; add --eigenvectors top:K (or all, bottom:K)")
        }
    }

    /// "H,G,R" (in that order) for a set of matrices; `parseSymbols` reads it back.
    package static func symbols(_ kinds: Set<CurvatureKind>) -> String {
        CurvatureKind.allCases.filter(kinds.contains).map(\.symbol).joined(separator: ",")
    }

    /// The matrices named by their symbols, "H,G" (`--eigenvectors-of`).
    public static func parseSymbols(_ text: String) throws -> Set<CurvatureKind> {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let kinds = try names.map { name in
            guard let kind = CurvatureKind(symbol: name) else {
                throw InputError(setting: "eigenvectors-of", "= '\(text)': '\(name)' is not a matrix; use H, G or R separated by commas, e.g. H,G")
            }
            return kind
        }
        guard !kinds.isEmpty else { throw InputError(setting: "eigenvectors-of", "is empty; use H, G or R separated by commas, e.g. H,G") }
        return Set(kinds)
    }

    /// H, and with the split G (and R = H − G when its spectrum is asked for), into `matrices` (the only references to them, so the
    /// in-place eigensolvers never trigger a copy-on-write of an M × M piece). Returns the
    /// assembly's flops and its slowest rank's seconds.
    package func assemble(_ targets: [Target], into matrices: inout [BlockCyclicMatrix?], _ context: inout Context) throws -> (Double, Double) {
        let (world, assembly, m) = (context.world, context.assembly, context.m)
        let unit = assembly.method == .sampleGEMM ? "row blocks" : "column panels"
        func assemble(_ part: CurvaturePart) throws -> BlockCyclicMatrix {
            var matrix = try BlockCyclicMatrix(grid: context.grid, rows: m, columns: m, blockSize: context.blockSize)
            let timing = try assembly.assemble(part, at: context.θ, shard: context.dataset.samples,
                                               globalSampleCount: context.dataset.globalCount, into: &matrix) { done, total in
                if done == total || done % max(1, total / 10) == 0 {
                    context.progress.say("spectrum: assembling \(part.rawValue): \(done)/\(total) \(unit)")
                }
            }
            try context.timings.record("assemble \(part.rawValue)", seconds: timing.compute, on: world)
            try context.timings.record("reduce \(part.rawValue)", seconds: timing.reduce, bytes: timing.sentBytes ?? timing.reducedBytes,
                                       receivedBytes: timing.receivedBytes, offNodeBytes: timing.offNodeBytes, on: world)
            return matrix
        }
        let clock = Stopwatch()
        matrices[0] = try assemble(.hessian)
        let seconds = try world.allreduce(clock.seconds, .max)
        let flops = assembly.flops(samples: context.dataset.globalCount)
        if let g = targets.firstIndex(where: { $0.kind == .gaussNewton }) {
            let gaussNewton = try assemble(.gaussNewton)
            if let r = targets.firstIndex(where: { $0.kind == .residual }) {
                var residual = matrices[0]!   // R = H − G: its own storage, by design
                for i in residual.local.indices { residual.local[i] -= gaussNewton.local[i] }
                matrices[r] = residual
            }
            matrices[g] = gaussNewton
        }
        if saveHessian {
            try context.timings.measure("write matrices", on: world) {
                try output.createCollectively(on: world)
                try matrices[0]!.writeNPY(to: output.file("hessian.npy"))
                if let g = targets.firstIndex(where: { $0.kind == .gaussNewton }) {
                    try matrices[g]!.writeNPY(to: output.file("gauss_newton.npy"))
                }
            }
        }
        return (flops, seconds)
    }

    /// Symmetrise, decompose and summarise one target's matrix (destroyed in place).
    package func analyse(_ matrix: inout BlockCyclicMatrix, _ target: Target, _ context: inout Context) throws -> SpectrumSummary {
        let (world, m) = (context.world, context.m)
        let diagonalTrace = try matrix.trace()
        let symmetry = try matrix.symmetrize()
        let selection = target.vectorsFile == nil ? EigenvectorSelection.none : vectors
        // Matrices without eigenvectors may get a different method.
        let solverForThis = selection == vectors ? context.eigensolver
            : try MemoryPlan.choose(solver, vectors: selection, grid: context.grid, n: m, blockSize: context.blockSize,
                                    limit: memoryPerRank, extraMatrices: extraMatrices, on: world).solver
        // An expectation from the cost model's rates (docs/scaling.md), so a long solve is not silent.
        let rates = CostModel()
        var rate = rates.scalapackEigenvaluesRate
        if selection != .none { rate = rates.eigenvectorsRate } else if solverForThis.isTwoStage { rate = rates.eigenvaluesRate }
        let expected = pow(Double(m), 3) / Double(world.size) / (rate * 1e9)
        context.progress.say("spectrum: eigen-decomposition of \(target.name) (\(solverForThis)); expected ≈ \(Int(expected.rounded(.up))) s at this machine's measured rate")
        let decomposition = try context.timings.measure("eigensolve \(target.name)", method: solverForThis.description, on: world) {
            try solverForThis.decompose(&matrix, selection: selection)
        }
        try context.timings.measure("write \(target.name)", on: world) {
            try output.write(decomposition, eigenvalues: target.eigenvaluesFile, eigenvectors: target.vectorsFile, on: world)
        }
        let all = decomposition.eigenvalues
        let anatomy = try anatomy(of: decomposition, target.kind, &context)
        return SpectrumSummary(counts: SpectrumCounts(eigenvalues: all, dimension: m, zeroTolerance: zeroTolerance),
                               // Relative to max|λ| over the whole spectrum and a fraction of M: only with every eigenvalue.
                               bulk: all.count == m ? configuration.eig.bulkTolerances.map { RelativeInertia(eigenvalues: all, relativeTolerance: $0) } : nil,
                               outliers: OutlierCounts(eigenvalues: all),
                               trace: TraceCheck(fromEigenvalues: all.reduce(0, +), fromDiagonal: diagonalTrace),
                               symmetryDefect: symmetry.defect, solver: solverForThis.description, anatomy: anatomy)
    }

    /// summary.json, timings.json, config.toml and the plots (rank 0), and the printed report.
    package func report(_ finished: [String: SpectrumSummary], blocks: [CurvatureKind: BlockSpectraSummary], evaluation: Evaluation, assemblyFlops: Double, assemblySeconds: Double,
                _ context: Context, _ run: JobRun) throws {
        let world = context.world, m = context.m, dataset = context.dataset
        let h = finished["H"]!, g = finished["G"], r = finished["R"]
        // The spectra for the plots, as written (rank 0 reads them back; a resumed run did not compute all of them).
        func values(_ file: String) throws -> [Double] { world.isRoot ? try NPYArray(contentsOf: output.file(file)).values : [] }
        let hValues = try values("eigenvalues.npy")
        var split: [(String, [Double])] = []
        if gaussNewtonSplit {
            split = [("H", hValues), ("G (Gauss–Newton)", try values("ggn_eigenvalues.npy"))]
            if r != nil { split.append(("R = H − G", try values("residual_eigenvalues.npy"))) }
        }
        var splitDefect: Double? = nil
        if let g, let r {
            let total = h.trace.fromEigenvalues
            splitDefect = abs(total - g.trace.fromEigenvalues - r.trace.fromEigenvalues) / max(abs(total), .leastNormalMagnitude)
        }
        // blockdiag(H)'s spectrum is the union of the blocks': its top against H's, and the blocks' plot.
        var blocks = blocks
        var blockSpectra: [(kind: CurvatureKind, spectra: [(String, [Double])])] = []
        for kind in [CurvatureKind.hessian, .gaussNewton] where world.isRoot {
            guard let summary = blocks[kind] else { continue }
            let spectra = try summary.blocks.map { ($0.name, try NPYArray(contentsOf: output.file($0.eigenvaluesFile)).values) }
            let whole = kind == .hessian ? hValues : try values("ggn_eigenvalues.npy")
            // Only against the whole spectrum (a bottom:K selection holds no top).
            if whole.count == m { blocks[kind]?.compareTop(blockDiagonal: spectra.flatMap(\.1), hessian: whole) }
            blockSpectra.append((kind, spectra))
        }
        let header = try run.completedHeader()
        let summary = Summary(
            model: context.model.summary,
            data: dataset.description, parameters: m, samples: dataset.globalCount, point: context.pointName,
            loss: evaluation.loss, accuracy: evaluation.accuracy, gradientNorm: evaluation.gradientNorm ?? .nan, ranks: world.size,
            grid: context.grid.shapeDescription, block: context.blockSize, hessian: h, gaussNewton: g, residual: r, splitTraceDefect: splitDefect,
            residualTrace: g.map { h.trace.fromDiagonal - $0.trace.fromDiagonal }, blocks: blocks[.hessian], gaussNewtonBlocks: blocks[.gaussNewton],
            assemblyGFLOP: assemblyFlops / 1e9, assemblyGFLOPPerSecond: assemblyFlops / 1e9 / max(assemblySeconds, 1e-9),
            seconds: context.timings.wallSeconds, peakResidentBytesPerRank: header.peakResidentBytesPerRank,
            memoryEstimateBytesPerRank: context.plan.bytesPerRank)
        try run.finish(summary, header: header)
        if world.isRoot {
            let caption = "\(summary.model), \(dataset.description.split(separator: ":").first ?? ""), M = \(m), N = \(dataset.globalCount)"
            let τ = configuration.eig.bulkTolerances.min() ?? 1e-4
            for (name, plot) in SpectrumPlots.plots(eigenvalues: hValues, split: split, caption: caption, outliers: h.outliers.gap, bulkTolerance: τ) {
                try writeAtomically(Data(plot.render().utf8), to: output.file(name))
            }
            if !split.isEmpty {
                try writeAtomically(Data(SpectrumPlots.split(split, caption: caption, bulkTolerance: τ).render().utf8), to: output.file("split.svg"))
            }
            for (kind, spectra) in blockSpectra {
                try writeAtomically(Data(SpectrumPlots.blocks(spectra, of: kind.symbol, caption: caption, bulkTolerance: τ).render().utf8),
                                    to: output.file(kind == .hessian ? "blocks.svg" : "ggn_blocks.svg"))
            }
            if announce { print(Self.report(summary, directory: output.path)) }
        }
    }

    /// The paper's Figure 1: the spectra at initialisation and after training, one panel each —
    /// a histogram with a log count axis on a symmetric-log eigenvalue axis, outliers marked —
    /// since on one linear axis the trained spectrum (often 1000× smaller) is a flat line at 0
    /// (rank 0, from the two run directories' eigenvalues.npy).
    public static func writeComparison(initial: RunDirectory, final: RunDirectory, to output: RunDirectory,
                                       bulkTolerance: Double = RelativeInertia.defaultTolerances.min()!) throws {
        let panels = try [("at initialisation", initial), ("after training", final)].enumerated().map { k, point in
            let λ = try NPYArray(contentsOf: point.1.file("eigenvalues.npy")).values
            var plot = SpectrumPlots.histogram(λ, title: "Hessian spectrum \(point.0)", outliers: OutlierCounts(eigenvalues: λ).gap,
                                               bulkTolerance: bulkTolerance)
            plot.subtitle = k == 0 ? "M = \(λ.count); red ticks: the outliers (largest gap)" : ""
            return plot
        }
        try writeAtomically(Data(SVGPanels(panels).render().utf8), to: output.file("spectra.svg"))
    }

    package static func report(_ s: Summary, directory: String) -> String {
        func line(_ name: String, _ x: SpectrumSummary) -> String {
            String(format: "  %@: λ ∈ [%.6g, %.6g]; %d negative, %d near zero (|λ| ≤ %.2g), %d positive; outliers: gap %d, ratio %d, elbow %d; trace %.6g (diagonal %.6g)",
                   name, x.counts.minimum, x.counts.maximum, x.counts.negative, x.counts.nearZero, x.counts.zeroTolerance,
                   x.counts.positive, x.outliers.gap, x.outliers.ratio, x.outliers.elbow, x.trace.fromEigenvalues, x.trace.fromDiagonal)
                + (x.bulk ?? []).map { b in
                    String(format: "\n     bulk |λ| ≤ %.0e·max|λ| = %.2g: %d negative, %d bulk (%.1f %%), %d positive",
                           b.relativeTolerance, b.threshold, b.negative, b.bulk, 100 * b.bulkFraction, b.positive)
                }.joined()
        }
        var lines = ["spectrum of \(s.model) at \(s.point): M = \(s.parameters), N = \(s.samples), \(s.ranks) ranks on \(s.grid), block \(s.block)",
                     String(format: "  loss %.6g, ‖∇L‖ %.3g", s.loss, s.gradientNorm) + (s.accuracy.map { String(format: ", accuracy %.4f", $0) } ?? ""),
                     line("H", s.hessian)]
        if let g = s.gaussNewton { lines.append(line("G", g)) }
        if let r = s.residual {
            lines.append(line("R", r))
        } else if let trace = s.residualTrace {
            lines.append(String(format: "  R = H − G: trace %.6g (from the diagonals; --residual decomposes R)", trace))
        }
        if let blocks = s.blocks { lines += blockTable(blocks, "H") }
        if let blocks = s.gaussNewtonBlocks { lines += blockTable(blocks, "G") }
        lines.append(String(format: "  assembly %.2f GFLOP at %.1f GFLOP/s", s.assemblyGFLOP, s.assemblyGFLOPPerSecond))
        let phases = s.seconds.sorted { $0.key < $1.key }.map { String(format: "%@ %.2f s", $0.key, $0.value) }
        lines.append("  time: " + phases.joined(separator: ", "))
        lines.append("  results in \(directory)/")
        return lines.joined(separator: "\n")
    }
}
