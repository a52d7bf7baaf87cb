import Cluster
import Configuration
import Jobs
import PathJobs
import Workflows
import Foundation
import Support

/// `landscape study connectivity` (docs/connectivity.md): for every width, train a minimum from
/// every seed on one dataset (`<width>/minimum-<seed>/`), connect the minima with `landscape path`
/// (`<width>/paths/`: one pair, or every pair with the minimum spanning tree), and write report.md:
/// the barrier of each path against the straight line's, the index at each path's top, and the
/// barriers against width. Re-running the same command skips finished parts and continues a
/// stopped one; a part run with other settings is refused (StudyParts).
public struct ConnectivityStudyJob {
    public var study: ConnectivityStudy
    public var output: RunDirectory
    public var memoryPerRank: Int?
    public var quiet = false

    public init(study: ConnectivityStudy, output: RunDirectory) {
        self.study = study
        self.output = output
    }

    /// A width as a directory name: "30-30".
    package static func name(_ width: [Int]) -> String { width.map(String.init).joined(separator: "-") }

    package func directory(_ width: [Int]) -> RunDirectory { output.subdirectory(Self.name(width)) }
    package func minimum(_ width: [Int], _ seed: UInt64) -> RunDirectory { directory(width).subdirectory("minimum-\(seed)") }
    package func paths(_ width: [Int]) -> RunDirectory { directory(width).subdirectory("paths") }

    /// The run configuration of a width (all minima share the data: data.seed is fixed).
    package func configuration(_ width: [Int], seed: UInt64? = nil) -> RunConfiguration {
        var c = study.base
        c.model.layers = width
        c.data.seed = study.base.data.seed ?? study.base.seed
        if let seed { c.seed = seed }
        return c
    }

    /// `landscape path` between a width's minima, with the configuration's `[path]` settings.
    package func pathJob(_ width: [Int]) -> PathJob {
        var job = PathJob(configuration: configuration(width), endpoints: study.seeds.map { minimum(width, $0).file("params.npy") },
                          output: paths(width))
        job.memoryPerRank = memoryPerRank
        job.resume = true   // finished pairs of a stopped study are kept
        job.quiet = quiet
        return job
    }

    /// A width's parts: its minima, then its paths, which start from all of them.
    package func plan(_ width: [Int], _ job: PathJob) -> (minima: [StudyParts.Part], paths: StudyParts.Part) {
        let name = Self.name(width)
        let minima = study.seeds.map { StudyParts.Part("\(name)/minimum-\($0)", configuration(width, seed: $0)) }
        let paths = StudyParts.Part("\(name)/paths", configuration(width)) { identity in
            identity.add(job.settingsIdentity)
            for (seed, minimum) in zip(study.seeds, minima) { identity.depend(on: "minimum-\(seed)/", minimum.identity) }
        }
        return (minima, paths)
    }

    public func run(on world: Communicator) throws {
        try study.validate()
        var jobs: [PathJob] = []
        for width in study.widths {
            // Every [path] setting is checked here, before any minimum is trained.
            try configuration(width).validate()
            let job = pathJob(width)
            try RankGroups.check(size: job.groupSize, on: world, setting: "path.group-size", placement: job.settings.groupPlacement)
            jobs.append(job)
        }
        try world.agree { try output.validate() }
        let progress = JobProgress(communicator: world, quiet: quiet)
        let parts = StudyParts(study: "connectivity", output: output, quiet: quiet)
        let plans = zip(study.widths, jobs).map { plan($0, $1) }
        let lock = try parts.lock(on: world)
        defer { lock.release() }
        // Parts left by an earlier run are reused or continued: each must be a part of this very study.
        try parts.requireSameSettings(plans.flatMap { $0.minima + [$0.paths] }, on: world)
        for (width, (job, plan)) in zip(study.widths, zip(jobs, plans)) {
            for (seed, minimum) in zip(study.seeds, plan.minima) {
                try parts.run(minimum, on: world) {
                    progress.say("study: width \(width), the minimum from seed \(seed)")
                    try parts.train(minimum, from: nil, on: world)
                }
            }
            try parts.run(plan.paths, on: world) {
                progress.say("study: width \(width), paths between \(study.seeds.count) minima")
                try job.run(on: world)
            }
        }
        let report = try world.agree { try writeReport() }
        progress.say("study: report in \(output.file("report.md"))\n\(report)")
    }

    /// The pairs' summaries of a width, with their minima (1-based, in seed order).
    package func pairs(_ width: [Int]) throws -> [(a: Int, b: Int, summary: PathJob.Summary)] {
        let n = study.seeds.count
        let decoder = NonFiniteJSON.decoder()
        func read(_ path: String) throws -> PathJob.Summary {
            try decoder.decode(PathJob.Summary.self, from: try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        if n == 2 { return [(1, 2, try read(paths(width).file("summary.json")))] }
        var result: [(Int, Int, PathJob.Summary)] = []
        for i in 1...n {
            for j in (i + 1)..<(n + 1) { result.append((i, j, try read(paths(width).file("pairs/\(i)-\(j)/summary.json")))) }
        }
        return result
    }

    package func writeReport() throws -> String {
        func f(_ v: Double) -> String { String(format: "%.4g", v) }
        var overview = "| width | M | minima: training loss | pairs | path barrier: mean / max | straight line: mean / max | paths converged | index at the top |\n|---|---|---|---|---|---|---|---|\n"
        var details = ""
        for width in study.widths {
            let rows = try pairs(width)
            let barriers = rows.map(\.summary.barrier), straight = rows.map(\.summary.straightLineBarrier)
            let losses = Set(rows.flatMap { [$0.summary.endpointLosses[0], $0.summary.endpointLosses[1]] }).sorted()
            let indices = rows.map { r in r.summary.curvature.first { $0.pivot == r.summary.highestPivot?.pivot }.map { "\($0.negative)" } ?? "—" }
            let m = rows.first?.summary.parameters ?? 0
            overview += "| \(width) | \(m) | \(losses.map(f).joined(separator: ", ")) | \(rows.count) | \(f(barriers.reduce(0, +) / Double(rows.count))) / \(f(barriers.max()!)) | "
                + "\(f(straight.reduce(0, +) / Double(rows.count))) / \(f(straight.max()!)) | \(rows.filter { $0.summary.converged }.count)/\(rows.count) | \(indices.joined(separator: ", ")) |\n"
            details += "\n### Width \(width) (M = \(m))\n\n| pair | seeds | barrier | straight line | path length / straight | iterations | index at A / top / B | ‖∇L‖ at the top | verdict |\n|---|---|---|---|---|---|---|---|---|\n"
            for r in rows {
                let s = r.summary
                let top = s.curvature.first { $0.pivot == s.highestPivot?.pivot }
                func index(_ pivot: Int?) -> String { s.curvature.first { $0.pivot == pivot }.map { "\($0.negative)" } ?? "—" }
                details += "| \(r.a)–\(r.b) | \(study.seeds[r.a - 1]), \(study.seeds[r.b - 1]) | \(f(s.barrier)) | \(f(s.straightLineBarrier)) | \(f(s.pathLength / s.straightLength)) | \(s.iterations) | "
                    + "\(index(0)) / \(index(s.highestPivot?.pivot)) / \(index(s.pivots + 1)) | \(top.map { String(format: "%.2g", $0.gradientNorm) } ?? "—") | \(s.verdict) |\n"
            }
        }
        let method = study.base.path
        let text = """
            # Mode connectivity: \(method.method.rawValue) paths between minima of \(study.widths.count) width(s)

            Minima: \(study.base.data.kind.rawValue) data (data.seed \(study.base.data.seed ?? study.base.seed)), seeds \(study.seeds.map(String.init).joined(separator: ", ")) \
            for the initialisation, trained with [train] (\(study.base.train.algorithm.rawValue), η = \(study.base.train.learningRate)). \
            Paths: `landscape path --method \(method.method.rawValue)` (pivots \(method.pivots)\(method.method == .autoneb ? " → at most \(method.maxPivots)" : ""), \
            tolerance \(method.tolerance)); the barrier is the path's highest loss − the higher minimum's, the straight line's likewise; \
            the index is the exact count of negative eigenvalues of H at the path's highest pivot.

            \(overview)\(details)
            """
        try writeAtomically(Data(text.utf8), to: output.file("report.md"))
        return text
    }
}
