import Cluster
import DistributedLinearAlgebra
import Foundation
import Jobs
import NPY
import Objectives
import Reporting
import Support

/// `landscape compare A B`: how far apart the top-k eigenspaces of H at two points are — the
/// principal angles between span(Z_A) and span(Z_B) and the overlap tr(P_A P_B)/k (1: the same
/// space; k/M on average for unrelated ones) — from two `spectrum --eigenvectors` runs (init vs
/// end, GD vs SGD, large vs small batch; H against G of one run). Rank 0 reads both eigenvector files whole (M × K each)
/// and writes compare.json and angles.svg into --out (docs/anatomy.md).
public struct CompareJob {
    public var first: String
    public var second: String
    /// k: the eigenvectors of each run compared (nil: all those both runs have).
    public var count: Int?
    /// The k largest eigenvalues' vectors (true) or the k smallest.
    public var largest = true
    /// Whose eigenvectors each run contributes (`--matrices H,G`): H's by default.
    public var matrices: (first: CurvatureKind, second: CurvatureKind) = (.hessian, .hessian)
    public var output: RunDirectory

    public init(first: String, second: String, output: RunDirectory) {
        self.first = first
        self.second = second
        self.output = output
    }

    /// One run's eigenvectors: the k columns asked for, and what identifies its model.
    struct Side {
        var model: String
        var m: Int
        var columns: Int
        var vectors: [Double]
        var eigenvalues: [Double]
    }

    public func run(on world: Communicator) throws {
        try JobRun.perform("compare", configuration: nil, output: output, quiet: true, on: world) { run in
            // Every check on rank 0, one verdict for all; only rank 0 reads the files and writes.
            let report = try world.agree { () throws -> String in
                let a = try read(first, flag: "first", matrices.first), b = try read(second, flag: "second", matrices.second)
                guard a.m == b.m else {
                    throw InputError("'\(first)' has M = \(a.m) parameters and '\(second)' has M = \(b.m); compare runs of the same model")
                }
                guard a.model == b.model else {
                    throw InputError("'\(first)' is a run of \(a.model) and '\(second)' of \(b.model); compare runs of the same model")
                }
                let available = min(a.columns, b.columns)
                let k = count ?? available
                guard k >= 1, k <= available else {
                    throw InputError("--k \(k) is more than the eigenvectors computed (\(a.columns) in '\(first)', \(b.columns) in '\(second)'); give --k ≤ \(available) or rerun spectrum with --eigenvectors top:\(k)")
                }
                let angles = try PrincipalAngles(pick(a, k), pick(b, k), length: a.m, count: k)
                if FileManager.default.fileExists(atPath: output.file("compare.json")) {
                    throw InputError("\(output.named) already holds a comparison (compare.json); choose another --out")
                }
                return try write(angles, a, b, k)
            }
            if world.isRoot { print(report) }
        }
    }

    /// The eigenvectors and eigenvalues of a spectrum run directory, checked.
    func read(_ directory: String, flag: String, _ kind: CurvatureKind) throws -> Side {
        let prefix = SpectrumJob.filePrefix(kind)
        let vectors = directory + "/\(prefix)eigenvectors.npy", values = directory + "/\(prefix)eigenvalues.npy", summary = directory + "/summary.json"
        guard FileManager.default.fileExists(atPath: vectors) else {
            let nested = FileManager.default.fileExists(atPath: directory + "/final/\(prefix)eigenvectors.npy") ? " (a trained spectrum keeps them in '\(directory)/final')" : ""
            let how = kind == .hessian ? "--eigenvectors top:K" : "\(kind == .residual ? "--residual" : "--ggn") --eigenvectors top:K --eigenvectors-of \(kind.symbol)"
            throw InputError("the \(flag) run '\(directory)' has no \(prefix)eigenvectors.npy (\(kind.symbol)'s)\(nested); give a `landscape spectrum \(how)` run directory")
        }
        let z: NPYArray, λ: NPYArray
        do { (z, λ) = (try NPYArray(contentsOf: vectors), try NPYArray(contentsOf: values)) } catch {
            throw InputError("the \(flag) run '\(directory)': \(error)")
        }
        guard z.shape.count == 2, z.shape[1] >= 1, λ.values.count >= z.shape[1] else {
            throw InputError("'\(vectors)' has shape \(z.shape); expected M × K eigenvectors with their eigenvalues")
        }
        // Which end the run computed (anatomy.json, written with the eigenvectors): comparing the
        // other end would silently compare the wrong vectors.
        if let data = FileManager.default.contents(atPath: directory + "/\(prefix)anatomy.json"),
           let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let selection = json["selection"] as? String {
            if largest && selection.hasPrefix("bottom") || !largest && selection.hasPrefix("top") {
                throw InputError("the \(flag) run '\(directory)' computed --eigenvectors \(selection); compare \(largest ? "with --bottom" : "without --bottom"), or rerun spectrum with --eigenvectors \(largest ? "top" : "bottom"):K")
            }
        }
        var model = "?"
        if let data = FileManager.default.contents(atPath: summary),
           let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let name = json["model"] as? String { model = name }
        // The eigenvalues of the columns: all M (the whole spectrum) or the K of a selection, ascending.
        let eigenvalues = λ.values.count == z.shape[1] ? λ.values : Array(λ.values.suffix(z.shape[1]))
        return Side(model: model, m: z.shape[0], columns: z.shape[1], vectors: z.values, eigenvalues: eigenvalues)
    }

    /// The k columns with the largest (or smallest) eigenvalues, M × k column-major. NPYArray holds
    /// the M × K array row-major: entry (i, j) at i·K + j.
    func pick(_ side: Side, _ k: Int) -> [Double] {
        let order = side.eigenvalues.indices.sorted { side.eigenvalues[$0] < side.eigenvalues[$1] }
        let chosen = largest ? Array(order.suffix(k)) : Array(order.prefix(k))
        var out = [Double](repeating: 0, count: side.m * k)
        for (t, j) in chosen.enumerated() { for i in 0..<side.m { out[t * side.m + i] = side.vectors[i * side.columns + j] } }
        return out
    }

    /// compare.json, angles.svg; the printed report.
    func write(_ angles: PrincipalAngles, _ a: Side, _ b: Side, _ k: Int) throws -> String {
        struct Summary: Codable {
            var command = "compare"
            var first: String, second: String, model: String
            var parameters: Int, k: Int, largest: Bool
            /// Whose eigenvectors each side contributed ("H", "G", "R").
            var matrices: [String]
            var overlap: Double, randomOverlap: Double
            var cosines: [Double], anglesDegrees: [Double]
        }
        let summary = Summary(first: first, second: second, model: a.model, parameters: a.m, k: k, largest: largest,
                              matrices: [matrices.first.symbol, matrices.second.symbol], overlap: angles.overlap, randomOverlap: Double(k) / Double(a.m),
                              cosines: angles.cosines, anglesDegrees: angles.degrees)
        try output.create()
        try output.writeJSON(summary, to: "compare.json")
        let of = matrices.first == matrices.second ? matrices.first.symbol : "\(matrices.first.symbol) (A) and \(matrices.second.symbol) (B)"
        var plot = SVGPlot(title: "Principal angles between the \(largest ? "top" : "bottom")-\(k) eigenspaces of \(of)",
                           xLabel: "i", yLabel: "θᵢ (degrees)")
        plot.subtitle = String(format: "overlap tr(P_A P_B)/k = %.4f; unrelated spaces ≈ %.2g", angles.overlap, Double(k) / Double(a.m))
        plot.series = [.init(name: "θᵢ", points: angles.degrees.enumerated().map { (x: Double($0.offset + 1), y: $0.element) }, style: .points)]
        try writeAtomically(Data(plot.render().utf8), to: output.file("angles.svg"))
        return String(format: "compare: %@ %d eigenvectors of %@ (M = %d): overlap tr(P_A P_B)/k = %.4f (unrelated spaces: %.2g); principal angles %.1f° … %.1f°\n  results in %@/",
                      largest ? "top" : "bottom", k, of, a.m, angles.overlap, Double(k) / Double(a.m),
                      angles.degrees.first ?? 0, angles.degrees.last ?? 0, output.path)
    }
}
