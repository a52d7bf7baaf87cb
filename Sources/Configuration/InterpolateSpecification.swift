import Cluster
import Curvature
import Geometry

/// `[interpolate]`: `landscape interpolate`'s grid, directions and curvature (docs/interpolate.md).
/// The section itself — the points and direction files (--from, --to, --through, --direction,
/// --plane) — is the command's input, not a setting; everything else is a key, declared once in
/// `ConfigurationKey.all` like `[path]` and `[critical]`.
public struct InterpolateSpecification: Sendable, Equatable {
    /// A line's α grid `a:b:n` (nil: −0.5:1.5:41 between two points, −1:1:41 along a direction).
    public var range: String?
    /// A plane's grid `a:b:n` for both axes or `a:b:n,c:d:m` (nil: −1:1:51; −0.5:1.5:51 through
    /// three points).
    public var grid: String?
    /// How directions are scaled to θ₀ (nil: filter for random directions, none otherwise).
    public var normalize: DirectionNormalization?
    /// Which columns of an M × K direction file span the section, 0-based (nil: the first ones).
    public var columns: [Int]?
    /// The curvature (top eigenvalues, exact index) of a line at these α …
    public var spectrumAt: [Double]?
    /// … or at every K-th grid point.
    public var every: Int?
    /// How the curvature is taken: exact (assembled, decomposed) or by Lanczos.
    public var curvature = CurvatureMethod.auto
    /// Ranks per group (groups take points side by side); 0 = one group of all ranks.
    public var groupSize = 0
    /// Where the groups lie: each on one node (default) or anywhere (`GroupPlacement`).
    public var groupPlacement = GroupPlacement.node

    public init() {}

    /// The line's axis; `betweenPoints`: a segment A → B (else a direction from θ₀).
    public func lineAxis(betweenPoints: Bool) throws -> GridAxis {
        try Self.axis(range ?? (betweenPoints ? "-0.5:1.5:41" : "-1:1:41"), key: "interpolate.range")
    }

    /// The plane's axes (α, β); `throughPoints`: the plane through A, B, C.
    public func planeAxes(throughPoints: Bool) throws -> [GridAxis] {
        let text = grid ?? (throughPoints ? "-0.5:1.5:51" : "-1:1:51")
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 1 || parts.count == 2 else {
            throw InputError(setting: "interpolate.grid", "= \"\(text)\" is not a:b:n or a:b:n,c:d:m")
        }
        let axes = try parts.map { try Self.axis($0, key: "interpolate.grid") }
        return axes.count == 1 ? [axes[0], axes[0]] : axes
    }

    static func axis(_ text: String, key: String) throws -> GridAxis {
        do { return try GridAxis(parsing: text) } catch { throw InputError(setting: key, "\(error.message)") }
    }

    /// Every refusal of the settings alone (those that depend on the section's shape are the job's).
    public func validate() throws {
        if range != nil { _ = try lineAxis(betweenPoints: true) }
        if grid != nil { _ = try planeAxes(throughPoints: false) }
        if let columns, columns.isEmpty || columns.contains(where: { $0 < 0 }) {
            throw InputError(setting: "interpolate.columns", "= \(columns) is not a list of column numbers ≥ 0 such as [0, 1]")
        }
        if spectrumAt != nil, every != nil {
            throw InputError(setting: "interpolate.every", "and interpolate.spectrum-at are both set; give at most one")
        }
        if let spectrumAt {
            guard !spectrumAt.isEmpty else { throw InputError(setting: "interpolate.spectrum-at", "is empty; give α values such as 0,0.5,1") }
            if let bad = spectrumAt.first(where: { !$0.isFinite }) {
                throw InputError(setting: "interpolate.spectrum-at", "holds \(bad), not a finite α")
            }
        }
        if let every, every < 1 { throw InputError(setting: "interpolate.every", "= \(every): give a step of at least 1 grid point") }
        guard groupSize >= 0 else {
            throw InputError(setting: "interpolate.group-size", "= \(groupSize): give 0 (one group) or a divisor of the number of ranks")
        }
    }
}
