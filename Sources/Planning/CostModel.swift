import Curvature
import DistributedLinearAlgebra
import Foundation
import Networks

/// Memory and time of a spectrum job for any M, N and P, without running it (`landscape plan`).
///
/// Memory is the run's own accounting (`MemoryAccount`, as `MemoryPlan` refuses jobs with): the
/// largest block-cyclic piece of H (plus G and R with the Gauss–Newton split, plus Z with
/// eigenvectors), the eigensolver's work arrays (estimated: the plan has no grid to query), the
/// per-sample factors of the rank's data shard, the symmetrisation panels and the process baseline.
///
/// Time is a cost model fitted on this machine (bench/assembly.sh, bench/eigensolvers.sh; figures
/// in docs/scaling.md): assembly ≈ N·M² / (P · r_gemm) — the sample-GEMMs split across ranks — plus
/// the exchange `assemble` takes on the nodes given: on one node the allreduce of partial panels
/// (≈ 4·M² bytes of payload per rank whatever P), across nodes each entry sent to its owner
/// (≈ 8·M²/P bytes per rank), each at its measured rate; eigen-decomposition ≈
/// M³ / (P · r_eig), with r_eig for eigenvalues only (ELPA 2-stage) or with all eigenvectors.
/// These are projections: on other hardware measure the rates with the benchmarks and pass them.
public struct CostModel: Sendable {
    /// Sustained GEMM rate of the assembly per rank (GFLOP/s) with every core busy. It depends on
    /// the widths (wider layers, larger GEMMs): measured per rank on 2 ranks, 18 for 100-30-30-50
    /// (M = 5510), 27 for 100-30-30-10, 35 for 784-5-10 (bench/assembly.sh, bench/scaling.sh,
    /// docs/scaling.md); the default is the lowest, so the plan errs on the slow side.
    public var assemblyGFLOPSPerRank = 18.0
    /// The same for the generic assembly from batched curvature products against unit directions
    /// (`operator-columns`: every convnet, and models without a sample-GEMM path), whose products
    /// count their own flops: 4.7 per rank measured on 2 ranks for the MNIST convnet of
    /// examples/train-onnx.toml (M = 2594, N = 1000: 230 GFLOP in 24.5 s; im2col, pooling and
    /// small GEMMs keep it below the sample-GEMMs' rate).
    public var operatorColumnsGFLOPSPerRank = 4.7
    /// Effective M³ / (P · seconds), in units of 10⁹: ELPA 2-stage for eigenvalues only, ELPA
    /// 1-stage with all eigenvectors, and ScaLAPACK PDSYEV for eigenvalues only (the fallback when
    /// ELPA's work arrays do not fit). Fitted to bench/eigensolvers.sh on 2 ranks, block 64,
    /// M = 4000–12 000: ELPA 2-stage 8.6–13.4 (with `nev` = 1, rising with M; 11.5 at 8000),
    /// ELPA 1-stage with vectors 3.1–3.6, PDSYEV 5.7–7.3.
    public var eigenvaluesRate = 11.0
    public var eigenvectorsRate = 3.3
    public var scalapackEigenvaluesRate = 6.0
    /// Bytes per second one rank gets through the assembly's exchange to owners (across nodes),
    /// measured as the bytes it sent over the exchange's seconds (which include waiting for the
    /// slowest rank and the shards' broadcast): 62.7 MB in 0.144 s on 2 ranks of one node at
    /// M = 5510 (0.44 GB/s), 0.22 GB/s between two test hosts (TCP through a bridge: loopback, no
    /// real interconnect) — bench/exchange-bytes.sh. The operator-column assembly's allreduces use
    /// the same rate.
    public var exchangeBandwidth = 0.45e9
    /// Bytes per second one rank sends in the sample-GEMM assembly's allreduce of partial panels
    /// (one node), where a ring sends 2(P − 1)/P times the payload: on 2 ranks, where that is the
    /// payload itself, 123.7 MB in 0.126 s (0.98 GB/s, bench/exchange-bytes.sh) and 121 MB in
    /// 0.11 s (1.1 GB/s, bench/assembly.sh) at M = 5510.
    public var allreduceBandwidth = 1.0e9

    public init() {}

    public struct Estimate: Sendable {
        public var parameters: Int
        public var samples: Int
        public var ranks: Int
        public var grid: (rows: Int, columns: Int)
        public var bytesPerRank: [(String, Double)]
        public var seconds: [(String, Double)]
        public var totalBytesPerRank: Double { bytesPerRank.reduce(0) { $0 + $1.1 } }
        public var totalSeconds: Double { seconds.reduce(0) { $0 + $1.1 } }
    }

    /// The plan for `model`'s exact curvature by the assembly `CurvatureAssembly` picks for it, on
    /// `p` ranks spread over `nodes` nodes (which choose the sample-GEMM assembly's exchange).
    public func estimate(model: any Model, samples n: Int, ranks p: Int, nodes: Int, blockSize: Int,
                         gaussNewtonSplit: Bool, residualSpectrum: Bool = false, vectors: EigenvectorSelection,
                         useELPA: Bool = true) -> Estimate {
        let m = model.parameterCount
        let grid = ProcessGrid.squarestShape(for: p)
        let rows = BlockCyclicAxis(count: m, blockSize: blockSize, processes: grid.rows).localCount(process: 0)
        let columns = BlockCyclicAxis(count: m, blockSize: blockSize, processes: grid.columns).localCount(process: 0)
        let piece = Double(rows) * Double(columns) * 8
        let residual = gaussNewtonSplit && residualSpectrum
        let matrices = gaussNewtonSplit ? (residual ? 3.0 : 2.0) : 1.0
        let shard = (n + p - 1) / p
        // `.auto` never throws: it picks the path the model supports.
        let assembler = try! CurvatureAssembly(model: model)
        let elpa = ELPAEigensolver(stage: vectors == .none ? .two : .one)
        // As `auto` does: one process, eigenvalues only, from the threshold on → DSYEVD_2STAGE,
        // whose workspace LAPACK's own query gives.
        let twoStage = p == 1 && vectors == .none && m >= Eigensolver.singleProcessTwoStageThreshold
        let work = twoStage ? ((try? TwoStageEigensolver().workspaceBytes(n: m)) ?? 0)
            : useELPA ? elpa.workspaceBytes(localEntries: piece / 8, vectors: vectors != .none)
            : (vectors == .none ? 0.35 : 2.4) * piece   // PDSYEV 'N' / PDSYEVD, measured like ELPA's
        let method = twoStage ? Eigensolver.twoStage.description : useELPA ? elpa.stage.rawValue : vectors == .none ? "pdsyev" : "pdsyevd"
        let cost = assembler.cost(samples: shard, ranks: p, nodes: nodes)
        let factors = Double(cost.workingBytes)
        // The run's own accounting (MemoryAccount), with the workspace estimated instead of queried.
        let account = MemoryAccount(localRows: rows, localColumns: columns, gridColumns: grid.columns, blockSize: blockSize,
                                    n: m, matrices: Int(matrices), vectors: vectors != .none, workspace: work, extraBytes: factors)
        var bytes: [(String, Double)] = [("Hessian piece\(gaussNewtonSplit ? (residual ? "s (H, G, R)" : "s (H, G)") : "")", account.matrices)]
        if vectors != .none { bytes.append(("eigenvectors", account.eigenvectors)) }
        bytes.append(("eigensolver work arrays (\(method))", account.workspace))
        let sampleGEMM = assembler.method == .sampleGEMM
        let panels = switch cost.exchange {
        case .owners: " and this rank's row-block panels"
        case .allreduce: " and a copy of the largest row-block panel"
        default: ""
        }
        bytes.append((sampleGEMM ? "per-sample factors of \(shard) samples\(panels)" : "assembly panels", factors))
        bytes.append(("symmetrisation panels, eigenvalues, process baseline", account.panel + account.other - factors + account.baseline))
        let gemm = assembler.flops(samples: n) * (gaussNewtonSplit ? 2 : 1)
        let cube = pow(Double(m), 3) / Double(p) / 1e9
        // The exchange `assemble` takes: the sample-GEMM assembly's allreduce of partial panels on
        // one node (a ring sends 2(P − 1)/P times the payload per rank) or its exchange to owners
        // across nodes; the operator columns' allreduces at the exchange's measured rate.
        let exchange: (label: String, seconds: Double) = switch (sampleGEMM, cost.exchange) {
        case (_, nil): ("exchange of panels", 0)
        case (true, .allreduce): ("exchange of panels (allreduce, one node)", cost.exchangeBytes * 2 * Double(p - 1) / Double(p) / allreduceBandwidth)
        case (true, _): ("exchange of panels (to owners, \(nodes) nodes)", cost.exchangeBytes / exchangeBandwidth)
        case (false, _): ("exchange of panels", cost.exchangeBytes / exchangeBandwidth)
        }
        var seconds: [(String, Double)] = [
            // The busiest rank's share: 1/P of even shards, or of the dealt pieces (≈ 1/P).
            ("assembly (GEMMs)", gemm / 1e9 * cost.busiestShare / (sampleGEMM ? assemblyGFLOPSPerRank : operatorColumnsGFLOPSPerRank)),
            (exchange.label, exchange.seconds * matrices),
            ("eigen-decomposition of H", cube / (vectors == .none ? (useELPA ? eigenvaluesRate : scalapackEigenvaluesRate) : eigenvectorsRate)),
        ]
        if gaussNewtonSplit {
            seconds.append((residual ? "eigen-decompositions of G and R" : "eigen-decomposition of G",
                            (residual ? 2 : 1) * cube / (useELPA ? eigenvaluesRate : scalapackEigenvaluesRate)))
        }
        return Estimate(parameters: m, samples: n, ranks: p, grid: grid, bytesPerRank: bytes, seconds: seconds)
    }
}
