import Cluster
import DistributedLinearAlgebra
import Foundation
import Support
import NPY
import Optimization
import Training
import Configuration
import Jobs
import Planning

/// `landscape sweep`: every point of a `SweepDefinition`, each a full `landscape spectrum` run
/// (train, then the Hessian spectrum after training) in DIR/points/<id>/, run by groups of ranks
/// side by side, then aggregated by world rank 0 into DIR/sweep/.
///
/// Scheduling is static: the points still to do are dealt to the groups by estimated cost,
/// largest first (`SweepDefinition.balance`), and every rank computes the same deal. That needs
/// no coordinator process and no messages between groups while they work, and it is the
/// same rule that splits a sweep across the tasks of a Slurm job array (`--slice`).
///
/// Completion is on disk: a point is done when its group's rank 0 has written
/// points/<id>/point.json with status "done", after every result file of the point. Re-running
/// (with or without --resume) skips done points and redoes any other point from scratch, so a
/// point interrupted by a crash or a time limit is recomputed, and what finished points wrote is
/// never touched. A point that fails (bad settings, a diverging run) is recorded as failed with
/// its message and the sweep goes on.
public struct SweepJob {
    public var definition: SweepDefinition
    /// The sweep file's text, kept as DIR/sweep/sweep.toml.
    public var definitionText: String
    public var output: RunDirectory
    public var groupSize: Int? = nil
    public var groupPlacement = GroupPlacement.node
    public var slice: (index: Int, count: Int)? = nil
    public var aggregateOnly = false
    public var resume = false
    /// Every point's eigensolver instead of the configuration's eig.solver (nil: the configuration's).
    public var solver: EigensolverChoice?
    /// Every point's spectrum also per diagonal block (`--blocks`) and with eigenvectors and their
    /// anatomy (`--eigenvectors`); summary.csv gets their columns (docs/anatomy.md).
    public var blocksPartition = BlockPartition.none
    public var vectors = EigenvectorSelection.none
    public var memoryPerRank: Int? = nil
    public var quiet = false

    public init(definition: SweepDefinition, definitionText: String, output: RunDirectory) {
        self.definition = definition
        self.definitionText = definitionText
        self.output = output
    }

    package var pointsDirectory: RunDirectory { output.subdirectory("points") }
    package var sweepDirectory: RunDirectory { output.subdirectory("sweep") }
    package func directory(of point: SweepPoint) -> RunDirectory { pointsDirectory.subdirectory(point.id) }

    /// (No `JobRun.own`: slices of one sweep run as separate jobs into the same directory, each
    /// point's directory being its group's alone.)
    public func run(on world: Communicator) throws {
        try JobRun.perform("sweep", configuration: nil, output: output, quiet: quiet, on: world) { run in
            try execute(run)
        }
    }

    private func execute(_ run: JobRun) throws {
        let (world, progress) = (run.world, run.progress)
        let size = groupSize ?? world.size
        // Refused before anything is written (the split itself comes once the points are known).
        try RankGroups.check(size: size, on: world, setting: "--group-size", placement: groupPlacement)
        if let slice, !(0..<slice.count).contains(slice.index) {
            throw InputError("--slice \(slice.index)/\(slice.count): the index must be in 0..<\(slice.count)")
        }
        try world.agree {
            if resume || aggregateOnly, !FileManager.default.fileExists(atPath: pointsDirectory.path) {
                throw InputError("\(aggregateOnly ? "--aggregate-only" : "--resume") '\(output.path)': no sweep there (no points/ directory); run the sweep first")
            }
            try output.validate()
        }

        // The points this run owns that are not done yet (rank 0 reads the disk, all agree).
        let owned = slice.map { definition.slice($0.index, of: $0.count) } ?? definition.points
        let pending: [Int] = aggregateOnly ? [] : try world.agree { () throws -> [Int] in
            // The points' spectrum options are the sweep's: a rerun with others would mix points
            // with and without their columns. A sweep written before they existed ran with none.
            let options = ["blocks": blocksPartition.description, "eigenvectors": vectors.description]
            let recorded = sweepDirectory.file("options.json")
            if let data = FileManager.default.contents(atPath: recorded), let earlier = try? JSONDecoder().decode([String: String].self, from: data) {
                guard earlier == options else {
                    throw InputError("'\(output.path)' was swept with --blocks \(earlier["blocks"] ?? "none") --eigenvectors \(earlier["eigenvectors"] ?? "none"); give the same options to continue it, or another --out")
                }
            } else if FileManager.default.fileExists(atPath: pointsDirectory.path), options != ["blocks": "none", "eigenvectors": "none"] {
                throw InputError("'\(output.path)' was swept with --blocks none --eigenvectors none; give the same options to continue it, or another --out")
            }
            try sweepDirectory.create()
            try pointsDirectory.create()
            try sweepDirectory.writeJSON(options, to: "options.json")
            try writeAtomically(Data(definitionText.utf8), to: sweepDirectory.file("sweep.toml"))
            return owned.indices.filter { (try? PointRecord.read(from: directory(of: owned[$0])))?.status != .done }
        }
        let groups = world.size / size
        if !aggregateOnly {
            progress.say("sweep: \(definition.points.count) points\(slice.map { ", slice \($0.index)/\($0.count) owns \(owned.count)" } ?? ""), \(owned.count - pending.count) already done, \(pending.count) to run on \(groups) group\(groups == 1 ? "" : "s") of \(size) rank\(size == 1 ? "" : "s")")
        }

        // The groups work independently (GroupWorkQueue.runIndependently): a signal stops each
        // group between its points, or inside one (the point is redone), and every rank throws
        // the stop together — once the summary of what finished is written.
        var stopped: StoppedBySignal? = nil
        if !pending.isEmpty {
            let budget = try memoryPerRank ?? MemoryPlan.defaultBudget(on: world)
            let rankGroups = try RankGroups.split(world, size: size, setting: "--group-size", placement: groupPlacement)
            rankGroups.announce(on: progress)
            defer { rankGroups.free() }
            let points = pending.map { owned[$0] }
            let position = Dictionary(uniqueKeysWithValues: points.indices.map { (points[$0].id, $0) })
            let deal = GroupDeal(lists: SweepDefinition.balance(points, into: groups).map { $0.map { position[$0.id]! } }, perRound: 1)
            let clock = Stopwatch()
            var costDone = 0.0
            let costTotal = points.reduce(0) { $0 + $1.estimatedCost }
            do {
                try GroupWorkQueue(rankGroups, deal: deal, checkpoint: .onStopOnly).runIndependently({ p in
                    let outcome = try self.run(points[p], group: rankGroups.group, index: rankGroups.index, memoryPerRank: budget)
                    guard outcome != .stopped else { return false }
                    costDone += points[p].estimatedCost
                    if world.isRoot { report(progress, elapsed: clock.seconds, costDone: costDone, costTotal: costTotal, groups: groups) }
                    return true
                }, stopMessage: {
                    "sweep stopped by a signal; finished points are kept — run the same command again (or with --resume) to do the rest"
                })
            } catch let stop as StoppedBySignal {
                stopped = stop
            }
        }
        // Every group is finished (or stopped) before rank 0 reads their results: the queue's
        // last allreduce, or no queue at all.
        var header = try run.completedHeader()
        header.point = "\(definition.points.count) points" + (slice.map { ", slice \($0.index)/\($0.count)" } ?? "")
        let failed = try world.agree { () throws -> Int in
            let summary = try SweepReport(definition: definition, output: output).write(header: header)
            if !quiet { print(summary) }
            return owned.count(where: { (try? PointRecord.read(from: directory(of: $0)))?.status == .failed })
        }
        if let stopped { throw stopped }
        // Exit 1 so a batch system marks the job; the other points' results are all on disk.
        if failed > 0 && !aggregateOnly {
            throw CollectiveFailure(message: "\(failed) of \(owned.count) points failed; their messages are in \(sweepDirectory.file("report.md")) (status failed in summary.csv)")
        }
    }

    package enum Outcome { case done, failed, stopped }

    /// One point on `group`: its directory cleared of any earlier, unfinished attempt, the
    /// train-then-spectrum job, and the record that says whether it is done.
    package func run(_ point: SweepPoint, group: Communicator, index: Int, memoryPerRank: Int) throws -> Outcome {
        let directory = directory(of: point)
        try group.agree {
            if FileManager.default.fileExists(atPath: directory.path) { try FileManager.default.removeItem(atPath: directory.path) }
            try directory.create()
            try directory.writeJSON(PointStart(id: point.id, label: point.label, group: index, ranks: group.size), to: "started.json")
        }
        var spectrum = SpectrumJob(configuration: point.configuration, point: .initialization, output: directory)
        spectrum.gaussNewtonSplit = point.gaussNewtonSplit
        spectrum.residualSpectrum = point.residualSpectrum
        spectrum.blocksPartition = blocksPartition
        spectrum.vectors = vectors
        if let solver { spectrum.solver = solver }
        spectrum.memoryPerRank = memoryPerRank
        spectrum.quiet = true
        spectrum.announce = false
        var job = TrainedSpectrumJob(spectrum: spectrum, output: directory)
        job.includeInitialization = point.includeInitialization
        let clock = Stopwatch()
        var record = PointRecord(point: point, group: index, ranks: group.size)
        do {
            try point.configuration.validate()
            try job.run(on: group)
            record.status = .done
        } catch let stop as StoppedBySignal {
            if group.isRoot { standardError("sweep: [group \(index)] \(point.label): stopped (\(stop.message)); it will be redone") }
            return .stopped
        } catch let error as InputError {
            record.status = .failed
            record.error = error.message
        } catch let error as CollectiveFailure {
            record.status = .failed
            record.error = error.message
        }
        record.seconds = try group.allreduce(clock.seconds, .max)
        if group.isRoot {
            try directory.writeJSON(record, to: "point.json")
            let verdict = record.status == .done ? String(format: "done in %.1f s", record.seconds) : "FAILED: \(record.error ?? "")"
            if !quiet { standardError("sweep: [group \(index)] \(point.label.isEmpty ? point.id : point.label): \(verdict)") }
        }
        return record.status == .done ? .done : .failed
    }

    /// Rank 0's status line: points done / running / failed / left over the whole sweep (read from
    /// the disk, so other groups and other array tasks count too) and an ETA from this run's
    /// throughput in estimated-cost units.
    package func report(_ progress: JobProgress, elapsed: Double, costDone: Double, costTotal: Double, groups: Int) {
        var done = 0, failed = 0, running = 0
        for point in definition.points {
            let directory = directory(of: point)
            switch (try? PointRecord.read(from: directory))?.status {
            case .done: done += 1
            case .failed: failed += 1
            case nil: if FileManager.default.fileExists(atPath: directory.file("started.json")) { running += 1 }
            }
        }
        let left = definition.points.count - done - failed - running
        // Rank 0's group did `costDone` in `elapsed`; the other groups work at the same pace.
        let rate = costDone * Double(groups) / max(elapsed, 1e-9)
        let eta = max(0, costTotal - costDone * Double(groups)) / max(rate, 1e-300)
        progress.say(String(format: "sweep: %d done, %d running, %d failed, %d left; ETA %.0f s", done, running, failed, left, eta))
    }
}

/// points/<id>/started.json: a group began this point (it is "running" until point.json appears).
package struct PointStart: Codable {
    package var id: String
    package var label: String
    package var group: Int
    package var ranks: Int
}

/// points/<id>/point.json: the last file a point writes.
package struct PointRecord: Codable {
    package enum Status: String, Codable { case done, failed }
    package var id: String
    package var label: String
    package var settings: [String: String]
    package var status: Status = .failed
    package var error: String? = nil
    package var seconds = 0.0
    package var group: Int
    package var ranks: Int

    package init(point: SweepPoint, group: Int, ranks: Int) {
        id = point.id
        label = point.label
        settings = Dictionary(point.settings.map { ($0.key, $0.value.rendered) }) { _, last in last }
        self.group = group
        self.ranks = ranks
    }

    package static func read(from directory: RunDirectory) throws -> PointRecord {
        try JSONDecoder().decode(PointRecord.self, from: Data(contentsOf: URL(fileURLWithPath: directory.file("point.json"))))
    }
}
