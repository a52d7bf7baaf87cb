import Networks
import Testing
@testable import Curvature

/// What `landscape plan` and the run's memory plan charge for the sample-GEMM assembly: the
/// exchange `assemble` takes on the node layout, and its bytes and memory in closed form.
@Suite struct AssemblyCostByNodeLayout {
    static let network = MultilayerPerceptron(widths: [12, 7, 5, 3], activation: .tanh, loss: .crossEntropy)
    static let assembly = DistributedHessianAssembly(network: network)
    static let shard = 40

    /// Σ over row blocks (l, p) of its panel, (n_{l−1} + 1) rows × (M − c₀) columns with
    /// c₀ = offset(W_l) + p·n_{l−1}: the upper triangle every rank hands to the allreduce.
    static var panelValues: (total: Int, largest: Int) {
        let layout = network.layout, n = layout.widths, M = layout.count
        var total = 0, largest = 0
        for l in 1..<n.count {
            for p in 0..<n[l] {
                let panel = (n[l - 1] + 1) * (M - (layout.weightOffset(l) + p * n[l - 1]))
                total += panel
                largest = max(largest, panel)
            }
        }
        return (total, largest)
    }

    @Test func autoIsTheAllreduceOnOneNodeAndOwnersAcrossNodes() {
        #expect(AssemblyExchange.auto.resolved(nodes: 1) == .allreduce)
        #expect(AssemblyExchange.auto.resolved(nodes: 2) == .owners)
        #expect(AssemblyExchange.owners.resolved(nodes: 1) == .owners)
        #expect(AssemblyExchange.allreduce.resolved(nodes: 3) == .allreduce)
    }

    @Test func oneRankExchangesNothing() {
        let cost = Self.assembly.cost(samples: Self.shard, ranks: 1, nodes: 1)
        #expect(cost == AssemblyCost(exchange: nil, workingBytes: Self.assembly.assembler.workingBytes(samples: Self.shard),
                                     busiestShare: 1, exchangeBytes: 0))
    }

    /// One node: every rank's payload is the whole upper triangle of row panels (not ∝ 1/P), its
    /// memory the factors and one copy of the largest panel, its GEMMs 1/P of the work.
    @Test(arguments: [2, 3, 4])
    func oneNodeChargesTheAllreduce(ranks: Int) {
        let cost = Self.assembly.cost(samples: Self.shard, ranks: ranks, nodes: 1)
        let factors = Self.assembly.assembler.workingBytes(samples: Self.shard)
        #expect(cost.exchange == .allreduce)
        #expect(cost.exchangeBytes == Double(8 * Self.panelValues.total))
        #expect(cost.workingBytes == factors + 8 * Self.panelValues.largest)
        #expect(cost.busiestShare == 1 / Double(ranks))
    }

    /// Across nodes: 8·M²/P bytes sent per rank, and the memory and GEMM share of the busiest
    /// rank of the deal `assemble` uses (its pieces held until sent, four of its largest piece's
    /// buffers) — the same ranks on one node charge less memory and more bytes.
    @Test(arguments: [2, 3, 4])
    func acrossNodesChargesTheExchangeToOwners(ranks: Int) {
        let cost = Self.assembly.cost(samples: Self.shard, ranks: ranks, nodes: 2)
        let factors = Self.assembly.assembler.workingBytes(samples: Self.shard)
        let M = Self.network.parameterCount, geometry = Self.assembly.assembler.rowBlockGeometry
        let deal = DistributedHessianAssembly.deal(geometry, columns: M, ranks: ranks)
        let entries = deal.map { $0.map { geometry[$0.block].rows.count * $0.columns.count } }
        let held = entries.map { $0.reduce(0, +) }
        #expect(cost.exchange == .owners)
        #expect(cost.exchangeBytes == 8 * Double(M * M) / Double(ranks))
        #expect(held.reduce(0, +) == Self.panelValues.total, "the deal covers every panel once")
        #expect(cost.workingBytes == factors + 8 * (held.max()! + 4 * entries.joined().max()!))
        #expect(cost.busiestShare == Double(held.max()!) / Double(Self.panelValues.total))
        #expect(cost.busiestShare >= 1 / Double(ranks))
        let oneNode = Self.assembly.cost(samples: Self.shard, ranks: ranks, nodes: 1)
        #expect(oneNode.workingBytes < cost.workingBytes && oneNode.exchangeBytes > cost.exchangeBytes)
    }
}
