import Cluster
import Foundation

/// Named checks whose verdicts every rank shares: a check returns its worst error (already the
/// same on every rank — replicated results, or an allreduce of local errors) and its tolerance.
struct CheckSuite {
    let world: Communicator
    let filters: [String]
    var passed = 0
    var failed = 0

    init(world: Communicator, filters: [String]) {
        self.world = world
        self.filters = filters
    }

    /// Runs `body` if its name matches a filter (all when none is given) and reports it.
    /// Whether any check whose name starts with `family` can run under the filters (a family whose
    /// checks share set-up skips the set-up too).
    func selects(family: String) -> Bool {
        filters.isEmpty || filters.contains(where: { family.hasPrefix($0) || $0.hasPrefix(family) })
    }

    mutating func check(_ name: String, tolerance: Double, _ body: () throws -> Double) throws {
        guard filters.isEmpty || filters.contains(where: { name.hasPrefix($0) }) else { return }
        let local = try body()
        // The worst over ranks: a check whose error is local (a rank's piece) still has one verdict.
        let error = try world.allreduce(local.isNaN ? Double.infinity : local, .max)
        let ok = error <= tolerance
        if ok { passed += 1 } else { failed += 1 }
        if world.isRoot {
            print(String(format: "%@ %@ on %d ranks: error %.3g (tolerance %.1g)", ok ? "ok  " : "FAIL", name, world.size, error, tolerance))
        }
    }

    func finish() throws {
        if world.isRoot { print("\(passed) passed, \(failed) failed") }
        if failed > 0 { throw CollectiveFailure(message: "\(failed) collective check(s) failed") }
    }
}

/// max |a − b| / max |b|, the norm-wise relative difference of two arrays.
func relativeDifference(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "arrays differ in length: \(a.count) vs \(b.count)")
    var worst = 0.0, scale = 0.0
    for i in a.indices {
        worst = max(worst, abs(a[i] - b[i]))
        scale = max(scale, abs(b[i]))
    }
    return scale > 0 ? worst / scale : worst
}
