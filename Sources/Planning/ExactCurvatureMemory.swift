import Cluster
import Support

/// Per-rank bytes of the exact curvature at a point: H block-cyclic over the group's ranks, plus the
/// eigensolver's copy and workspace — about three matrices' worth — and a margin.
public func exactCurvatureBytes(dimension m: Int, groupSize: Int) -> Double {
    3 * 8 * Double(m) * Double(m) / Double(groupSize) + 64 * 1024 * 1024
}

/// Refuses the exact curvature at M parameters when `exactCurvatureBytes` exceed the per-rank
/// budget; `what` says where it is taken ("the exact index at the highest pivot").
public func requireExactCurvatureFits(dimension m: Int, groupSize: Int, budget: Int, what: String) throws {
    let need = exactCurvatureBytes(dimension: m, groupSize: groupSize)
    guard need <= Double(budget) else {
        throw InputError("\(what) needs ≈ \(formatBytes(Int(min(need, 1e18)))) per rank, \(formatBytes(budget)) available; use --curvature lanczos (the smallest eigenvalues only), larger groups (--group-size) or more ranks")
    }
}

