import Cluster
import DistributedLinearAlgebra
import Foundation
import Jobs
import Krylov
import Networks
import Objectives
import Reporting
import Support

/// Where the computed eigenvectors of H (or G, R) live (docs/anatomy.md): for each eigenvector, its mass on each
/// named parameter block and each layer, its inverse participation ratio, and — on classification
/// data — the fraction of it inside the span of the class-mean output gradients
/// (1/N_c) Σ_{yᵢ = c} ∇_θ f_{c′}(xᵢ), Papyan's and Sagun et al.'s account of the outliers.
/// Written as `anatomy.json` and `anatomy.svg` (block masses as a heat map) by `spectrum
/// --eigenvectors top:K|bottom:K|all` (`ggn_`/`residual_` prefixed for G and R with
/// `--eigenvectors-of`); the summary goes into summary.json under `hessian.anatomy` (and
/// `gaussNewton.anatomy`, `residual.anatomy`).
public struct AnatomySummary: Codable, Sendable {
    /// Eigenvectors measured (those computed).
    public var count: Int
    /// The dimension of the class-mean span (numerical rank of the C·k vectors); nil without labels.
    public var classMeanSpanDimension: Int?
    /// tr(P_Z P_S) / K: the mean fraction of the eigenvectors inside the class-mean span, for the
    /// computed eigenvectors and for the largest C − 1 (the outliers the account is about).
    public var classMeanOverlap: Double?
    public var classMeanOverlapTop: Double?
    /// Layer masses averaged over the same eigenvectors (layer name → mass).
    public var meanLayerMass: [String: Double]
    public var meanInverseParticipation: Double
}

/// anatomy.json: every eigenvector's numbers.
struct AnatomyFile: Codable {
    /// The eigenvectors computed (`--eigenvectors`: top:K, bottom:K or all): `compare` reads it.
    var selection: String?
    struct Vector: Codable {
        var index: Int
        var eigenvalue: Double
        var blockMass: [String: Double]
        var layerMass: [String: Double]
        var inverseParticipation: Double
        var classMeanFraction: Double?
    }
    var blocks: [String]
    var layers: [String]
    var classMeanSpanDimension: Int?
    var vectors: [Vector]
}

extension SpectrumJob {
    /// The anatomy of the decomposition's eigenvectors (collective); rank 0 writes the files.
    func anatomy(of decomposition: SymmetricEigenDecomposition, _ kind: CurvatureKind, _ context: inout Context) throws -> AnatomySummary? {
        guard let z = decomposition.eigenvectors, !decomposition.eigenvalues.isEmpty else { return nil }
        let world = context.world, model = context.model, m = context.m
        // At most the `maximumVectors` largest of those computed (--eigenvectors all: the top of
        // M), so that anatomy.json and the heat map stay readable.
        let computed = decomposition.eigenvalues.count
        let count = min(computed, Self.maximumAnatomyVectors), first = computed - count
        let eigenvalues = Array(decomposition.eigenvalues[first...])
        let blocks = model.parameterBlocks
        let objective = DataParallelObjective(model: model, dataset: context.dataset, communicator: world)
        let θ = context.θ, classes = context.dataset.classes ?? 0
        let anatomy = try context.timings.measure("anatomy \(kind.symbol)", on: world) { () throws -> (ColumnAnatomy, Int?) in
            var basis: (basis: [Double], count: Int)?
            // C·k class means of M values, replicated: skipped beyond 400 (e.g. 100 classes).
            if classes * model.outputDimension <= Self.maximumClassMeans, let means = try objective.classMeanOutputGradients(θ) {
                basis = orthonormalSpan(means, length: m, count: means.count / m)
            }
            let measured = try ColumnAnatomy.measure(z, first: first, count: count, partition: blocks.map(\.range), basis: basis?.basis, basisCount: basis?.count ?? 0)
            return (measured, basis?.count)
        }
        let (columns, spanDimension) = anatomy
        let layerNames = Self.layerNames(blocks)
        let vectors = (0..<count).map { j -> AnatomyFile.Vector in
            var layers: [String: Double] = [:]
            for (b, block) in blocks.enumerated() { layers["layer\(block.layer)", default: 0] += columns.masses[j][b] }
            return AnatomyFile.Vector(index: first + j, eigenvalue: eigenvalues[j],
                                      blockMass: Dictionary(uniqueKeysWithValues: zip(blocks.map(\.name), columns.masses[j])),
                                      layerMass: layers, inverseParticipation: columns.inverseParticipation[j],
                                      classMeanFraction: columns.inSpan?[j])
        }
        var overlapTop: Double?
        // Only where the computed eigenvectors include the largest (top:K or all).
        let includesTop: Bool = switch self.vectors { case .top, .all: true; default: false }
        if let inSpan = columns.inSpan, let classes = context.dataset.classes, classes > 1, includesTop {
            // The largest C − 1 of the computed ones (ascending order: the last columns).
            let top = inSpan.suffix(min(classes - 1, count))
            overlapTop = top.reduce(0, +) / Double(top.count)
        }
        let summary = AnatomySummary(
            count: count, classMeanSpanDimension: spanDimension,
            classMeanOverlap: columns.inSpan.map { $0.reduce(0, +) / Double(count) }, classMeanOverlapTop: overlapTop,
            meanLayerMass: Dictionary(uniqueKeysWithValues: layerNames.map { name in
                (name, vectors.reduce(0) { $0 + ($1.layerMass[name] ?? 0) } / Double(count))
            }),
            meanInverseParticipation: columns.inverseParticipation.reduce(0, +) / Double(count))
        if world.isRoot {
            let file = AnatomyFile(selection: self.vectors.description, blocks: blocks.map(\.name), layers: layerNames, classMeanSpanDimension: spanDimension, vectors: vectors)
            let prefix = Self.filePrefix(kind)
            try output.writeJSON(file, to: prefix + "anatomy.json")
            let plot = SpectrumPlots.massHeatMap(rows: vectors.map { String(format: "λ = %.3g", $0.eigenvalue) },
                                                 columns: blocks.map(\.name), masses: vectors.map { v in blocks.map { v.blockMass[$0.name] ?? 0 } },
                                                 title: "Where \(kind.symbol)'s eigenvectors live: mass ‖v_b‖² per parameter block (\(model.summary))")
            try writeAtomically(Data(plot.utf8), to: output.file(prefix + "anatomy.svg"))
        }
        return summary
    }

    /// The most eigenvectors anatomy describes (the largest of those computed), and the most class
    /// means (C·k) it orthonormalises: beyond them the files and the replicated vectors grow with M.
    static let maximumAnatomyVectors = 200
    static let maximumClassMeans = 400

    /// "layer1", "layer2", … in θ order.
    static func layerNames(_ blocks: [ParameterBlock]) -> [String] {
        var seen: [Int] = []
        for block in blocks where !seen.contains(block.layer) { seen.append(block.layer) }
        return seen.map { "layer\($0)" }
    }
}
