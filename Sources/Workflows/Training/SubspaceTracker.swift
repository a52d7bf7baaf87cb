import Cluster
import DistributedLinearAlgebra
import Foundation
import Jobs
import Krylov
import Objectives
import Support

/// `train.track-top = K`: H's top-K eigenspace along a training run (Gur-Ari et al., "gradient
/// descent happens in a tiny subspace"). At the tracked steps, block Lanczos on the data-parallel
/// Hessian at θ_t (matrix-free, as `landscape top`) finds the K largest eigenpairs; track.csv gets
/// the step, those eigenvalues, the fraction ‖P_K ∇L‖² / ‖∇L‖² of the gradient inside their span,
/// and the overlap tr(P_K(t) P_K(t′))/K with the previous tracked step's span (docs/anatomy.md).
final class SubspaceTracker {
    let objective: DataParallelObjective
    let count: Int
    let every: Int
    let seed: UInt64
    let directory: RunDirectory
    /// The previous tracked span (M × K), for the overlap; nil at the first tracked step of a
    /// process (a resumed run's first row has no overlap).
    private var previous: [Double]?

    static let file = "track.csv"

    init(objective: DataParallelObjective, count: Int, every: Int, seed: UInt64, directory: RunDirectory) {
        self.objective = objective
        self.count = count
        self.every = every
        self.seed = seed
        self.directory = directory
    }

    /// Lanczos settings for K of M: a block of up to 4, a basis of 4K + 32 (at most M), tight
    /// enough that the fractions are exact to about 1e-8.
    var settings: LanczosSettings {
        let m = objective.model.parameterCount, k = min(count, m - 1)
        let block = min(4, k)
        let basis = min(m, max(LanczosSettings.minimumBasis(count: k, which: .largest, blockSize: block), 4 * k + 32))
        return LanczosSettings(count: k, which: .largest, tolerance: 1e-10, blockSize: block, basis: basis, maxMatvecs: 50 * k + 500, seed: seed)
    }

    /// Starts track.csv (rank 0): its header, and the rows of steps before `resumingAt` kept.
    func startLog(resumingAt step: Int?) throws {
        let header = "step," + (1...count).map { "lambda_\($0)" }.joined(separator: ",") + ",gradient_fraction,overlap_previous,matvecs,converged"
        try TrainRunFiles.startLog(directory.file(Self.file), header: header, resumingAt: step)
    }

    /// At a record step (collective): the top-K pairs, the gradient's share, the overlap; rank 0 appends the row.
    func record(step: Int, parameters θ: [Double], evaluation: Evaluation) throws {
        guard step % every == 0, let gradient = evaluation.gradient else { return }
        let result = try Lanczos(settings).run(objective.curvature(.hessian, at: θ))
        let m = θ.count, k = result.eigenvalues.count
        let norm = gradient.reduce(0) { $0 + $1 * $1 }
        var inside = 0.0
        for j in 0..<k {
            var c = 0.0
            for i in 0..<m { c += result.eigenvectors[j * m + i] * gradient[i] }
            inside += c * c
        }
        // Compared only when both spans have K vectors (a Krylov space that ran out gives fewer).
        let overlap = try previous.flatMap { $0.count == result.eigenvectors.count ? try PrincipalAngles($0, result.eigenvectors, length: m, count: k).overlap : nil }
        previous = result.eigenvectors
        guard objective.communicator.isRoot else { return }
        func text(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }
        let fields = ["\(step)"] + result.eigenvalues.map(text) + (k < count ? Array(repeating: "", count: count - k) : [])
            + [text(norm > 0 ? inside / norm : nil), text(overlap), "\(result.matvecs)", "\(result.converged.filter { $0 }.count)"]
        try TrainRunFiles.appendRow(fields.joined(separator: ",") + "\n", to: directory.file(Self.file))
    }
}
