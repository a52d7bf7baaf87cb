import Foundation
import Testing

/// `landscape plan` charges the assembly's exchange a run would take: on one node (`--nodes 1`,
/// the default) the allreduce of partial panels — the same payload per rank whatever P, sent
/// 2(P − 1)/P times by a ring — and across nodes the exchange to owners, 8·M²/P bytes per rank.
extension MPIJobs {
@Suite struct PlanFollowsTheExchange {
    /// MNIST-wide 784-200-200-10 (M = 199 210): seconds large enough that the printed tenths
    /// resolve the ratios below to 10⁻³.
    static let model = ["--samples", "1000", "--dimension", "784", "--layers", "200,200", "--classes", "10", "--memory-per-rank", "1T"]

    /// The plan's lines, and the seconds of the line that starts with `prefix` (after the indent).
    static func plan(ranks: Int, nodes: Int?) throws -> (lines: [String], seconds: (String) -> Double?) {
        let run = try MPITestSupport.execute([MPITestSupport.landscape, "plan", "--ranks", "\(ranks)"] + model
                                             + (nodes.map { ["--nodes", "\($0)"] } ?? []), timeout: 60)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        return (lines, { prefix in
            lines.first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").dropLast().last ?? "") }
        })
    }

    @Test func oneNodeChargesTheAllreduceAndItsRingFactor() throws {
        let (two, four) = (try Self.plan(ranks: 2, nodes: nil), try Self.plan(ranks: 4, nodes: 1))
        #expect(two.lines.first?.contains("P = 2 on 1 node") == true, "\(two.lines)")
        #expect(four.lines.contains { $0.hasPrefix("per-sample factors of 250 samples and a copy of the largest row-block panel:") }, "\(four.lines)")
        let label = "exchange of panels (allreduce, one node):"
        let (t2, t4) = (two.seconds(label), four.seconds(label))
        // The payload does not shrink with P; a ring sends 2(P − 1)/P of it: 1 on 2 ranks, 3/2 on 4.
        #expect(t2 != nil && t4 != nil && abs(t4! / t2! - 1.5) < 1e-3, "\(two.lines)\n\(four.lines)")
        // Even shards: each rank does 1/P of the GEMMs.
        let (g2, g4) = (two.seconds("assembly (GEMMs):"), four.seconds("assembly (GEMMs):"))
        #expect(g2 != nil && g4 != nil && abs(g2! / g4! - 2) < 1e-2, "\(two.lines)\n\(four.lines)")
    }

    @Test func acrossNodesChargesTheExchangeToOwners() throws {
        let (two, four) = (try Self.plan(ranks: 2, nodes: 2), try Self.plan(ranks: 4, nodes: 2))
        #expect(four.lines.first?.contains("P = 4 on 2 nodes") == true, "\(four.lines)")
        #expect(four.lines.contains { $0.hasPrefix("per-sample factors of 250 samples and this rank's row-block panels:") }, "\(four.lines)")
        let label = "exchange of panels (to owners, 2 nodes):"
        let (t2, t4) = (two.seconds(label), four.seconds(label))
        // Each entry leaves its maker once: 8·M²/P bytes per rank, halved from 2 to 4 ranks.
        #expect(t2 != nil && t4 != nil && abs(t2! / t4! - 2) < 1e-3, "\(two.lines)\n\(four.lines)")
        // The same 4 ranks on one node: the allreduce moves more than the owners' exchange.
        let oneNode = try Self.plan(ranks: 4, nodes: 1)
        #expect((oneNode.seconds("exchange of panels (allreduce, one node):") ?? 0) > t4 ?? .infinity, "\(oneNode.lines)")
    }

    @Test(arguments: [(["--nodes", "0"], "--nodes must be between 1 and --ranks = 2 (got 0)"),
                      (["--nodes", "3"], "--nodes must be between 1 and --ranks = 2 (got 3)")])
    func nodesOutsideOneToRanksAreRefused(flags: [String], message: String) throws {
        let run = try MPITestSupport.execute([MPITestSupport.landscape, "plan", "--ranks", "2"] + flags, timeout: 30)
        #expect(run.status == 2, "exit \(run.status): \(run.stderr)")
        let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1 && errors.first?.contains(message) == true, "\(run.stderr)")
    }
}
}
