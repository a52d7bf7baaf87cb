import Cluster
import Configuration
import Datasets
import Foundation
import Networks
import Optimization
import Support

/// One job's run, from its first check to its summary: the job layer every command runs through.
///
/// `JobRun.perform` installs the stop signals, validates the configuration, agrees on the output
/// directory, and gives the job a run (the world, progress, timings, the run header) to fill.
/// The job then, in this order:
///   1. `inputs(…)` and `point(…)`: configuration → data → `any Model` → θ (a file or the
///      initialisation), each recorded in the header;
///   2. its own checks — every refusal before the directory is touched;
///   3. `own(verify:)`: the directory's lock (and kind marker), then config.toml;
///   4. its work, and `finish(summary)`: summary.json with the header, and timings.json.
/// The lock is released however the job ends; a job that returns has written its files (a
/// barrier: no rank returns before rank 0's writes are done, so a library caller may read them).
public struct JobRun {
    public let command: String
    public let world: Communicator
    public let output: RunDirectory
    public let progress: JobProgress
    public var timings = PhaseTimings()
    /// What summary.json will begin with; `inputs` and `point` fill most of it.
    public var header: RunHeader
    /// config.toml: the resolved configuration of the run (nil for a job without one, `eig`).
    package let configurationText: String?
    package let clock = Stopwatch()
    /// The directory's lock once `own` took it — shared by every copy of the run (a job's context
    /// may hold one), so that `perform` releases it however the job ends.
    private let ownership = Ownership()

    private final class Ownership {
        package var lock: RunDirectoryLock?
    }

    /// Runs `body` as the job `command` writing into `output`.
    public static func perform<T>(_ command: String, configuration: RunConfiguration?, model: (any Model)? = nil,
                                  output: RunDirectory, resuming: Bool = false, quiet: Bool, on world: Communicator,
                                  _ body: (inout JobRun) throws -> T) throws -> T {
        StopSignals.install()   // first: an early SIGUSR1 must not kill the rank
        try configuration?.validate()
        try world.agree { try output.validate(resuming: resuming) }
        var run = JobRun(command: command, world: world, output: output, progress: JobProgress(communicator: world, quiet: quiet),
                         header: RunHeader(command: command, ranks: world.size),
                         configurationText: configuration?.toml(runningOn: model))
        defer { run.ownership.lock?.release() }
        let result = try body(&run)
        try world.barrier()
        return result
    }

    /// Takes the run directory for this job (creating it; `RunDirectoryLock`) and writes
    /// config.toml. `verify` runs on rank 0 under the lock: a check that must not race with
    /// another job, such as `refuseFinishedRun`.
    public func own(verify: () throws -> Void = {}) throws {
        precondition(ownership.lock == nil, "a job owns its directory once")
        ownership.lock = try RunDirectoryLock.acquire(output, command: command, on: world, progress: progress, verify: verify)
        if world.isRoot, let configurationText {
            try writeAtomically(Data(configurationText.utf8), to: output.file("config.toml"))
        }
    }

    /// The header as it stands now, with the seconds so far and every rank's peak memory
    /// (collective: it gathers; the peaks are on rank 0 only).
    public func completedHeader() throws -> RunHeader {
        var header = self.header
        header.seconds = clock.seconds
        header.peakResidentBytesPerRank = try world.gather([peakResidentBytes()])
        return header
    }

    /// summary.json (`header` first, then the command's own keys) and timings.json (collective
    /// unless given the completed header; rank 0 writes).
    public func finish<Summary: Encodable>(_ summary: Summary, header completed: RunHeader? = nil) throws {
        let header = try completed ?? completedHeader()
        try writeSummary(summary, header: header)
        try writeTimings()
    }

    /// summary.json alone: `header` first, then the summary's keys (rank 0; no communication) —
    /// in the run directory, or in one of its parts (a path's pairs).
    public func writeSummary<Summary: Encodable>(_ summary: Summary, header: RunHeader, in directory: RunDirectory? = nil) throws {
        if world.isRoot { try (directory ?? output).writeJSON(HeadedSummary(header: header, summary: summary), to: "summary.json") }
    }

    /// timings.json alone (rank 0; no communication).
    public func writeTimings() throws {
        if world.isRoot { try output.writeJSON(timings, to: "timings.json") }
    }
}

/// The inputs every model job starts from: the data (this rank's shard, and the held-out shard
/// when the configuration has one) and the model for them.
public struct JobInputs {
    public let split: DataSplit
    public let model: any Model
    /// What a parameter file for the model must hold (with the likely cause of a wrong size).
    public let parameters: ParameterCount
    public var dataset: Dataset { split.training }
    public var m: Int { model.parameterCount }

    /// A parameter file for this model (`ParameterFile.read`).
    public func readParameters(_ path: String, on world: Communicator, flag: String? = nil, missing: String? = nil) throws -> [Double] {
        try ParameterFile.read(path, expecting: parameters, on: world, flag: flag, missing: missing)
    }
}

extension JobRun {
    /// configuration → data (timed as "data"; on `communicator`, the world by default, or a rank
    /// group that holds the whole data) → the model: the configuration's, or `given`, checked
    /// against the data. Recorded in the header.
    public mutating func inputs(_ configuration: RunConfiguration, given: (any Model)?,
                                on communicator: Communicator? = nil) throws -> JobInputs {
        let group = communicator ?? world
        let split = try timings.measure("data", on: world) { try configuration.data.loadSplit(seed: configuration.seed, on: group) }
        let model = try configuration.resolvedModel(for: split.training, given: given)
        header.model = model.summary
        header.data = split.training.description
        header.parameters = model.parameterCount
        header.samples = split.training.globalCount
        // A library caller's model is not described by [model]: no setting to blame for a wrong size.
        let parameters = given == nil && configuration.model.onnx == nil ? configuration.model.expectedParameters(of: model) : ParameterCount(m: model.parameterCount)
        return JobInputs(split: split, model: model, parameters: parameters)
    }

    /// θ at `point`: a parameter file (checked against M; `flag` names it in refusals) or the
    /// seed's initialisation. Recorded in the header; returns the point's name with it.
    public mutating func point(_ point: ParameterPoint, _ configuration: RunConfiguration, _ inputs: JobInputs,
                               flag: String = "--checkpoint") throws -> (θ: [Double], name: String) {
        let resolved: ([Double], String)
        switch point {
        case .checkpoint(let path):
            resolved = (try inputs.readParameters(path, on: world, flag: flag), path)
        case .initialization:
            resolved = configuration.initialParameters(for: inputs.model)
        }
        header.point = resolved.1
        return resolved
    }
}

extension RunDirectory {
    /// The usual `verify` of `JobRun.own`: a directory that already holds a finished run (its
    /// summary.json) is refused, unless the job resumes it (every job that calls this can).
    public func refuseFinishedRun(resuming: Bool) throws {
        if !resuming, FileManager.default.fileExists(atPath: file("summary.json")) {
            throw InputError("\(named) already holds results (summary.json); choose another --out (or --resume a stopped run)")
        }
    }
}

/// A job's context around its run (what its phases share once the inputs are checked): the
/// world, progress and timings are the run's.
package protocol RunContext {
    var run: JobRun { get set }
}

/// The context of a job whose work runs in rank groups on one model (critical, path,
/// interpolate, the estimators): M and this rank's group, derived.
package protocol GroupedRunContext: RunContext {
    var groups: RankGroups { get }
    var model: any Model { get }
}

extension GroupedRunContext {
    package var m: Int { model.parameterCount }
    package var group: Communicator { groups.group }
}

extension RunContext {
    package var world: Communicator { run.world }
    package var progress: JobProgress { run.progress }
    package var timings: PhaseTimings {
        get { run.timings }
        set { run.timings = newValue }
    }
}
