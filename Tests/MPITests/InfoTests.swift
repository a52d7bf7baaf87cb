import Foundation
import Testing

extension MPIJobs {
/// `landscape info` reports the job and warns when the launcher and the MPI library disagree.
@Suite struct Info {
    @Test func reportsRanksGridAndPlacement() throws {
        let run = try MPITestSupport.run(np: 3, ["info"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("ranks: 3; thread level: funneled"))
        #expect(run.stdout.contains("BLACS grid: 1x3"))
        #expect(run.stdout.split(separator: "\n").filter { $0.contains("  rank ") }.count == 3)
    }

    /// Started without mpirun (a singleton) while SLURM_NTASKS says 4: the classic sign of `srun`
    /// without `--mpi=pmix`, or of another MPI's launcher.
    @Test func warnsOnALauncherMismatch() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: MPITestSupport.landscape)
        process.arguments = ["info"]
        var environment = ProcessInfo.processInfo.environment
        environment["SLURM_NTASKS"] = "4"
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains("runs as 1 rank but SLURM_NTASKS=4"), "\(text)")
    }
}
}

extension MPIJobs {
/// A rank that fails while the others wait in a collective ends the whole job with its message.
@Suite struct FailingRank {
    @Test(arguments: [0, 1, 3])
    func endsEveryRankWithTheMessage(rank: Int) throws {
        let directory = try MPITestSupport.temporaryDirectory("abort")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out").path
        let start = Date()
        let run = try MPITestSupport.run(np: 4, ["eig", "--test-matrix", "householder:300", "--out", out],
                                         environment: ["LANDSCAPE_INJECT_FAILURE_ON_RANK": "\(rank)"], timeout: 60)
        #expect(run.status != 0 && run.status != -1, "status \(run.status)")
        #expect(run.stderr.contains("[rank \(rank)@") && run.stderr.contains("injected failure"), "\(run.stderr)")
        #expect(Date().timeIntervalSince(start) < 30)
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
}
