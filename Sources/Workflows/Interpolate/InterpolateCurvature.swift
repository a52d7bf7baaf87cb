import Jobs
import Cluster
import Curvature
import DistributedLinearAlgebra
import Foundation
import Krylov
import Networks
import Objectives
import Planning
import Support

/// The curvature of `landscape interpolate`: top eigenvalues and the exact index at points of a
/// line, and the top-eigenvector directions of a section.
extension InterpolateJob {
    /// Exact: H (M × M, block-cyclic over the group) plus the eigensolver's copy and workspace, about
    /// three matrices' worth per rank. Lanczos: a basis of `lanczosSettings` vectors, counted whole
    /// (an upper bound: it is sharded by rows over the group).
    package func checkCurvatureMemory(exact: Bool, m: Int, groupSize: Int, budget: Int) throws {
        let bytes: Double
        if exact {
            bytes = exactCurvatureBytes(dimension: m, groupSize: groupSize)
        } else {
            let s = lanczosSettings(count: min(configuration.top.count, m), m: m)
            bytes = LanczosSettings.workingBytes(dimension: m, basis: s.basis, blockSize: s.blockSize, wanted: s.wanted) + 64 * 1024 * 1024
        }
        guard bytes <= Double(budget) else {
            let fix = exact ? "use --curvature lanczos (top eigenvalues only), larger groups (--group-size), or more ranks"
                            : "ask for fewer eigenvalues (--k) or a smaller top.block-size (in --config)"
            throw InputError("not enough memory for the curvature along the line: ≈ \(formatBytes(Int(min(bytes, 1e18)))) per rank needed, \(formatBytes(budget)) available; \(fix) (or set --memory-per-rank)")
        }
    }

    /// Lanczos for the k largest eigenvalues with the `[top]` settings.
    package func lanczosSettings(count: Int, m: Int) -> LanczosSettings {
        configuration.curvatureLanczos(count: count, which: .largest, dimension: m)
    }

    /// The curvature at curvature site `site` (collective over the group).
    package func curvature(site: Int, _ context: Context) throws -> CurvatureRecord {
        let alpha = context.curvatureAlphas[site], θ = context.section.point([alpha]), m = context.m
        let k = min(configuration.top.count, m)
        if context.curvatureExact {
            let eigenvalues = try exactEigenvalues(at: θ, context)
            let counts = SpectrumCounts(eigenvalues: eigenvalues, dimension: m)
            return CurvatureRecord(index: site, alpha: alpha, method: "exact", topEigenvalues: Array(eigenvalues.reversed().prefix(k)),
                                   negativeFraction: Double(counts.negative) / Double(m), negative: counts.negative,
                                   smallestEigenvalue: eigenvalues.first, converged: nil)
        }
        let hessian = context.training.curvature(.hessian, at: θ)
        let result = try Lanczos(lanczosSettings(count: k, m: m)).run(hessian)
        let converged = result.converged.filter { $0 }.count
        if converged < k {
            context.progress.note("interpolate: at α = \(alpha) only \(converged) of \(k) top eigenvalues converged within top.max-matvecs = \(configuration.top.maxMatvecs); the others are Ritz values")
        }
        return CurvatureRecord(index: site, alpha: alpha, method: "lanczos", topEigenvalues: result.eigenvalues,
                               negativeFraction: nil, negative: nil, smallestEigenvalue: nil, converged: converged)
    }

    /// All eigenvalues of H at θ, ascending, on the group's squarest BLACS grid.
    package func exactEigenvalues(at θ: [Double], _ context: Context) throws -> [Double] {
        try exactHessianEigenvalues(at: θ, model: context.model, objective: context.training, configuration: configuration)
    }

    /// The `count` top eigenvectors of H at θ by Lanczos (largest first). Each group computes them
    /// on its own ranks; world rank 0's are broadcast, so every group uses the very same vectors.
    package func topEigenvectors(_ count: Int, at θ: [Double], model: any Model, training: DataParallelObjective,
                         on world: Communicator, progress: JobProgress) throws -> [[Double]] {
        let m = model.parameterCount
        guard count < m else { throw InputError("--direction top-eigenvector needs M > \(count) (M = \(m))") }
        let settings = lanczosSettings(count: count, m: m)
        progress.say("interpolate: the top \(count) eigenvector(s) of H at --from by Lanczos (basis \(settings.basis))")
        let result = try Lanczos(settings).run(training.curvature(.hessian, at: θ))
        var vectors = Array(result.eigenvectors[0..<(count * m)])
        try world.broadcast(&vectors)
        return (0..<count).map { Array(vectors[($0 * m)..<(($0 + 1) * m)]) }
    }
}
