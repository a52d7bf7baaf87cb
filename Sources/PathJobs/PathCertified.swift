import Cluster
import Configuration
import CriticalJobs
import CriticalPoints
import Curvature
import Foundation
import Jobs
import Networks
import Objectives
import Planning
import Support

/// `landscape path --polish` (docs/path.md "Certified ends and saddle"): the energy-landscape
/// codes' protocol — a band between minima, then the band's top refined into a transition state.
/// The end points are polished by eigenvector-following at index 0 before the band, the highest
/// pivot by eigenvector-following at index 1 after it, each with the exact Hessian and judged by
/// `landscape critical`'s certificate (`CertifiedSearch`: the same code, not a copy).
extension PathJob {
    /// A polished end or the refined top: what the search reached and how far it moved the point.
    package struct CertifiedPoint: Codable, Sendable {
        /// "A", "B" (`--from`, `--to`), "minimum k" (`--minima`, from 1), or "saddle".
        package var name: String
        /// The index aimed at: 0 for an end, 1 for the top.
        package var targetIndex: Int
        /// Every criterion of the certificate holds (docs/critical.md "Certified, and every end classified").
        package var certified: Bool
        /// `EndClass`: certified, reducible, gradient-flat, asymptotic, uncertified or stalled.
        package var `class`: String
        /// The certificate's failed criteria (empty when certified).
        package var failures: [String]
        /// The energy L + λ‖θ‖²/2 where the search stopped, and the loss L alone.
        package var energy: Double
        package var loss: Double
        /// ‖∇E‖ there.
        package var gradientNorm: Double
        /// Negative eigenvalues of the energy's Hessian (the index), near-zero and positive ones.
        package var index: Int
        package var nearZero: Int?
        package var positive: Int?
        /// The five smallest eigenvalues, ascending.
        package var smallestEigenvalues: [Double]
        /// ‖θ − θ₀‖: how far the search moved the point, and the energy where it began.
        package var moved: Double
        package var startEnergy: Double
        package var iterations: Int
        /// Why the search stopped (`target-gradient-norm`, `stalled`, `steps`).
        package var stop: String
        package var seconds: Double

        /// The point is what it was aimed at: certified, with exactly the target index.
        package var reachedTarget: Bool { certified && index == targetIndex }

        /// "end A is a certified minimum", "end A not certified: class stalled (‖∇L‖ = …)".
        package var sentence: String {
            let what = targetIndex == 0 ? (name.hasPrefix("minimum") ? name : "end \(name)") : "the refined top"
            let aim = targetIndex == 0 ? "minimum" : "index-\(targetIndex) saddle"
            if reachedTarget { return "\(what) is a certified \(aim)" }
            if certified { return "\(what) is a certified critical point of index \(index), not a\(targetIndex == 0 ? "" : "n") \(aim)" }
            return "\(what) not certified: class \(self.class)" + (failures.isEmpty ? "" : " (\(failures[0]))")
        }
    }

    /// The refined top against the band it came from.
    package struct RefinedSaddle: Codable, Sendable {
        package var point: CertifiedPoint
        /// The band's highest pivot (the refinement's start) and its energy.
        package var pivot: Int
        package var bandTopEnergy: Double
        /// The saddle's energy − the higher (polished) end's: the barrier of the minimum energy path.
        package var barrier: Double
        /// The saddle's energy − the band's top: ≤ 0 up to the band's convergence for the pass the band crossed.
        package var aboveBandTop: Double
        /// A certified index-1 saddle between the higher minimum's energy and the band's top (to
        /// 1e-9 relative): it can be the pass the band crossed. A saddle below the higher minimum,
        /// or above a path that stays lower, is another pass — eigenvector-following from a top
        /// that is far from critical can walk to one.
        package var isPass: Bool

        package init(point: CertifiedPoint, pivot: Int, bandTopEnergy: Double, higherMinimum: Double) {
            (self.point, self.pivot, self.bandTopEnergy) = (point, pivot, bandTopEnergy)
            barrier = point.energy - higherMinimum
            aboveBandTop = point.energy - bandTopEnergy
            isPass = point.reachedTarget && barrier >= 0 && aboveBandTop <= 1e-9 * max(1, abs(bandTopEnergy))
        }
    }

    /// Eigenvector-following budget of the polish and the refinement.
    /// **Decision:** stop at ‖∇E‖ ≤ 1e-12 absolute — 100 times below the certificate's bound, and
    /// above the rounding floor (≈ 1e-16 here): a relative target like the certified presets'
    /// 1e-14 × ‖∇E‖ at the start lies below the floor when the start is a trained point with a
    /// small gradient, and the steps taken there measure noise in the certificate's convergence
    /// order (one end measured order 2 on 1 rank and 0.5 on 2). Otherwise `landscape critical`'s
    /// preset numbers: at most 500 iterations, first trust radius 0.1, steps up to 1; and the
    /// model's continuous symmetries deflated whenever it has any (ReLU rescaling, a linear layer's
    /// GL(h)), whose exact zero eigenvalues would otherwise make every point uncertifiable.
    package static let polishTarget = 1e-12
    package static let polishIterations = 500

    /// The search `landscape critical` runs, aimed at `index` — 0 for the polish, 1 for the
    /// refinement — on the group's objective, with the exact Hessian.
    package func certifiedSearch(index: Int, training: DataParallelObjective, model: any Model, assembler: HessianAssembler?) -> CertifiedSearch {
        var s = CriticalSpecification()
        s.method = .eigenvectorFollowing
        s.index = index
        s.l2 = settings.l2
        s.iterations = Self.polishIterations
        s.curvature = .exact
        s.projectSymmetries = model.symmetryGroup(preservingNorm: settings.l2 > 0) != .none
        return CertifiedSearch(training: training, model: model, assembler: assembler, curvatureExact: true, settings: s,
                               configuration: configuration, gradientTarget: Self.polishTarget)
    }

    /// Refusals of `--polish` before anything runs: a loss without finite minima, and a Hessian
    /// too large to assemble at every step.
    package func requirePolishable(dimension m: Int, groupSize: Int, budget: Int) throws {
        guard settings.polish else { return }
        let bytes = exactCurvatureBytes(dimension: m, groupSize: groupSize)
        if bytes > Double(budget) {
            throw InputError(setting: "path.polish", "assembles H (M = \(m)) at every eigenvector-following step: ≈ \(formatBytes(Int(min(bytes, 1e18)))) per rank needed, \(formatBytes(budget)) available; use larger groups (--group-size) or more ranks (or set --memory-per-rank), or drop it")
        }
    }

    /// Eigenvector-following at `index` from each start (starts shared out to the rank groups like
    /// pivots, each data-parallel inside its group; collective over the world): every rank gets
    /// every polished point (bit-exact doubles) and its record (JSON from the group that made it).
    package static func certify(_ starts: [[Double]], names: [String], search: CertifiedSearch, groups: RankGroups,
                                progress: JobProgress) throws -> [(point: CertifiedPoint, parameters: [Double])] {
        let m = starts.first?.count ?? 0
        var records: [Int: [UInt8]] = [:]
        let index = search.settings.index ?? 0
        let polished = try groups.share(starts.count, width: m) { i in
            let (record, θ, eigenvalues) = try search.run(from: starts[i], start: i, origin: names[i])
            var moved = 0.0
            for j in θ.indices { moved += (θ[j] - starts[i][j]) * (θ[j] - starts[i][j]) }
            let point = CertifiedPoint(name: names[i], targetIndex: index, certified: record.certified, class: record.endClass,
                                       failures: record.certificate?.failures ?? [], energy: record.loss, loss: record.dataLoss,
                                       gradientNorm: record.gradientNorm, index: record.negative, nearZero: record.nearZero, positive: record.positive,
                                       smallestEigenvalues: Array(eigenvalues.prefix(5)), moved: moved.squareRoot(), startEnergy: record.startLoss,
                                       iterations: record.iterations, stop: record.stop, seconds: record.seconds)
            records[i] = Array(try NonFiniteJSON.encoder().encode(point))
            return θ
        }
        return try polished.enumerated().map { i, θ in
            // Item i was group (i mod groups)'s (`share`); its rank 0 holds the record.
            let root = groups.leaders[i % groups.count]
            let bytes = try groups.world.broadcast(bytes: records[i] ?? [], root: root)
            let point = try NonFiniteJSON.decoder().decode(CertifiedPoint.self, from: Data(bytes))
            progress.say(String(format: "path: %@ after %d iterations: E = %.12g, ‖∇E‖ = %.3g, index %d, moved %.3g (%.1f s)",
                                point.sentence, point.iterations, point.energy, point.gradientNorm, point.index, point.moved, point.seconds))
            return (point, θ)
        }
    }
}
