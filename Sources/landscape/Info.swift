import ArgumentParser
import CBLAS
import Cluster
import DistributedLinearAlgebra
import Foundation

struct Info: MPICommand {
    static let configuration = CommandConfiguration(
        abstract: "The MPI library, ranks and their hosts, thread level, BLACS grid and BLAS threads of this job.")

    @Option(help: ArgumentHelp("The grid to report: auto or PrxPc.", valueName: "PrxPc"))
    var grid: String = "auto"

    func run(on runtime: MPIRuntime) throws {
        let world = runtime.world
        let shape = try ProcessGrid.parseShape(grid, processes: world.size)
        let blasThreads = Int(openblas_get_num_threads())
        let placement = try world.gather(string: "\(runtime.hostname) (OpenBLAS threads \(blasThreads))")
        guard world.isRoot else { return }
        let levels = ["single", "funneled", "serialized", "multiple"]
        var lines = [
            "MPI library: \(MPIRuntime.libraryVersion.split(separator: "\n").first ?? "")",
            "ranks: \(world.size); thread level: \(levels.indices.contains(Int(runtime.threadLevel)) ? levels[Int(runtime.threadLevel)] : "\(runtime.threadLevel)")",
            "BLACS grid: \(shape.rows)x\(shape.columns) (row-major rank order)",
            "OpenBLAS threads per rank: \(blasThreads) (OPENBLAS_NUM_THREADS=\(ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset"))",
            "placement:",
        ]
        lines += placement.enumerated().map { "  rank \($0.offset) on \($0.element)" }
        print(lines.joined(separator: "\n"))
        if world.size == 1, let announced = Launcher.announcedSize, announced.value > 1 {
            standardError("warning: this process runs as 1 rank but \(announced.variable)=\(announced.value): the launcher and the MPI library do not match (an mpirun from another MPI, or srun without --mpi=pmix?)")
        }
    }
}
