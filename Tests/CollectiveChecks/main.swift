// collective-checks: the library's collective code run under mpirun directly (not through the
// CLI binary): Communicator, the data-parallel objective and its operators, the block-cyclic
// operator, the exact assemblers, symmetrisation, the iterative driver, the Krylov estimators, the jobs over a second model (SeamChecks), and the jobs' work queue (QueueChecks). Every distributed
// result is compared with a single-rank reference that each rank computes on the whole data, so
// `mpirun -np P collective-checks` proves "distributed = serial" for P ranks and every grid shape
// it tries. Prints one line per check on rank 0 and "N passed, M failed"; exit 1 when any failed.
//   mpirun -np 3 --oversubscribe .build/debug/collective-checks [name-prefix …]
import Cluster
import Foundation

let runtime: MPIRuntime
do { runtime = try MPIRuntime() } catch {
    FileHandle.standardError.write(Data("MPI did not start: \(error)\n".utf8))
    exit(1)
}
let filters = Array(CommandLine.arguments.dropFirst())
runtime.run { runtime in
    var suite = CheckSuite(world: runtime.world, filters: filters)
    try registerCommunicatorChecks(&suite)
    try registerObjectiveChecks(&suite)
    try registerAssemblyChecks(&suite)
    try registerDriverChecks(&suite)
    try registerKrylovChecks(&suite)
    try registerSeamChecks(&suite)
    try registerQueueChecks(&suite)
    try registerAnatomyChecks(&suite)
    try registerBandChecks(&suite)
    try suite.finish()
}
