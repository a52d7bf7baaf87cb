import Jobs
import Cluster
import Configuration
import Curvature
import CriticalPoints
import DistributedLinearAlgebra
import Foundation
import Krylov
import Networks
import NPY
import Objectives
import Optimization
import Support

private func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

extension CriticalJob {
    /// One start's outcome, as critical.csv and the checkpoint hold it.
    package struct PointRecord: Codable, Sendable {
        package var start: Int
        package var origin: String
        package var startLoss: Double
        package var startGradientNorm: Double
        /// The energy ε (the loss) and ‖∇L‖ where the search stopped.
        package var loss: Double
        package var gradientNorm: Double
        /// The gradient norm the search had to reach: tolerance · startGradientNorm.
        package var target: Double
        package var stop: String
        package var converged: Bool
        package var iterations: Int
        /// "exact", or "lanczos" (the smallest eigenvalues only).
        package var curvature: String
        /// Exact: the inertia at the spectrum command's zero tolerance. Lanczos: `negative` counts the
        /// converged negative Ritz values, exact only when one of them is ≥ 0. `indexExact` says
        /// whether `negative` is the index (always for an exact spectrum) or a lower bound.
        package var negative: Int
        package var nearZero: Int?
        package var positive: Int?
        package var zeroTolerance: Double?
        package var indexExact: Bool
        package var smallestEigenvalue: Double
        package var largestEigenvalue: Double?
        /// Lanczos: the smallest Ritz values (exact runs keep the whole spectrum in spectra/<k>.npy).
        package var smallestEigenvalues: [Double]
        /// ‖H∇L‖ / (max|λ| · ‖∇L‖) where the search stopped: near 0 when ∇L lies in H's near-null
        /// space, a point where ½‖∇L‖² is flat but ∇L ≠ 0 — a gradient-flat point (Frye et al.
        /// 2019) rather than a critical point. (Lanczos: max|λ| over the smallest Ritz values found.)
        package var gradientFlatness: Double
        package var gradientEvaluations: Int
        package var operatorProducts: Int
        package var hessianAssemblies: Int
        package var seconds: Double
        package var trace: [CriticalPointSearch.StepRecord]
        /// Filled by the report: the first earlier start that found the same point.
        package var duplicateOf: Int?
        /// eigenvector-following: the index aimed at.
        package var targetIndex: Int?
        /// What the end point is (`EndClass`), and the certificate's measurements (exact runs).
        package var endClass: String
        package var certificate: Certificate?
        /// Frye's ratio ‖P₀∇L‖/‖∇L‖ over the eigenvectors with |λ| ≤ 10⁻⁴·max|λ| (exact runs).
        package var flatRatio: Double?
        /// Deflated symmetry directions (counted as zero eigenvalues in the spectrum written).
        package var symmetryModes: Int
        package var reducibility: String?
        /// The loss L alone where the search stopped (ε = `loss` is L + λ‖θ‖²/2 with an L2 term).
        package var dataLoss: Double
        package var certified: Bool { certificate?.certified == true }
    }

    package static let checkpointFile = ResumableCheckpoint<[PointRecord]>(file: "critical.json", what: "critical points")
    package var checkpoint: RunDirectory { output.subdirectory("checkpoint") }

    /// The search from start `k` and the curvature where it ended (collective over the group):
    /// the record, the point, and its eigenvalues (all of them when exact).
    package func search(_ k: Int, _ context: Context) throws -> (PointRecord, [Double], [Double]) {
        try CertifiedSearch(training: context.training, model: context.model, assembler: context.assembler,
                            curvatureExact: context.curvatureExact, settings: settings, configuration: configuration)
            .run(from: context.starts[k], start: k, origin: context.origins[k])
    }

    /// Rounds of starts — one per group per round (`GroupWorkQueue`) — gathered on world rank 0,
    /// which writes each point's files and the checkpoint. A signal ends the run after the round (exit 3).
    package func compute(_ context: Context) throws -> [PointRecord] {
        let world = context.world, group = context.group, m = context.m
        let identity = self.identity(context)
        var done = (resume ? try Self.checkpointFile.read(checkpoint, identity: identity, on: world) : nil) ?? []
        let finished = Set(done.map(\.start))
        // A point or spectrum file of a start the checkpoint does not hold is not this run's (a
        // finished run with more starts, a round cut short): removed now, so points/ and spectra/
        // end up holding exactly the starts critical.csv lists.
        try world.agree {
            for name in ["points", "spectra"] {
                let directory = output.subdirectory(name)
                for file in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
                    guard file.hasSuffix(".npy"), let k = Int(file.dropLast(4)), !finished.contains(k) else { continue }
                    try FileManager.default.removeItem(atPath: directory.file(file))
                }
            }
        }
        let todo = context.starts.indices.filter { !finished.contains($0) }
        context.progress.say("critical: \(context.starts.count) starts (\(todo.count) to search) by \(settings.method.rawValue) on \(context.groups.count) group(s) of \(group.size) rank(s); \(context.model.summary), M = \(m), N = \(context.training.dataset.globalCount)")
        // One start per group per round, checkpointed after every round (a round is a start per
        // group, minutes at most). The point and its spectrum travel as doubles (bit-exact), the
        // record as JSON.
        let queue = GroupWorkQueue(context.groups, deal: .chunks(of: 1, todo.count, groups: context.groups.count), checkpoint: .everyRound)
        try queue.run(compute: { positions in
            try positions.map { p in
                let (record, θ, eigenvalues) = try search(todo[p], context)
                return (record, θ + eigenvalues)
            }
        }, collect: { results in
            for (_, record, v) in results {
                try output.subdirectory("points").create()
                try NPYArray(shape: [m], values: Array(v[0..<m])).write(to: output.file("points/\(record.start).npy"))
                if record.curvature == "exact" {
                    try output.subdirectory("spectra").create()
                    try NPYArray(shape: [m], values: Array(v[m...])).write(to: output.file("spectra/\(record.start).npy"))
                }
                done.append(record)
                let index = record.indexExact ? "index \(record.negative)" : "index ≥ \(record.negative)"
                context.progress.say(String(format: "critical: start %d (%@): %@ after %d iterations, ε = %.10g, ‖∇L‖ = %.3g, %@ (%.1f s)",
                                            record.start, record.origin, record.converged ? "converged" : "stopped (\(record.stop))",
                                            record.iterations, record.loss, record.gradientNorm, index, record.seconds))
            }
        }, checkpoint: {
            try Self.checkpointFile.write(done, identity: identity, to: checkpoint, on: world)
        }, stopMessage: { _ in
            "signal after \(done.count) of \(context.starts.count) starts: the finished ones are in \(checkpoint.path); continue with the same command and --resume"
        })
        return done.sorted { $0.start < $1.start }
    }
}

/// One critical-point search from a start and what its end is: the search (`settings.method`, the
/// L2 term, the symmetries deflated when asked), the curvature where it stopped, the certificate
/// and the end's class. `landscape critical` runs it for each start; `landscape path --polish` for
/// each end point (index 0) and the band's top (index 1) — one piece of code, so a polished end is
/// certified by exactly the criteria of docs/critical.md.
package struct CertifiedSearch {
    /// The data loss L, over the group's ranks (the energy adds `settings.l2`).
    package let training: DataParallelObjective
    package let model: any Model
    /// The group's exact Hessian, when the method or the exact spectrum needs it.
    package let assembler: HessianAssembler?
    package let curvatureExact: Bool
    package let settings: CriticalSpecification
    package let configuration: RunConfiguration
    /// An absolute ‖∇E‖ to reach instead of `settings.tolerance` × ‖∇E‖ at the start.
    package let gradientTarget: Double?

    package init(training: DataParallelObjective, model: any Model, assembler: HessianAssembler?, curvatureExact: Bool,
                 settings: CriticalSpecification, configuration: RunConfiguration, gradientTarget: Double? = nil) {
        (self.training, self.model, self.assembler, self.curvatureExact) = (training, model, assembler, curvatureExact)
        (self.settings, self.configuration, self.gradientTarget) = (settings, configuration, gradientTarget)
    }

    /// The search from θ0 and the curvature where it ended (collective over the objective's
    /// ranks): the record, the point, and its eigenvalues (all of them when exact).
    package func run(from θ0: [Double], start k: Int, origin: String) throws -> (CriticalJob.PointRecord, [Double], [Double]) {
        let clock = Stopwatch()
        let m = θ0.count
        let tangents = { (θ: [Double]) in settings.projectSymmetries ? model.symmetryTangents(at: θ, preservingNorm: settings.l2 > 0) : [] }
        // The assembled, decomposed H (symmetries deflated), or Hessian–vector products.
        let decomposed: CriticalPointSearch.HessianAt? = assembler.map { assembler in
            { θ, body in try body(try assembler.decomposition(at: θ, deflating: tangents(θ))) }
        }
        let matrixFree: CriticalPointSearch.HessianAt = { θ, body in try body(training.curvature(.hessian, at: θ)) }
        let hessian = settings.method.assemblesHessian ? decomposed ?? matrixFree : matrixFree
        var searchSettings = CriticalPointSearch.Settings(method: settings.method, innerIterations: settings.innerIterations ?? m)
        searchSettings.maximumStep = settings.maximumStep
        (searchSettings.index, searchSettings.trustRadius, searchSettings.l2) = (settings.index ?? 0, settings.trustRadius, settings.l2)
        searchSettings.polish = settings.polish
        var problem = CriticalPointSearch(objective: training, settings: searchSettings, hessian: hessian,
                                          polish: settings.polish != nil ? decomposed : nil)
        // The energy (with the L2 term) at the start: the tolerance is relative to its gradient.
        let first = try problem.energy(θ0, gradient: true)
        let target = gradientTarget ?? settings.tolerance * first.gradientNorm!
        let driver = IterativeDriver<CriticalPointSearch>(criteria: StopCriteria(steps: settings.iterations, targetGradientNorm: target),
                                                          recordEvery: 1, checkpointEvery: 0, communicator: training.communicator)
        let outcome = try driver.run(&problem, from: .init(step: 0, parameters: θ0))
        let θ = outcome.state.parameters
        var trace = problem.records
        var last = CriticalPointSearch.StepRecord(iteration: outcome.state.step, loss: outcome.final.value, gradientNorm: outcome.final.gradientNorm!,
                                                  direction: "stop", innerIterations: 0, innerStop: outcome.reason.rawValue, stepSize: 0, stepLength: 0, trials: 0)
        last.parameterNorm = norm(θ)
        trace.append(last)
        var record = CriticalJob.PointRecord(start: k, origin: origin, startLoss: first.loss, startGradientNorm: first.gradientNorm!,
                                 loss: outcome.final.value, gradientNorm: outcome.final.gradientNorm!, target: target,
                                 stop: outcome.reason.rawValue, converged: outcome.reason == .targetGradientNorm,
                                 iterations: outcome.updates, curvature: curvatureExact ? "exact" : "lanczos",
                                 negative: 0, nearZero: nil, positive: nil, zeroTolerance: nil, indexExact: true,
                                 smallestEigenvalue: .nan, largestEigenvalue: nil, smallestEigenvalues: [], gradientFlatness: .nan,
                                 gradientEvaluations: problem.gradientEvaluations + 1, operatorProducts: problem.operatorProducts,
                                 hessianAssemblies: problem.hessianAssemblies, seconds: 0, trace: trace, duplicateOf: nil,
                                 targetIndex: settings.method.targetsIndex ? settings.index ?? 0 : nil, endClass: EndClass.stalled.rawValue,
                                 certificate: nil, flatRatio: nil, symmetryModes: 0, reducibility: model.reducibility(at: θ, tolerance: 1e-6),
                                 dataLoss: settings.l2 > 0 ? try training.evaluate(θ, gradient: false).loss : outcome.final.value)
        var eigenvalues: [Double]
        let gradient = outcome.final.gradient
        // The energy's Hessian H + λI, matrix-free.
        let curvature = ShiftedOperator(training.curvature(.hessian, at: θ), shift: settings.l2)
        if curvatureExact, let assembler {
            // The energy's Hessian with the symmetry directions deflated: its transverse eigenvalues
            // are the curvature; the s deflated directions are exact zeros at a critical point
            // (GEOMETRY.md §6b) and are written as zeros.
            let spectral = try assembler.decomposition(at: θ, deflating: tangents(θ))
            let s = spectral.symmetryModes, n = m - s
            let transverse = spectral.eigenvalues[0..<n].map { $0 + settings.l2 }
            let c = Array(try spectral.coordinates(of: gradient)[0..<n])
            record.operatorProducts += 1
            eigenvalues = (transverse + [Double](repeating: 0, count: s)).sorted()
            let counts = SpectrumCounts(eigenvalues: eigenvalues, dimension: m)
            (record.negative, record.nearZero, record.positive, record.zeroTolerance) = (counts.negative, counts.nearZero, counts.positive, counts.zeroTolerance)
            (record.smallestEigenvalue, record.largestEigenvalue) = (eigenvalues.first!, eigenvalues.last!)
            record.symmetryModes = s
            record.certificate = Certificate(gradientNorms: trace.map(\.gradientNorm), parameterNorm: norm(θ), transverse: transverse,
                                             coordinates: c, threshold: counts.zeroTolerance)
            let flat = EndClass.flatThreshold * (transverse.map(abs).max() ?? 0)
            let flatPart = zip(transverse, c).filter { abs($0.0) <= flat }.reduce(0) { $0 + $1.1 * $1.1 }
            record.flatRatio = outcome.final.gradientNorm! > 0 ? flatPart.squareRoot() / outcome.final.gradientNorm! : 0
        } else {
            // The index from the smallest eigenvalues: every negative one is found when the
            // converged Ritz values reach past zero.
            let count = min(configuration.top.count, m)
            let lanczos = configuration.curvatureLanczos(count: count, which: .smallest, dimension: m)
            let result = try Lanczos(lanczos).run(curvature)
            let converged = zip(result.eigenvalues, result.converged).filter { $0.1 }.map(\.0).sorted()
            let scale = converged.map(abs).max() ?? 0
            eigenvalues = result.eigenvalues.sorted()
            record.negative = converged.filter { $0 < -1e-8 * scale }.count
            record.indexExact = converged.contains { $0 >= -1e-8 * scale }
            record.smallestEigenvalue = eigenvalues.first ?? .nan
            record.smallestEigenvalues = eigenvalues
        }
        let hg = try curvature.apply(gradient)
        let normH = eigenvalues.map(abs).max() ?? 0, normG = outcome.final.gradientNorm!
        record.gradientFlatness = normH > 0 && normG > 0 ? norm(hg) / (normH * normG) : .nan
        record.operatorProducts += 1
        record.endClass = EndClass(certificate: record.certificate, reachedTarget: record.converged, reducibility: record.reducibility,
                                   flatness: record.flatRatio, parameterNorms: trace.map(\.parameterNorm)).rawValue
        record.seconds = clock.seconds
        return (record, θ, eigenvalues)
    }
}
