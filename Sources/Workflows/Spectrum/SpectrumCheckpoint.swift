import Jobs
import Cluster
import DistributedLinearAlgebra
import Foundation
import NPY

/// DIR/checkpoint of a spectrum run stopped by a signal: the assembled matrices not yet
/// decomposed (raw, as assembled: H, G, R = H − G), each an M × M float64 NPY written by all
/// ranks through MPI-IO, and state.json — written last, by rank 0 — with the finished spectra's
/// summaries. Reading the matrices back into the same block-cyclic layout gives bit-identical
/// local pieces, so a resumed run ends exactly where an uninterrupted one does.
///
/// Without state.json there is no checkpoint (a run killed while writing one leaves only
/// .partial files or matrices without a state, and resumes by assembling again).
package struct SpectrumCheckpoint {
    package let directory: RunDirectory

    package struct State: Codable {
        /// The resolved configuration, the point and the options: a checkpoint resumes only the same run.
        package var identity: String
        package var finished: [String: SpectrumJob.SpectrumSummary]
        package var remaining: [String]
        package var assemblyFlops: Double
        package var assemblySeconds: Double
    }

    package func file(_ name: String) -> String { directory.file("\(name).npy") }

    /// The saved state if there is one for this run (rank 0; inside `agree`); nil if none.
    package func state(matching identity: String) throws -> State? {
        let path = directory.file("state.json")
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let state = try JSONDecoder().decode(State.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        guard state.identity == identity else {
            throw InputError("--resume: \(directory.path) is the checkpoint of a different run (another configuration, point or options); remove it or use another --out")
        }
        for name in state.remaining where !FileManager.default.fileExists(atPath: file(name)) {
            throw InputError("--resume: \(file(name)) is missing from the checkpoint; remove \(directory.path) to start over")
        }
        return state
    }

    /// Collective: every matrix, then the state that makes them a checkpoint.
    package func write(_ matrices: [(String, BlockCyclicMatrix)], state: State, on world: Communicator) throws {
        try directory.createCollectively(on: world)
        for (name, matrix) in matrices { try matrix.writeNPY(to: file(name)) }
        try world.barrier()
        if world.isRoot { try directory.writeJSON(state, to: "state.json") }
        try world.barrier()
    }

    package func read(_ name: String, grid: ProcessGrid, blockSize: Int) throws -> BlockCyclicMatrix {
        let header = try NPYHeader.read(contentsOf: file(name))
        return try BlockCyclicMatrix.read(npy: file(name), header: header, grid: grid, blockSize: blockSize).matrix
    }

    /// After a resumed run has finished: the state first, so a crash in between leaves no checkpoint.
    package func remove() throws {
        try FileManager.default.removeItem(atPath: directory.file("state.json"))
        try FileManager.default.removeItem(atPath: directory.path)
    }
}
