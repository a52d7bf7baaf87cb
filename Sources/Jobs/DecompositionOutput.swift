import Cluster
import DistributedLinearAlgebra

extension RunDirectory {
    /// Creates the directory (rank 0) and waits until every rank can see it — the first step of
    /// any collective write into it (collective).
    package func createCollectively(on world: Communicator) throws {
        if world.isRoot { try create() }
        try world.barrier()
    }

    /// Writes a decomposition (collective): the eigenvectors, if any, by every rank through MPI-IO;
    /// the eigenvalues by rank 0. Both atomically.
    package func write(_ decomposition: SymmetricEigenDecomposition, eigenvalues: String, eigenvectors: String?,
               on world: Communicator) throws {
        try createCollectively(on: world)
        if let eigenvectors, let z = decomposition.eigenvectors {
            try z.writeNPY(to: file(eigenvectors), columnCount: decomposition.eigenvalues.count)
        }
        if world.isRoot { try writeVector(decomposition.eigenvalues, to: eigenvalues) }
    }
}
