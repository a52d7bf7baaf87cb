import Cluster
import DistributedLinearAlgebra
import Networks
import Objectives
import Samples

/// How an exact curvature matrix is assembled (config key `hessian.assembly`).
public enum AssemblyMethod: String, Codable, Sendable, CaseIterable {
    /// Sample-GEMMs for MLPs, operator columns for every other model.
    case auto
    /// The MLP fast path (`ExactHessian`, HESSIAN_MATH.md): about N·M² flops in large GEMMs.
    case sampleGEMM = "sample-gemm"
    /// The generic path (`OperatorColumnAssembly`): batched curvature products against unit
    /// directions; needs only the `Model` protocol.
    case operatorColumns = "operator-columns"
}

/// Exact assembly of H or G of a data-parallel mean loss into a block-cyclic matrix, behind one
/// interface: the MLP sample-GEMM fast path where it applies, the generic operator-column
/// assembler otherwise (or when asked). Both fill the same matrix with the same values to rounding
/// (tested to 1e-12 relative) within the same memory bound per rank.
public struct CurvatureAssembly: Sendable {
    public let model: any Model
    /// The path this assembly takes (never `.auto`).
    public let method: AssemblyMethod
    public var panelWidth = 64
    /// How the sample-GEMM assembly's ranks combine their work (`auto`: by node layout).
    public var exchange = AssemblyExchange.auto

    /// `requested` `.sampleGEMM` on a model that is not an MLP is refused (InputError naming the key).
    public init(model: any Model, requested: AssemblyMethod = .auto) throws {
        self.model = model
        let isMLP = model is MultilayerPerceptron
        switch requested {
        case .auto: method = isMLP ? .sampleGEMM : .operatorColumns
        case .sampleGEMM:
            guard isMLP else {
                throw InputError("hessian.assembly = \"sample-gemm\" needs an MLP; this model (\(model.summary)) takes \"operator-columns\"")
            }
            method = .sampleGEMM
        case .operatorColumns: method = .operatorColumns
        }
    }

    private var mlp: MultilayerPerceptron? { model as? MultilayerPerceptron }

    /// What assembling one matrix costs each rank, for a shard of `samples` (the largest) on
    /// `ranks` ranks spread over `nodes` nodes, by the path and exchange `assemble` takes there.
    public func cost(samples: Int, ranks: Int, nodes: Int) -> AssemblyCost {
        switch method {
        case .sampleGEMM:
            var assembly = DistributedHessianAssembly(network: mlp!)
            assembly.exchange = exchange
            return assembly.cost(samples: samples, ranks: ranks, nodes: nodes)
        default:
            // The panels, and the forward pass the operator keeps for them; one allreduce per panel
            // of columns, M²/2 values in all (whatever the nodes: it has no other exchange).
            let m = model.parameterCount
            return AssemblyCost(exchange: ranks > 1 ? .allreduce : nil,
                                workingBytes: OperatorColumnAssembly(panelWidth: panelWidth).workingBytes(parameters: m)
                                    + CurvatureOperator.keptBytes(model, samples: samples),
                                busiestShare: 1 / Double(max(ranks, 1)), exchangeBytes: ranks > 1 ? Double(m) * Double(m) / 2 * 8 : 0)
        }
    }

    /// Flops of assembling H over `samples` samples (the cost hint of the GFLOP/s in reports): the
    /// sample-GEMMs' count, or one batched HVP per column panel.
    public func flops(samples: Int) -> Double {
        switch method {
        case .sampleGEMM: ExactHessian(network: mlp!).gemmFlops(samples: samples)
        default: Double(progressSteps) * model.flopsPerSample(.hvp, directions: panelWidth) * Double(samples)
        }
    }

    /// The number of steps `assemble` reports progress in (row blocks or column panels).
    public var progressSteps: Int {
        switch method {
        case .sampleGEMM: ExactHessian(network: mlp!).rowBlockCount
        default: (model.parameterCount + panelWidth - 1) / panelWidth
        }
    }

    /// A = H or G (mean over all ranks' samples) at θ into `matrix`; `progress` gets (done, total)
    /// in units of `progressSteps`.
    public func assemble(_ part: CurvaturePart, at θ: [Double], shard: SampleBatch, globalSampleCount: Int,
                         into matrix: inout BlockCyclicMatrix, progress: (Int, Int) -> Void = { _, _ in }) throws -> AssemblyTiming {
        switch method {
        case .sampleGEMM:
            var assembly = DistributedHessianAssembly(network: mlp!)
            assembly.exchange = exchange
            return try assembly.assemble(
                θ, shard: shard, globalSampleCount: globalSampleCount, part: part, into: &matrix, progress: progress)
        default:
            let op = CurvatureOperator(kind: part == .hessian ? .hessian : .gaussNewton, model: model, parameters: θ,
                                       shard: shard, globalSampleCount: globalSampleCount, communicator: matrix.grid.communicator)
            let panel = panelWidth, steps = progressSteps
            return try OperatorColumnAssembly(panelWidth: panel).assemble(op, into: &matrix) { done, _ in
                progress((done + panel - 1) / panel, steps)
            }
        }
    }
}
