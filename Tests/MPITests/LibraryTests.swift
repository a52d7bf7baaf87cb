import Foundation
import Testing

extension MPIJobs {
/// The library's collective code (communicator, objective and operators, exact assemblers,
/// symmetrisation, the iterative driver, the jobs' work queue) run by `collective-checks` under mpirun on 1–4 ranks:
/// every distributed result against a single-rank reference, on every grid shape of P.
@Suite struct LibraryUnderMPI {
    static var checks: String {
        URL(fileURLWithPath: MPITestSupport.landscape).deletingLastPathComponent().appendingPathComponent("collective-checks").path
    }

    @Test(arguments: [1, 2, 3, 4])
    func collectiveChecksPass(np: Int) throws {
        let run = try MPITestSupport.execute(["mpirun", "-np", "\(np)", "--oversubscribe", Self.checks],
                                             environment: MPITestSupport.mpiEnvironment, timeout: 300)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(!run.stdout.contains("FAIL"), "\(run.stdout)")
        // Every family of checks ran (a filter or an early exit would drop some).
        for family in ["communicator.", "objective.", "operator.", "assembly.", "symmetrize.", "driver.", "krylov.", "seam.", "queue."] {
            #expect(run.stdout.contains("ok   \(family)"), "no \(family) checks ran:\n\(run.stdout)")
        }
        #expect(run.stdout.contains(" passed, 0 failed"), "\(run.stdout)")
    }
}
}
