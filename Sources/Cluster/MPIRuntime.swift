import CMPI
import Foundation
import Support

/// The process's MPI session: owns `MPI_Init_thread` / `MPI_Finalize` and the world communicator.
///
/// Thread level FUNNELED: only the main thread calls MPI (BLAS may use threads of its own).
/// The world communicator's error handler is `MPI_ERRORS_RETURN`, so failures come back as
/// return codes that `check` turns into `MPIError`s instead of aborting inside Open MPI.
public final class MPIRuntime {
    public let world: Communicator
    /// A private duplicate of the world on which ranks confirm a shared exit (`confirmShared`):
    /// its collectives can never match a collective of the job's own.
    private let exitCommunicator: Communicator
    /// The thread level MPI granted (`MPI_THREAD_*`).
    public let threadLevel: Int32
    /// This node's name as MPI reports it (`MPI_Get_processor_name`).
    public let hostname: String

    private var finalized = false

    public init() throws {
        var provided: Int32 = 0
        try check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided), "MPI_Init_thread")
        try check(MPI_Comm_set_errhandler(landscape_mpi_comm_world(), landscape_mpi_errors_return()),
                  "MPI_Comm_set_errhandler")
        threadLevel = provided
        world = try Communicator(handle: landscape_mpi_comm_world())
        exitCommunicator = try world.duplicate()
        var name = [CChar](repeating: 0, count: Int(MPI_MAX_PROCESSOR_NAME) + 1)
        var length: Int32 = 0
        try check(MPI_Get_processor_name(&name, &length), "MPI_Get_processor_name")
        hostname = String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // launch/mpirun's watch of the start: once rank 0 is past a collective every rank is up,
        // and the wrapper stops waiting for a host lost while starting. Every rank takes part
        // whether or not it was given the variable, so no rank waits alone.
        let started = ProcessInfo.processInfo.environment["LANDSCAPE_STARTED"] ?? ""
        if try world.allreduce(started.isEmpty ? 0 : 1, .max) == 1, world.isRoot, !started.isEmpty {
            _ = FileManager.default.createFile(atPath: started, contents: nil)
        }
    }

    /// `[rank N@host]`, the tag of every per-rank diagnostic.
    public var tag: String { "[rank \(world.rank)@\(hostname)]" }

    /// The MPI library's own version string (`MPI_Get_library_version`).
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING) + 1)
        var length: Int32 = 0
        guard MPI_Get_library_version(&buffer, &length) == MPI_SUCCESS else { return "unknown" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func finalize() {
        guard !finalized else { return }
        finalized = true
        _ = MPI_Finalize()
    }

    /// Ends every rank of the job with `code`. The message, if any, is printed first with this
    /// rank's tag, so the user learns which rank failed and why.
    public func abort(_ message: String?, code: Int32 = 1) -> Never {
        if let message { standardError("\(tag) error: \(message)") }
        _ = MPI_Abort(landscape_mpi_comm_world(), code)
        exit(code)
    }

    /// Runs a job body under the error contract every command shares:
    ///  * `InputError` (a verdict every rank shares): rank 0 prints `error: …`, all ranks finalize,
    ///    exit 2; likewise `CollectiveFailure` (exit 1) and `StoppedBySignal` (exit 3);
    ///  * any other error: the failing rank prints `[rank N@host] error: …` and calls `MPI_Abort`,
    ///    which ends all ranks — never a hang.
    /// A shared verdict is confirmed before the clean exit: every rank must reach it within
    /// `verdictTimeout` seconds. One that a rank reached alone — its peers still in a collective,
    /// e.g. an `InputError` thrown on rank 0 only — aborts the job with that rank's message instead.
    public func run(_ body: (MPIRuntime) throws -> Void) -> Never {
        do {
            try injectFailureIfAsked()
            try body(self)
            finalize()
            exit(0)
        } catch let error as InputError {
            confirmShared(error.message)
            if world.isRoot { standardError("error: \(error.message)") }
            finalize()
            exit(2)
        } catch let error as CollectiveFailure {
            confirmShared(error.message)
            if world.isRoot { standardError("error: \(error.message)") }
            finalize()
            exit(1)
        } catch let stop as StoppedBySignal {
            confirmShared(stop.message)
            if world.isRoot { standardError("stopped: \(stop.message)") }
            finalize()
            exit(StoppedBySignal.exitStatus)
        } catch {
            abort(String(describing: error), code: 1)
        }
    }

    /// Seconds every rank has to reach a shared exit (`LANDSCAPE_VERDICT_TIMEOUT`, default 10):
    /// ranks that share a verdict reach it within moments of each other, since they computed it
    /// from the same data or learned it in the same collective.
    public var verdictTimeout: Double {
        ProcessInfo.processInfo.environment["LANDSCAPE_VERDICT_TIMEOUT"].flatMap(Double.init) ?? 10
    }

    /// A non-blocking barrier on the private exit communicator, polled until every rank has
    /// arrived or `verdictTimeout` has passed; in the second case the verdict was not shared and
    /// this rank aborts the job with `message`.
    func confirmShared(_ message: String) {
        var request: MPI_Request? = nil
        guard MPI_Ibarrier(exitCommunicator.handle, &request) == MPI_SUCCESS else { abort(message, code: 1) }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(verdictTimeout * 1e9)
        var done: Int32 = 0
        while true {
            guard MPI_Test(&request, &done, landscape_mpi_status_ignore()) == MPI_SUCCESS else { abort(message, code: 1) }
            if done != 0 { return }
            if DispatchTime.now().uptimeNanoseconds >= deadline {
                abort("\(message) (this error reached only some ranks; the job is aborted)", code: 1)
            }
            usleep(2000)
        }
    }
}

extension MPIRuntime {
    /// `LANDSCAPE_INJECT_FAILURE_ON_RANK=r` makes rank r fail as the job starts while the others
    /// go on into their first collective: the test of "a failing rank ends the job, never a hang".
    /// `LANDSCAPE_INJECT_FAILURE=input-error@r` makes rank r alone throw bad input there — a
    /// verdict wrongly thrown on one rank, which `confirmShared` must turn into an abort.
    func injectFailureIfAsked() throws {
        struct InjectedFailure: Error, CustomStringConvertible {
            var description: String { "injected failure (LANDSCAPE_INJECT_FAILURE_ON_RANK)" }
        }
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["LANDSCAPE_INJECT_FAILURE_ON_RANK"], Int(text) == world.rank {
            throw InjectedFailure()
        }
        if FaultInjection.isArmed("input-error", rank: world.rank) {
            throw InputError("injected bad input on rank \(world.rank) alone (LANDSCAPE_INJECT_FAILURE)")
        }
    }
}

/// Writes one line to standard error, unbuffered.
public func standardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Launcher facts read from the environment before (or without) MPI: which rank this process
/// will be and how many the launcher started. Used to print parse errors once, and to warn when
/// the MPI library and the launcher disagree (a singleton run under another MPI's launcher).
public enum Launcher {
    static let rankVariables = ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"]
    static let sizeVariables = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"]

    /// This process's rank as the launcher announced it (0 when started without one).
    public static var announcedRank: Int {
        firstInteger(rankVariables)?.value ?? 0
    }

    /// The world size some launcher variable announces, with the variable's name.
    public static var announcedSize: (variable: String, value: Int)? {
        firstInteger(sizeVariables)
    }

    private static func firstInteger(_ names: [String]) -> (variable: String, value: Int)? {
        let environment = ProcessInfo.processInfo.environment
        for name in names {
            if let text = environment[name], let value = Int(text) { return (name, value) }
        }
        return nil
    }
}
