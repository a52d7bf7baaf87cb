import Cluster
import Foundation
import Geometry
import NPY
import Optimization
import Reporting
import Support

extension InterpolateJob {
    /// The fixed layout a point travels in from its group to world rank 0: absent values are NaN
    /// (whether a value can be absent is known to every rank: the data kind, line or plane).
    static let recordWidth = 8
    /// Seconds between checkpoints of a running interpolation.
    static let checkpointInterval = 30.0

    func pack(_ r: PointRecord) -> [Double] {
        [Double(r.index), r.coordinates[0], r.coordinates.count > 1 ? r.coordinates[1] : .nan, r.loss,
         r.accuracy ?? .nan, r.gradientNorm ?? .nan, r.heldOutLoss ?? .nan, r.heldOutAccuracy ?? .nan]
    }

    func unpack(_ v: ArraySlice<Double>, _ context: Context) -> PointRecord {
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
    func measure(_ indices: [Int], _ context: Context) throws -> [PointRecord] {
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

    /// Rounds of points: in each, every group takes a chunk of the unfinished points; world rank 0
    /// collects them and checkpoints. A signal ends the run after the round (exit 3).
    func compute(_ context: inout Context) throws {
        let world = context.world, group = context.group
        var done = (resume ? try Self.checkpointFile.read(checkpoint, identity: context.identity, on: world) : nil) ?? FinishedPoints()
        let restored = (points: done.points.count, curvature: done.curvature.count)
        let finished = Set(done.points.map(\.index))
        let todo = context.grid.indices.filter { !finished.contains($0) }
        let chunk = min(32, max(1, (todo.count + 20 * context.groups.count - 1) / (20 * context.groups.count)))
        let shape = context.grid.count == 1 ? "1 point" : "\(context.grid.count) points"
        context.progress.say("interpolate: \(context.description); \(shape) (\(todo.count) to compute) on \(context.groups.count) group(s) of \(group.size) rank(s); \(context.model.summary), M = \(context.m), N = \(context.training.dataset.globalCount)")
        let clock = Stopwatch(), throttle = EstimatorJob.Throttle()
        var computed = 0
        // A checkpoint rewrites every finished point, so it is written by time, not by round: when
        // rank 0 finds `checkpointInterval` seconds passed (a killed run loses at most that and a round),
        // and on a signal. One allreduce per round carries both verdicts.
        var lastCheckpoint = Stopwatch()
        func checkpointOrStop(_ what: String, more: Bool) throws {
            let due = world.isRoot && more && lastCheckpoint.seconds >= Self.checkpointInterval ? 1 : 0
            var verdict = [Int(StopSignals.pending), due]
            try world.allreduce(&verdict, .max)
            guard verdict[0] != 0 || verdict[1] != 0 else { return }
            try Self.checkpointFile.write(done, identity: context.identity, to: checkpoint, on: world)
            lastCheckpoint = Stopwatch()
            guard verdict[0] != 0 else { return }
            throw StoppedBySignal(message: "signal after \(what): the finished points are in \(checkpoint.path); continue with the same command and --resume")
        }
        let start = Stopwatch()
        do {
            var next = 0
            while next < todo.count {
                let mine = next + context.groups.index * chunk
                let indices = mine < todo.count ? Array(todo[mine..<min(mine + chunk, todo.count)]) : []
                var packed: [Double] = []
                for record in try measure(indices, context) { packed += pack(record) }
                // One writer per group; the other ranks of a group hold the same values.
                let send = group.rank == 0 ? packed : []
                let counts = try world.allgather([send.count])
                let all = try world.gatherv(send, counts: counts)
                if world.isRoot {
                    for r in stride(from: 0, to: all.count, by: Self.recordWidth) {
                        done.points.append(unpack(all[r..<(r + Self.recordWidth)], context))
                    }
                }
                computed += counts.reduce(0, +) / Self.recordWidth
                next += chunk * context.groups.count
                if throttle.due() {
                    let rate = Double(computed) / max(start.seconds, 1e-9)
                    context.progress.say(String(format: "interpolate: %d/%d points, %.3g points/s, ETA %.0f s", finished.count + computed,
                                                context.grid.count, rate, Double(todo.count - computed) / max(rate, 1e-9)))
                }
                try checkpointOrStop("\(finished.count + computed) of \(context.grid.count) points", more: next < todo.count)
            }
        }
        let pointSeconds = start.seconds
        try context.timings.record("points", seconds: pointSeconds, on: world)
        // The curvature along the line, one point per group per round.
        let curvatureDone = Set(done.curvature.map(\.index))
        let sites = context.curvatureAlphas.indices.filter { !curvatureDone.contains($0) }
        if !sites.isEmpty {
            let started = Stopwatch()
            do {
                var next = 0
                while next < sites.count {
                    let mine = next + context.groups.index
                    var text = ""
                    if mine < sites.count {
                        let record = try curvature(site: sites[mine], context)
                        if group.rank == 0 { text = String(decoding: try NonFiniteJSON.encoder().encode(record), as: UTF8.self) }
                    }
                    let texts = try world.gather(string: text)
                    if world.isRoot {
                        for t in texts where !t.isEmpty { done.curvature.append(try NonFiniteJSON.decoder().decode(CurvatureRecord.self, from: Data(t.utf8))) }
                    }
                    next += context.groups.count
                    context.progress.say("interpolate: curvature at \(min(next, sites.count))/\(sites.count) points")
                    try checkpointOrStop("the curvature at \(min(next, sites.count)) of \(sites.count) points", more: next < sites.count)
                }
            }
            try context.timings.record("curvature", seconds: started.seconds, on: world)
        }
        try report(done, restored: restored, computed: computed, pointSeconds: pointSeconds, seconds: clock.seconds, &context)
    }
}
