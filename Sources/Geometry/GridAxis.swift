/// One axis of a line or plane: `count` evenly spaced coordinates from `start` to `end`, both
/// included, written `start:end:count` on the command line (`-0.5:1.5:41`). Coordinate i is
/// computed as start + i·(end − start)/(count − 1) and the last one is `end` exactly, so α = 1
/// lands on the far end point bit for bit whenever 1 is on the grid.
public struct GridAxis: Sendable, Equatable, Codable, CustomStringConvertible {
    public let start: Double
    public let end: Double
    public let count: Int

    /// `count` ≥ 2 and `start` < `end`, or a single point (`count` = 1, start = end).
    public init(start: Double, end: Double, count: Int) throws(GridAxisError) {
        guard start.isFinite, end.isFinite else { throw GridAxisError("the ends must be finite numbers") }
        guard count >= 1 else { throw GridAxisError("needs at least 1 point (the third number)") }
        if count == 1 {
            guard start == end else { throw GridAxisError("one point needs start = end (e.g. 0.5:0.5:1)") }
        } else {
            guard start < end else {
                throw GridAxisError(start == end ? "is empty (start = end); give start < end, e.g. -0.5:1.5:41"
                                                 : "is reversed (start > end); give start < end, e.g. -0.5:1.5:41")
            }
        }
        self.start = start
        self.end = end
        self.count = count
    }

    /// Parses `start:end:count`.
    public init(parsing text: String) throws(GridAxisError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters() }
        guard parts.count == 3, let a = Double(parts[0]), let b = Double(parts[1]) else {
            throw GridAxisError("'\(text)' is not start:end:count (e.g. -0.5:1.5:41)")
        }
        guard let n = Int(parts[2]) else { throw GridAxisError("'\(text)': the point count '\(parts[2])' is not a whole number") }
        try self.init(start: a, end: b, count: n)
    }

    public var values: [Double] { (0..<count).map(value) }

    public func value(_ i: Int) -> Double {
        if count == 1 || i == 0 { return start }
        if i == count - 1 { return end }
        return start + Double(i) * (end - start) / Double(count - 1)
    }

    public var description: String { "\(start):\(end):\(count)" }
}

public struct GridAxisError: Error, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Substring {
    func trimmingCharacters() -> String {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
