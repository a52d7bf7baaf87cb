/// What a loss profile along a line says about the segment between its end points
/// (GEOMETRY.md §1): the barrier height max_{α∈[0,1]} L(θ(α)) − max(L(A), L(B)) and where it is.
/// Only grid points with 0 ≤ α ≤ 1 count; the ends are L at α = 0 and α = 1 when those are on the
/// grid (the loss at the grid points nearest to them otherwise).
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

    /// nil when no grid point lies in [0, 1].
    public init?(alphas: [Double], losses: [Double]) {
        precondition(alphas.count == losses.count)
        let inside = alphas.indices.filter { alphas[$0] >= 0 && alphas[$0] <= 1 }
        guard let first = inside.min(by: { alphas[$0] < alphas[$1] }), let last = inside.max(by: { alphas[$0] < alphas[$1] }) else { return nil }
        let top = inside.max { losses[$0] < losses[$1] }!
        lossAtStart = losses[first]
        lossAtEnd = losses[last]
        minimumOnSegment = inside.map { losses[$0] }.min()!
        maximumOnSegment = losses[top]
        alphaOfMaximum = alphas[top]
        barrierHeight = maximumOnSegment - max(lossAtStart, lossAtEnd)
        minimumOnLine = losses.min()!
        maximumOnLine = losses.max()!
    }
}
