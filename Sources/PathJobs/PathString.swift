import Jobs
import Cluster
import Foundation
import Geometry
import Optimization
import Support
import Training

/// Dynamic string sampling (Freeman & Bruna 2017; GEOMETRY.md §5): connect two points below a
/// loss level λ by a string of points below λ whose straight segments all stay below λ.
///
/// Rounds: every open segment's line is sampled (segments shared out to the rank groups); a
/// segment whose samples stay ≤ λ is confirmed; otherwise a new point at the samples' maximum (or
/// the midpoint) is trained with the run's [train] settings until its loss is ≤ λ − δ and splits
/// the segment in two (new points shared out too). δ = 5 % of the gap between λ and the higher
/// end point, so a new point is not itself on the level and its segments can be confirmed. A
/// point that does not get below λ within --string-steps leaves its segment unresolved. The
/// string converges when every segment is confirmed — which proves the end points connected at
/// level λ; not converging proves nothing.
extension PathJob {
    package struct StringProgress: Codable {
        package var rounds: Int
        /// Per segment (string order): confirmed below λ, or given up (its point could not be trained below λ, or no budget).
        package var confirmed: [Bool]
        package var unresolved: [Bool]
        package var evaluations: Int
        package var trainingSteps: Int
    }

    package struct StringOutcome {
        package var band: ElasticBand
        package var progress: StringProgress
        package var converged: Bool { progress.confirmed.allSatisfy { $0 } }
    }

    /// The string's checkpoint: its progress with the run's identity (string.json, written last) and
    /// its points (string.npy, streamed from the rows' owners).
    package static let stringCheckpoint = ResumableCheckpoint<StringProgress>(file: "string.json", what: "string")
    package static let stringPoints = "string.npy"

    package func runString(from a: [Double], to b: [Double], energies ends: (Double, Double), checkpoint: RunDirectory,
                   identity: String, _ context: Context) throws -> StringOutcome {
        let world = context.world, rows = context.rows, level = settings.level!
        let margin = 0.05 * (level - max(ends.0, ends.1))
        let points = ShardedVectorFile(checkpoint.file(Self.stringPoints), what: "string checkpoint")
        // This rank's rows of every point of the string.
        var band = ElasticBand(from: Array(a[rows.rows]), to: Array(b[rows.rows]), interior: 0)
        var progress = StringProgress(rounds: 0, confirmed: [false], unresolved: [false], evaluations: 0, trainingSteps: 0)
        if resume, let saved = try Self.stringCheckpoint.read(checkpoint, identity: identity, on: world) {
            progress = saved
            band = ElasticBand(pivots: try world.everyRank { try points.readRows(rows) }, dimension: rows.count)
            context.progress.say("path: resuming the string after round \(saved.rounds) (\(band.count) points)")
        }
        let t = segmentParameters(settings.segmentPoints)
        while true {
            var verdict = [Int(StopSignals.pending)]
            try world.allreduce(&verdict, .max)
            if verdict[0] != 0 {
                try world.agree { try checkpoint.create() }
                try points.write(band.pivots, count: band.count, rows: rows, on: world)
                try Self.stringCheckpoint.write(progress, identity: identity, to: checkpoint, on: world)
                throw StoppedBySignal(message: "\(StopSignals.name(verdict[0])) after round \(progress.rounds): the string is in \(checkpoint.path); continue with the same command and --resume")
            }
            let open = progress.confirmed.indices.filter { !progress.confirmed[$0] && !progress.unresolved[$0] }
            if open.isEmpty { break }
            let samples = try sampleSegments(band, segments: open, context).map(\.training)
            progress.evaluations += open.count * settings.segmentPoints
            var splits: [(segment: Int, t: Double)] = []
            for (k, s) in open.enumerated() {
                let peak = samples[k].max()!
                if peak <= level { progress.confirmed[s] = true; continue }
                splits.append((s, settings.split == .midpoint ? 0.5 : t[samples[k].firstIndex(of: peak)!]))
            }
            let room = settings.stringPoints - band.interiorCount
            for s in splits.dropFirst(max(0, room)) { progress.unresolved[s.segment] = true }
            splits = Array(splits.prefix(max(0, room)))
            if splits.isEmpty { progress.rounds += 1; continue }
            context.progress.say("path: string round \(progress.rounds + 1): \(band.count) points, training \(splits.count) new point(s) below λ = \(level)")
            // Train every new point (points shared out to the groups, each segment's ends whole on its
            // group): [loss, steps], and this rank's rows of the trained θ.
            let trained = try context.groups.shareOverRows(splits.count, rows: rows,
                                                           inputs: { [band.pivot(splits[$0].segment), band.pivot(splits[$0].segment + 1)] },
                                                           scalars: 2, returnsVector: true) { i, ends in
                var spec = configuration.train
                spec.steps = settings.stringSteps
                spec.epochs = nil
                spec.targetLoss = level - margin
                spec.targetGradientNorm = nil
                spec.checkpointEvery = 0
                spec.recordEvery = settings.stringSteps
                var trainer = Trainer(objective: context.training, specification: spec, seed: configuration.seed &+ UInt64(progress.rounds * 1000 + i + 1))
                let start = ElasticBand.interpolate(ends[0][...], ends[1][...], splits[i].t)
                let outcome = try trainer.run(from: TrainingState(step: 0, parameters: start))
                return ([outcome.final.loss, Double(outcome.updates)], outcome.state.parameters)
            }
            // Rebuild the string with the accepted points, segments split in two.
            var kept: [[Double]] = [], confirmed: [Bool] = [], unresolved: [Bool] = []
            var next = 0
            for s in 0..<(band.count - 1) {
                kept.append(Array(band.pivot(s)))
                if next < splits.count, splits[next].segment == s {
                    let r = trained.scalars[next]
                    progress.trainingSteps += Int(r[1])
                    if r[0] <= level {
                        kept.append(trained.rows[next])
                        confirmed += [false, false]
                        unresolved += [false, false]
                    } else {
                        context.progress.note("path: a string point between points \(s) and \(s + 1) stayed at loss \(r[0]) > λ after --string-steps \(settings.stringSteps); that segment is left unresolved")
                        confirmed.append(false)
                        unresolved.append(true)
                    }
                    next += 1
                } else {
                    confirmed.append(progress.confirmed[s])
                    unresolved.append(progress.unresolved[s])
                }
            }
            kept.append(Array(band.pivot(band.count - 1)))
            band = ElasticBand(pivots: kept.flatMap { $0 }, dimension: rows.count)
            progress.confirmed = confirmed
            progress.unresolved = unresolved
            progress.rounds += 1
        }
        return StringOutcome(band: band, progress: progress)
    }
}
