import Cluster
import Foundation
import NPY

/// A parameter vector θ in an NPY file (params.npy of `landscape train`, a point of a path or a
/// critical search): what every job that starts from a point reads.
public enum ParameterFile {
    /// A float vector of exactly `expected.m` entries, checked on rank 0, then read by every rank.
    /// `flag` is how the user gave the file (`--checkpoint`, `--params`, …), named in every refusal;
    /// a file of the size the model would have with another setting (`expected.other`) is refused
    /// naming that setting — the likely cause, and its fix.
    public static func read(_ path: String, expecting expected: ParameterCount, on world: Communicator,
                            flag: String? = nil, missing: String? = nil) throws -> [Double] {
        let count = expected.m
        let named = flag.map { "\($0) '\(path)'" } ?? "'\(path)'"
        let fix = "give a params.npy written by landscape train (M float64 values, docs/formats.md)"
        _ = try world.agree { () throws -> Bool in
            guard FileManager.default.fileExists(atPath: path) else { throw InputError(missing ?? "\(named): no such file; \(fix)") }
            let header: NPYHeader
            do { header = try NPYHeader.read(contentsOf: path) } catch let error as NPYError { throw InputError("\(named): \(error.message); \(fix)") }
            guard header.dataType.isFloatingPoint else { throw InputError("\(named) has dtype \(header.dataType); a float64 parameter vector is required") }
            guard header.elementCount == count, header.shape.count == 1 || header.shape.allSatisfy({ $0 == 1 || $0 == count }) else {
                if let other = expected.other, header.elementCount == other.m {
                    throw InputError("\(named) holds \(other.m) values, the M of this model with \(other.setting), but this run has \(other.current) (M = \(count)); set \(other.setting) to use it, or give a params.npy of a run with \(other.current)")
                }
                throw InputError("\(named) holds \(header.elementCount ?? 0) values (shape \(header.shape)) but the model has M = \(count) parameters; use the data and model.layers of the run that wrote it")
            }
            return true
        }
        let values = try NPYArray(contentsOf: path).values
        // Every rank read the same file: the same verdict everywhere, no collective needed.
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw InputError("\(named): entry \(i) is \(values[i]); a parameter vector must be finite (was it written by a diverged run?)")
        }
        return values
    }
}

/// The length M a parameter file must have, and the M the same `[model]` has under another
/// setting (`model.bias` flipped), so that a file of that size is refused naming the setting.
public struct ParameterCount: Sendable, Equatable {
    public let m: Int
    /// The other setting, rendered as a key would be ("model.bias = true"), its M, and this run's
    /// setting; nil for a model the `[model]` table does not describe (a library caller's).
    public let other: Other?

    public struct Other: Sendable, Equatable {
        public let m: Int
        public let setting: String
        public let current: String
    }

    public init(m: Int, other: Other? = nil) {
        self.m = m
        self.other = other
    }
}

/// Where a job takes its parameters: a params.npy, or the seed's initialisation.
public enum ParameterPoint: Sendable { case checkpoint(String), initialization }
