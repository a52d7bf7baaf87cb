/// What a loss profile along a line says about the segment between its end points
/// (GEOMETRY.md §1): the barrier height max_{α∈[0,1]} L(θ(α)) − max(L(A), L(B)) and where it is.
/// Only grid points with 0 ≤ α ≤ 1 count, and only when α = 0 and α = 1 are themselves grid points
/// (the ends are then L(A) and L(B) exactly); non-finite losses on the segment are passed over.
public struct SegmentProfile: Codable, Sendable, Equatable {
    public var lossAtStart: Double
    public var lossAtEnd: Double
    public var minimumOnSegment: Double
    public var maximumOnSegment: Double
    public var alphaOfMaximum: Double
    /// max over the segment − max(L(A), L(B)); ≤ 0 when nothing on the segment rises above the ends.
    public var barrierHeight: Double
    /// Over the whole line, extensions included.
    public var minimumOnLine: Double
    public var maximumOnLine: Double

    /// nil when α = 0 or α = 1 is not on the grid, or no loss on the segment is finite.
    public init?(alphas: [Double], losses: [Double]) {
        precondition(alphas.count == losses.count)
        guard let first = alphas.firstIndex(of: 0), let last = alphas.firstIndex(of: 1) else { return nil }
        let inside = alphas.indices.filter { alphas[$0] >= 0 && alphas[$0] <= 1 && losses[$0].isFinite }
        guard let top = inside.max(by: { losses[$0] < losses[$1] }) else { return nil }
        let finite = losses.filter(\.isFinite)
        lossAtStart = losses[first]
        lossAtEnd = losses[last]
        minimumOnSegment = inside.map { losses[$0] }.min()!
        maximumOnSegment = losses[top]
        alphaOfMaximum = alphas[top]
        barrierHeight = maximumOnSegment - max(lossAtStart, lossAtEnd)
        minimumOnLine = finite.min()!
        maximumOnLine = finite.max()!
    }
}
