/// Where a job's rank groups (`*.group-size`, sweep's `--group-size`) may lie. Ranks on one node
/// talk through shared memory, ranks on two through the network: a group that straddles nodes
/// pays the network inside every one of its collectives while its siblings do not, so by default
/// each group lies on one node.
public enum GroupPlacement: String, CaseIterable, Codable, Sendable {
    /// Groups formed inside each node; a size that does not divide the ranks on every node is refused.
    case node
    /// Runs of consecutive world ranks, wherever the launcher put them (straddling allowed).
    case any
}
