import Foundation

/// Failures injected on purpose, for the tests of "a failure on one rank ends the job with its
/// message, never a hang": `LANDSCAPE_INJECT_FAILURE=site@rank[,site@rank…]` makes `check(site,
/// rank:)` throw on that rank at that site. Sites: `train-log` (appending a train.csv row),
/// `checkpoint` (writing params-<step>.npy), `matrix-write` (an MPI-IO matrix write: eigenvectors,
/// hessian.npy). Unset, it costs one dictionary lookup per call.
public enum FaultInjection {
    public struct Injected: Error, CustomStringConvertible {
        public let site: String
        public let rank: Int
        public var description: String { "injected failure at \(site) on rank \(rank) (LANDSCAPE_INJECT_FAILURE)" }
    }

    public static func check(_ site: String, rank: Int) throws {
        guard let spec = ProcessInfo.processInfo.environment["LANDSCAPE_INJECT_FAILURE"] else { return }
        for entry in spec.split(separator: ",") where entry == "\(site)@\(rank)" {
            throw Injected(site: site, rank: rank)
        }
    }
}
