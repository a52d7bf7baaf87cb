import Cluster
import Configuration
import Curvature
import Krylov
import Networks
import Objectives

extension HessianAssembler {
    /// The assembler with the configuration's hessian.block and hessian.assembly.
    package convenience init(model: any Model, objective: DataParallelObjective, configuration: RunConfiguration) throws {
        try self.init(model: model, objective: objective, blockSize: configuration.hessianBlock, assembly: configuration.hessianAssembly)
    }
}

/// Every eigenvalue of the exact Hessian at θ, ascending, with the configuration's hessian.block
/// and hessian.assembly.
package func exactHessianEigenvalues(at θ: [Double], model: any Model, objective: DataParallelObjective,
                             configuration: RunConfiguration) throws -> [Double] {
    try exactHessianEigenvalues(at: θ, model: model, objective: objective, blockSize: configuration.hessianBlock,
                                assembly: configuration.hessianAssembly)
}

extension RunConfiguration {
    /// Lanczos for the `count` eigenvalues of H at one end, with the `[top]` settings' tolerance,
    /// block size and matvec budget: the basis a few times `count` (at least the minimum for it).
    package func curvatureLanczos(count: Int, which: SpectrumEnd, dimension m: Int) -> LanczosSettings {
        let b = min(top.blockSize, m)   // at M ≤ k the Krylov space is the whole space (all M pairs, exact)
        let minimum = min(m, LanczosSettings.minimumBasis(count: count, which: which, blockSize: b))
        let basis = max(minimum, min(m, 4 * count + 8 * b))
        return LanczosSettings(count: count, which: which, tolerance: top.tolerance, blockSize: b, basis: basis,
                               maxMatvecs: top.maxMatvecs, seed: seed)
    }
}
