import ArgumentParser
import Cluster
import Jobs
import Workflows

struct Compare: MPICommand {
    static let configuration = CommandConfiguration(
        abstract: "Principal angles between the top-k eigenspaces of H of two spectrum runs.",
        discussion: """
            A and B are `landscape spectrum --eigenvectors top:K` run directories of the same model (a trained \
            spectrum keeps them in DIR/final). Prints the overlap tr(P_A P_B)/k (1: the same space; k/M on average for \
            unrelated ones) and writes compare.json (cosines and angles) and angles.svg into --out (docs/anatomy.md).
            """)

    @Argument(help: ArgumentHelp("The first spectrum run directory.", valueName: "A")) var first: String
    @Argument(help: ArgumentHelp("The second spectrum run directory.", valueName: "B")) var second: String
    @Option(help: ArgumentHelp("Eigenvectors compared (default: all that both runs have).", valueName: "k")) var k: Int?
    @Flag(help: "Compare the eigenvectors of the k smallest eigenvalues instead of the largest.") var bottom = false
    @Option(help: "Output directory.") var out: String

    func validate() throws {
        if let k, k < 1 { throw ValidationError("--k must be ≥ 1") }
    }

    func run(on runtime: MPIRuntime) throws {
        var job = CompareJob(first: first, second: second, output: RunDirectory(path: out))
        job.count = k
        job.largest = !bottom
        try job.run(on: runtime.world)
    }
}
