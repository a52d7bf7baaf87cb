import Cluster
import Foundation
import Support
import NPY

/// A command's output directory. Created only when results are ready (a run that fails on bad
/// input leaves nothing behind); every file in it is written under a temporary name and renamed,
/// so a reader never sees a half-written result. Only rank 0 writes through this type; collective
/// writers (MPI-IO) use the same temporary-then-rename rule themselves.
public struct RunDirectory: Sendable {
    public let path: String
    /// The `--out` the user gave, when this is a directory a job made inside it (a sweep's point,
    /// a study's part): messages then name both, since the user never typed the inner path.
    public let enclosing: String?

    public init(path: String) {
        self.path = path
        enclosing = nil
    }

    private init(path: String, enclosing: String) {
        self.path = path
        self.enclosing = enclosing
    }

    /// The directory `name` inside this one, named in messages as inside the same `--out`.
    public func subdirectory(_ name: String) -> RunDirectory {
        RunDirectory(path: file(name), enclosing: enclosing ?? path)
    }

    /// How messages name the directory: `--out 'DIR'`, or `'DIR/points/3' (inside --out 'DIR')`.
    public var named: String {
        enclosing.map { "'\(path)' (inside --out '\($0)')" } ?? "--out '\(path)'"
    }

    /// Refuses early (before any heavy work) an output path that cannot become a directory.
    ///
    /// The directory itself, or else its nearest existing ancestor, must be a directory we can
    /// create things in. It is probed by creating and removing a directory: permission bits say
    /// nothing for root, and nothing about read-only file systems.
    ///
    /// `resuming`: the user asked to continue a run here (`--resume`), so a `--out` that does not
    /// exist is refused — there is nothing to continue, and starting afresh would hide a mistyped
    /// path. Directories a job makes inside `--out` (a study's parts, which always resume what is
    /// there) are exempt: for them "nothing yet" is the normal start.
    public func validate(resuming: Bool = false) throws {
        if resuming, enclosing == nil, !FileManager.default.fileExists(atPath: path) {
            throw InputError("--resume: \(named) does not exist, so there is no run to continue; drop --resume to start one (or check the path)")
        }
        var existing = URL(fileURLWithPath: path).standardizedFileURL
        while !FileManager.default.fileExists(atPath: existing.path) && existing.path != "/" {
            existing = existing.deletingLastPathComponent()
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: existing.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InputError("\(named): '\(existing.path)' is not a directory; choose another path")
        }
        let probe = existing.appendingPathComponent(".landscape-probe-\(getpid())").path
        guard mkdir(probe, 0o700) == 0 else {
            throw InputError("\(named): no directory can be created in '\(existing.path)' (\(String(cString: strerror(errno)))); choose a writable location")
        }
        rmdir(probe)
    }

    /// Creates the directory (and its parents) — never inside a directory whose job lost its lock
    /// (`OutputGuard`): a directory removed mid-run is not silently recreated.
    public func create() throws {
        try OutputGuard.check(path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    public func writeJSON<T: Encodable>(_ value: T, to name: String) throws {
        let encoder = NonFiniteJSON.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(0x0a)
        try writeAtomically(data, to: file(name))
    }

    public func writeVector(_ values: [Double], to name: String) throws {
        try NPYArray(shape: [values.count], values: values).write(to: file(name))
    }
}

/// Wall-clock seconds and peak memory per phase, gathered from every rank (`timings.json`).
public struct PhaseTimings: Codable, Sendable {
    public struct Phase: Codable, Sendable {
        public var name: String
        /// Seconds on each rank, in rank order.
        public var seconds: [Double]
        /// Peak resident bytes of each rank at the end of the phase.
        public var peakResidentBytes: [Int]
        /// The method the phase ran when there was a choice (an eigensolve's solver, as `auto` or
        /// the user picked it), so timings.json says what was measured; absent otherwise.
        public var method: String? = nil
        /// Bytes each rank sent in the phase's exchange (the sample-GEMM assembly's entries sent to
        /// their owners; the operator-column assembly's allreduce payload), in rank order; absent
        /// for phases that count none.
        public var bytes: [Double]? = nil
        /// Bytes each rank received from other ranks, where the phase counts them.
        public var receivedBytes: [Double]? = nil
        /// Of `bytes`, those each rank sent to ranks on other nodes, where the phase counts them.
        public var offNodeBytes: [Double]? = nil
    }
    public var phases: [Phase] = []

    public init() {}

    /// Runs `body` as phase `name` (by `method`, when there was a choice) on every rank and records
    /// every rank's time (collective).
    public mutating func measure<T>(_ name: String, method: String? = nil, on communicator: Communicator,
                                    _ body: () throws -> T) throws -> T {
        let clock = Stopwatch()
        let result = try body()
        try record(name, seconds: clock.seconds, method: method, on: communicator)
        return result
    }

    /// Records a phase this rank timed itself (e.g. a sum of pieces), with the bytes it reduced
    /// when it counted them; gathers every rank's values.
    public mutating func record(_ name: String, seconds: Double, method: String? = nil, bytes: Double? = nil,
                                receivedBytes: Double? = nil, offNodeBytes: Double? = nil, on communicator: Communicator) throws {
        let seconds = try communicator.allgather([seconds])
        let peaks = try communicator.allgather([peakResidentBytes()])
        let bytes = try bytes.map { try communicator.allgather([$0]) }
        let received = try receivedBytes.map { try communicator.allgather([$0]) }
        let offNode = try offNodeBytes.map { try communicator.allgather([$0]) }
        phases.append(Phase(name: name, seconds: seconds, peakResidentBytes: peaks, method: method, bytes: bytes, receivedBytes: received,
                            offNodeBytes: offNode))
    }

    /// The slowest rank's seconds for each phase: what the user waited.
    public var wallSeconds: [String: Double] {
        Dictionary(phases.map { ($0.name, $0.seconds.max() ?? 0) }, uniquingKeysWith: +)
    }
}

/// Progress lines on rank 0's standard error (silenced by `--quiet`).
public struct JobProgress: Sendable {
    public let enabled: Bool
    package let isRoot: Bool
    public init(communicator: Communicator, quiet: Bool) {
        isRoot = communicator.isRoot
        enabled = isRoot && !quiet
    }
    public func say(_ message: @autoclosure () -> String) {
        if enabled { standardError("landscape: \(message())") }
    }
    /// A one-line note on rank 0 that `--quiet` does not silence (a fallback the user should know of).
    public func note(_ message: String) {
        if isRoot { standardError("note: \(message)") }
    }
}

/// A progress line at most every 2 s: long loops ask `due()` before they say how far they are.
public final class ProgressThrottle {
    package let clock = Stopwatch()
    package var last = -10.0

    public init() {}

    public func due() -> Bool {
        let now = clock.seconds
        guard now - last >= 2 else { return false }
        last = now
        return true
    }
}

