/// A line or a plane through parameter space, θ(c) for coordinates c = α or (α, β).
///
/// Two forms, because they round differently and the ends of a segment must be exact:
/// - `segment(A, B)`: θ(α) = (1 − α)·A + α·B (GEOMETRY.md §1). At α = 0 and α = 1 this is A and B
///   bit for bit (0·A + 1·B = B), so the ends equal `landscape evaluate` at A and B exactly.
/// - `directions(θ₀, d₁[, d₂])`: θ(α, β) = θ₀ + α·d₁ + β·d₂.
public struct AffineSection: Sendable {
    public enum Form: Sendable {
        case segment(from: [Double], to: [Double])
        case directions(origin: [Double], [[Double]])
    }
    public let form: Form

    public static func segment(_ a: [Double], _ b: [Double]) -> AffineSection {
        precondition(a.count == b.count)
        return AffineSection(form: .segment(from: a, to: b))
    }

    public static func directions(origin: [Double], _ directions: [[Double]]) -> AffineSection {
        precondition(!directions.isEmpty && directions.count <= 2 && directions.allSatisfy { $0.count == origin.count })
        return AffineSection(form: .directions(origin: origin, directions))
    }

    /// 1 for a line, 2 for a plane.
    public var dimension: Int {
        switch form {
        case .segment: 1
        case .directions(_, let d): d.count
        }
    }

    public var parameterCount: Int {
        switch form {
        case .segment(let a, _): a.count
        case .directions(let o, _): o.count
        }
    }

    /// θ at coordinates `c` (one per dimension).
    public func point(_ c: [Double]) -> [Double] {
        precondition(c.count == dimension)
        switch form {
        case .segment(let a, let b):
            let α = c[0], ᾱ = 1 - α
            return (0..<a.count).map { ᾱ * a[$0] + α * b[$0] }
        case .directions(let origin, let d):
            var θ = origin
            for (j, dj) in d.enumerated() {
                let s = c[j]
                for i in θ.indices { θ[i] += s * dj[i] }
            }
            return θ
        }
    }
}

/// The plane through three points (GEOMETRY.md §1): origin A, d₁ = B − A, d₂ = the component of
/// C − A orthogonal to d₁ scaled to ‖d₁‖, so A = (0, 0), B = (1, 0) and C = (c₁, c₂) with c₂ > 0.
public struct PlaneThroughPoints: Sendable {
    public let section: AffineSection
    /// The plane coordinates of A, B and C.
    public let a: (Double, Double), b: (Double, Double), c: (Double, Double)

    /// nil when the points are (numerically) collinear or A = B: no plane is defined.
    public init?(_ pa: [Double], _ pb: [Double], _ pc: [Double]) {
        precondition(pa.count == pb.count && pb.count == pc.count)
        let d1 = zip(pb, pa).map { $0 - $1 }, w = zip(pc, pa).map { $0 - $1 }
        let n1 = dot(d1, d1).squareRoot(), nw = dot(w, w).squareRoot()
        guard n1 > 0, nw > 0 else { return nil }
        let along = dot(w, d1) / (n1 * n1)
        let perpendicular = zip(w, d1).map { $0 - along * $1 }
        let np = dot(perpendicular, perpendicular).squareRoot()
        // Collinear to rounding: the perpendicular part is at the level of cancellation error.
        guard np > 1e-10 * nw else { return nil }
        let d2 = perpendicular.map { $0 * n1 / np }
        section = .directions(origin: pa, [d1, d2])
        a = (0, 0)
        b = (1, 0)
        c = (along, np / n1)
    }
}

func dot(_ x: [Double], _ y: [Double]) -> Double {
    var s = 0.0
    for i in x.indices { s += x[i] * y[i] }
    return s
}
