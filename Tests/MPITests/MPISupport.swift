import CScaLAPACK
import Foundation
import NPY
import Testing

/// Every test that launches `mpirun` lives in a suite nested here: serialized, because MPI jobs
/// on 2 cores must not compete with each other (nor time out doing so).
@Suite(.serialized) struct MPIJobs {}

/// The outcome of one `mpirun` launch.
struct MPIRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum MPITestSupport {
    /// The built `landscape`: `swift test` builds the package's executables next to the test bundle.
    static var landscape: String {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [here, here.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("landscape").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/landscape").path
    }

    /// Runs `landscape args…` on `np` ranks. Output goes to files (a full pipe would stall the
    /// child); a watchdog ends a run that hangs, so "never a hang" is itself tested.
    static func run(np: Int, _ args: [String], environment extra: [String: String] = [:],
                    timeout: TimeInterval = 90) throws -> MPIRun {
        try execute(["mpirun", "-np", "\(np)", "--oversubscribe", landscape] + args,
                    environment: mpiEnvironment.merging(extra) { $1 }, timeout: timeout)
    }

    /// What every test launch of mpirun needs here: root allowed, one BLAS thread per rank,
    /// oversubscribed ranks that yield, no backtraces in the logs.
    static let mpiEnvironment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OPENBLAS_NUM_THREADS": "1",
                                 "OMPI_MCA_mpi_yield_when_idle": "1", "SWIFT_BACKTRACE": "enable=no"]

    /// Runs a command to completion, bounded by `timeout`, its output through files.
    static func execute(_ arguments: [String], environment extra: [String: String] = [:], in directory: URL? = nil,
                        timeout: TimeInterval) throws -> MPIRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment.merge(extra) { $1 }
        process.environment = environment
        if let directory { process.currentDirectoryURL = directory }
        let logs = try temporaryDirectory("run")
        defer { try? FileManager.default.removeItem(at: logs) }
        let out = logs.appendingPathComponent("stdout"), err = logs.appendingPathComponent("stderr")
        guard FileManager.default.createFile(atPath: out.path, contents: nil),
              FileManager.default.createFile(atPath: err.path, contents: nil)
        else { throw CocoaError(.fileWriteUnknown) }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let finished = wait(timeout: timeout) { !process.isRunning }
        if !finished {
            // Children inherit the test runner's blocked SIGTERM, so terminate() may go unheard.
            process.terminate()
            if !wait(timeout: 5, until: { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        let stdout = try String(contentsOf: out, encoding: .utf8), stderr = try String(contentsOf: err, encoding: .utf8)
        return MPIRun(status: finished ? process.terminationStatus : -1, stdout: stdout,
                      stderr: (finished ? "" : "\(arguments.joined(separator: " ")): timed out after \(timeout) s\n") + stderr)
    }

    /// Starts `landscape args…` on `np` ranks in the background, stdout and stderr into `log`,
    /// for tests that signal or kill the job while it runs.
    static func start(np: Int, _ args: [String], log: URL) throws -> Process {
        try start(["mpirun", "-np", "\(np)", "--oversubscribe", landscape] + args, environment: mpiEnvironment, log: log)
    }

    /// Starts `command` in the background (through env, so it is found on PATH) with `environment`
    /// over this process's own, standard output and error into `log`.
    static func start(_ command: [String], environment: [String: String], log: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Writes `text` to the file `name` in `directory`; its path.
    static func write(_ text: String, to name: String, in directory: URL) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Polls `condition` every 20 ms for at most `timeout` seconds; whether it came true.
    @discardableResult
    static func wait(timeout: TimeInterval, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    /// The rank processes of a background `mpirun` (its children, read from /proc).
    static func ranks(of mpirun: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == mpirun
        }
    }

    /// Sends `signal` to every rank of a background job (as Slurm signals every task; mpirun
    /// itself inherits a blocked signal mask from the test runner and would not forward it), then
    /// waits up to `timeout` seconds for the job to end, killing it if it does not.
    static func signalRanks(of process: Process, _ signal: Int32, timeout: TimeInterval = 60) {
        let ranks = ranks(of: process.processIdentifier)
        for pid in ranks { kill(pid, signal) }
        wait(timeout: timeout) { !process.isRunning }
        if process.isRunning {
            for pid in ranks { kill(pid, SIGKILL) }
            process.terminate()
        }
        process.waitUntilExit()
    }

    /// max |xᵢ − yᵢ| / max |yᵢ|: how far a result is from its reference, relative to the
    /// reference's scale (infinite when the lengths differ).
    static func maxRelativeDifference(_ x: [Double], _ y: [Double]) -> Double {
        guard x.count == y.count else { return .infinity }
        let scale = max(y.map(abs).max() ?? 0, Double.leastNormalMagnitude)
        return zip(x, y).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    static func temporaryDirectory(_ tag: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("landscape-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A dense symmetric test matrix with entries from a fixed linear congruential sequence.
struct SymmetricTestMatrix {
    let n: Int
    /// Column-major n × n (symmetric, so also row-major).
    var entries: [Double]

    init(n: Int, seed: UInt64) {
        self.n = n
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) * 0x1p-53 * 2 - 1
        }
        entries = [Double](repeating: 0, count: n * n)
        for j in 0..<n { for i in j..<n {
            let v = uniform()
            entries[j * n + i] = v
            entries[i * n + j] = v
        } }
    }

    /// A rank-`rank` matrix V S Vᵀ (V the first columns of the random matrix above, S = diag(±1)):
    /// n − rank exactly zero eigenvalues, like a Hessian's bulk at zero, which makes divide and
    /// conquer deflate most of its merges.
    init(n: Int, rank: Int, seed: UInt64) {
        let random = SymmetricTestMatrix(n: n, seed: seed)
        self.n = n
        entries = [Double](repeating: 0, count: n * n)
        for k in 0..<rank {
            let sign: Double = k % 3 == 2 ? -1 : 1
            for j in 0..<n { for i in 0..<n {
                entries[j * n + i] += sign * random.entries[k * n + i] * random.entries[k * n + j]
            } }
        }
    }

    /// LAPACK's `dsyevd` on one process: the reference.
    func referenceEigenvalues() -> [Double] {
        var a = entries, w = [Double](repeating: 0, count: n)
        let info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 78, 76, Int32(n), &a, Int32(n), &w)
        precondition(info == 0)
        return w
    }

    /// Writes the matrix as NPY in the given dtype, byte order and memory order.
    func write(to path: String, descr: String = "<f8", fortranOrder: Bool = false, entries custom: [Double]? = nil) throws {
        let values = custom ?? entries   // column-major
        let type = try NPYDataType(descr: descr)
        var data = Data(NPYHeader(dataType: type, fortranOrder: fortranOrder, shape: [n, n]).encoded())
        for k in 0..<(n * n) {
            // Element k of the file: column-major index k (Fortran) or row-major index k (C).
            let (i, j) = fortranOrder ? (k % n, k / n) : (k / n, k % n)
            let v = values[j * n + i]
            switch (type.itemSize, type.byteOrder) {
            case (8, .big): withUnsafeBytes(of: v.bitPattern.bigEndian) { data.append(contentsOf: $0) }
            case (8, _): withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
            case (4, .big): withUnsafeBytes(of: Float(v).bitPattern.bigEndian) { data.append(contentsOf: $0) }
            default: withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { data.append(contentsOf: $0) }
            }
        }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
