import Jobs
import Cluster
import Foundation
import Geometry
import NPY
import Optimization
import Reporting
import Support

extension InterpolateJob {
    /// Seconds between checkpoints of a running interpolation.
    package static let checkpointInterval = 30.0

    /// The fixed layout (8 doubles) a point travels in from its group to world rank 0: absent values
    /// are NaN (whether a value can be absent is known to every rank: the data kind, line or plane).
    package func pack(_ r: PointRecord) -> [Double] {
        [Double(r.index), r.coordinates[0], r.coordinates.count > 1 ? r.coordinates[1] : .nan, r.loss,
         r.accuracy ?? .nan, r.gradientNorm ?? .nan, r.heldOutLoss ?? .nan, r.heldOutAccuracy ?? .nan]
    }

    package func unpack(_ v: ArraySlice<Double>, _ context: Context) -> PointRecord {
        let v = Array(v)
        let classification = context.training.dataset.isClassification, line = context.section.dimension == 1
        return PointRecord(index: Int(v[0]), coordinates: line ? [v[1]] : [v[1], v[2]], loss: v[3],
                           accuracy: classification ? v[4] : nil, gradientNorm: line ? v[5] : nil,
                           heldOutLoss: context.heldOut == nil ? nil : v[6],
                           heldOutAccuracy: context.heldOut != nil && classification ? v[7] : nil)
    }

    /// L, accuracy (and ‖∇L‖ on a line) at the grid points `indices`, on the training and held-out data.
    ///
    /// A line reports ‖∇L‖, point by point with the reduction `landscape evaluate` makes (so the loss
    /// at A and B is bit-identical to it). A plane reports the loss and accuracy only, all the points
    /// of the chunk in one call that shares the model's first-layer products between them.
    package func measure(_ indices: [Int], _ context: Context) throws -> [PointRecord] {
        if context.section.dimension == 2, case .directions(let origin, let d) = context.section.form {
            let c = indices.map { context.grid[$0] }
            let e = try context.training.evaluate(origin: origin, directions: d, coefficients: c)
            let h = try context.heldOut?.evaluate(origin: origin, directions: d, coefficients: c)
            return indices.indices.map { p in
                PointRecord(index: indices[p], coordinates: c[p], loss: e[p].loss, accuracy: e[p].accuracy, gradientNorm: nil,
                            heldOutLoss: h?[p].loss, heldOutAccuracy: h?[p].accuracy)
            }
        }
        return try indices.map { index in
            let c = context.grid[index], θ = context.section.point(c)
            let e = try context.training.evaluate(θ, gradient: true)
            let h = try context.heldOut?.evaluate(θ, gradient: false)
            return PointRecord(index: index, coordinates: c, loss: e.loss, accuracy: e.accuracy, gradientNorm: e.gradientNorm,
                               heldOutLoss: h?.loss, heldOutAccuracy: h?.accuracy)
        }
    }

    /// Rounds of points (`GroupWorkQueue`): in each, every group takes a chunk of the unfinished
    /// points; world rank 0 collects them and checkpoints. A signal ends the run after the round (exit 3).
    package func compute(_ context: inout Context) throws {
        let world = context.world, group = context.group
        var done = (resume ? try Self.checkpointFile.read(checkpoint, identity: context.identity, on: world) : nil) ?? FinishedPoints()
        let restored = (points: done.points.count, curvature: done.curvature.count)
        let finished = Set(done.points.map(\.index))
        let todo = context.grid.indices.filter { !finished.contains($0) }
        let chunk = min(32, max(1, (todo.count + 20 * context.groups.count - 1) / (20 * context.groups.count)))
        let shape = context.grid.count == 1 ? "1 point" : "\(context.grid.count) points"
        context.progress.say("interpolate: \(context.description); \(shape) (\(todo.count) to compute) on \(context.groups.count) group(s) of \(group.size) rank(s); \(context.model.summary), M = \(context.m), N = \(context.training.dataset.globalCount)")
        let clock = Stopwatch(), throttle = ProgressThrottle()
        var computed = 0
        // A checkpoint rewrites every finished point, so it is written by time, not by round: when
        // rank 0 finds `checkpointInterval` seconds passed (a killed run loses at most that and a
        // round), and on a signal.
        func save() throws { try Self.checkpointFile.write(done, identity: context.identity, to: checkpoint, on: world) }
        let start = Stopwatch()
        // Chunks of consecutive points per group per round: a point's values travel packed as
        // doubles (bit-exact), one writer per group.
        let pointQueue = GroupWorkQueue(context.groups, deal: .chunks(of: chunk, todo.count, groups: context.groups.count),
                                        checkpoint: .every(seconds: Self.checkpointInterval))
        try pointQueue.run(compute: { positions in
            try measure(positions.map { todo[$0] }, context).map { (GroupWorkQueue.NoRecord(), pack($0)) }
        }, collect: { results in
            for result in results { done.points.append(unpack(result.payload[...], context)) }
        }, afterRound: { round in
            computed = round.completed
            if throttle.due() {
                let rate = Double(computed) / max(start.seconds, 1e-9)
                context.progress.say(String(format: "interpolate: %d/%d points, %.3g points/s, ETA %.0f s", finished.count + computed,
                                            context.grid.count, rate, Double(todo.count - computed) / max(rate, 1e-9)))
            }
        }, checkpoint: save, stopMessage: { round in
            "signal after \(finished.count + round.completed) of \(context.grid.count) points: the finished points are in \(checkpoint.path); continue with the same command and --resume"
        })
        let pointSeconds = start.seconds
        try context.timings.record("points", seconds: pointSeconds, on: world)
        // The curvature along the line, one point per group per round (its first verdict stops a
        // run signalled while the last points were computed, before a curvature site).
        let curvatureDone = Set(done.curvature.map(\.index))
        let sites = context.curvatureAlphas.indices.filter { !curvatureDone.contains($0) }
        if !sites.isEmpty {
            let started = Stopwatch()
            let siteQueue = GroupWorkQueue(context.groups, deal: .chunks(of: 1, sites.count, groups: context.groups.count),
                                           checkpoint: .every(seconds: Self.checkpointInterval))
            try siteQueue.run(compute: { positions in
                try positions.map { (try curvature(site: sites[$0], context), []) }
            }, collect: { results in
                done.curvature += results.map(\.record)
            }, afterRound: { round in
                context.progress.say("interpolate: curvature at \(round.completed)/\(sites.count) points")
            }, checkpoint: save, stopMessage: { round in
                "signal after the curvature at \(round.completed) of \(sites.count) points: the finished points are in \(checkpoint.path); continue with the same command and --resume"
            })
            try context.timings.record("curvature", seconds: started.seconds, on: world)
        }
        try report(done, restored: restored, computed: computed, pointSeconds: pointSeconds, seconds: clock.seconds, &context)
    }
}
