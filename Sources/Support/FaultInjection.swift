import Foundation

/// Failures injected on purpose, for the tests of "a failure on one rank ends the job with its
/// message, never a hang": `LANDSCAPE_INJECT_FAILURE=site@rank[,site@rank…]` makes `check(site,
/// rank:)` throw on that rank at that site. Sites: `train-log` (appending a train.csv row),
/// `checkpoint` (writing params-<step>.npy), `matrix-write` (an MPI-IO matrix write: eigenvectors,
/// hessian.npy), `input-error` (bad input thrown on one rank alone as a job starts). Unset, it
/// costs one dictionary lookup per call.
public enum FaultInjection {
    public struct Injected: Error, CustomStringConvertible {
        public let site: String
        public let rank: Int
        public var description: String { "injected failure at \(site) on rank \(rank) (LANDSCAPE_INJECT_FAILURE)" }
    }

    public static func check(_ site: String, rank: Int) throws {
        if isArmed(site, rank: rank) { throw Injected(site: site, rank: rank) }
    }

    /// Whether `LANDSCAPE_INJECT_FAILURE` asks for a failure at `site` on `rank` (for sites that
    /// fail in their own way, e.g. the runtime's one-rank bad input).
    public static func isArmed(_ site: String, rank: Int) -> Bool {
        guard let spec = ProcessInfo.processInfo.environment["LANDSCAPE_INJECT_FAILURE"] else { return false }
        return spec.split(separator: ",").contains { $0 == "\(site)@\(rank)" }
    }
}
