import Cluster
import Configuration
import Curvature
import DistributedLinearAlgebra
import Foundation
import Jobs
import Networks
import Objectives
import NPY
import Support
import Reporting

/// How `landscape spectrum --blocks` cuts θ into the diagonal blocks H_bb of H.
public enum BlockPartition: Sendable, Equatable, CustomStringConvertible {
    case none
    /// One block per layer: its weights and biases together ("layer1", "layer2", …).
    case layers
    /// One block per named parameter block ("layer1.weight", "layer1.bias", …).
    case weightsBiases
    /// Groups of named parameter blocks from a file (`BlockFile`): each group one diagonal block,
    /// its members in any order and not necessarily adjacent in θ.
    case file(path: String, groups: [BlockGroup])

    public struct BlockGroup: Sendable, Equatable {
        public let name: String
        public let members: [String]
    }

    /// none, layers, weights-biases, or the path of a block file (read here: bad input if it
    /// cannot be read or has no [blocks] table).
    public init(parsing text: String) throws {
        switch text {
        case "none": self = .none
        case "layers": self = .layers
        case "weights-biases": self = .weightsBiases
        default:
            guard text.hasSuffix(".toml") else {
                throw InputError(setting: "blocks", "= '\(text)' is not a partition: use none, layers, weights-biases or a block file FILE.toml (docs/anatomy.md)")
            }
            self = .file(path: text, groups: try BlockFile.read(text).map { BlockGroup(name: $0.name, members: $0.members) })
        }
    }

    /// The partition as given: its name, or the block file's path.
    public var description: String {
        switch self {
        case .none: "none"
        case .layers: "layers"
        case .weightsBiases: "weights-biases"
        case let .file(path, _): path
        }
    }

    /// (name, ranges of θ) of each block — one range for the built-in partitions (in θ's order),
    /// the members' ranges for a file's groups (in the file's group order). A file naming a block
    /// the model does not have, or naming one twice, is bad input.
    package func blocks(of model: any Model) throws -> [(name: String, ranges: [Range<Int>])] {
        switch self {
        case .none: return []
        case .weightsBiases: return model.parameterBlocks.map { ($0.name, [$0.range]) }
        case let .file(path, groups):
            var seen: [String: String] = [:]
            return try groups.map { group in
                try (group.name, group.members.map { member in
                    guard let block = model.block(named: member) else {
                        throw InputError(setting: "blocks", "'\(path)': group '\(group.name)' names '\(member)', which \(model.summary) does not have; its blocks are \(model.parameterBlocks.map(\.name).joined(separator: ", "))")
                    }
                    if let other = seen[member] {
                        throw InputError(setting: "blocks", "'\(path)': '\(member)' is in group '\(other)' and in group '\(group.name)'; the diagonal blocks must not overlap")
                    }
                    seen[member] = group.name
                    return block.range
                })
            }
        case .layers:
            // A layer's blocks as they lie in θ (adjacent for the built-in models, one range each).
            let layers = Dictionary(grouping: model.parameterBlocks, by: \.layer)
            return layers.keys.sorted().map { layer in ("layer\(layer)", layers[layer]!.map(\.range).sorted { $0.lowerBound < $1.lowerBound }) }
        }
    }
}

/// One diagonal block's spectrum: what the whole H reports, for H_bb.
public struct BlockSpectrumSummary: Codable, Sendable {
    package var name: String
    /// The block's first parameter in θ and its size.
    package var offset: Int
    package var parameters: Int
    package var counts: SpectrumCounts
    package var bulk: [RelativeInertia]
    package var outliers: OutlierCounts
    package var trace: TraceCheck
    /// blocks/<name>.npy, relative to the run directory.
    package var eigenvaluesFile: String
}

/// The block-diagonal view of H: per-block spectra and how far H is from block-diagonal.
public struct BlockSpectraSummary: Codable, Sendable {
    package var partition: String
    package var blocks: [BlockSpectrumSummary]
    /// ‖H − blockdiag(H)‖_F / ‖H‖_F: the share of H's Frobenius mass between the blocks.
    package var offDiagonalFraction: Double
    /// The spectrum of blockdiag(H) is the union of the blocks' spectra: its `topCount` largest
    /// eigenvalues against H's, max |λᵢ(blockdiag H) − λᵢ(H)| / max|λ(H)| (filled in by the report,
    /// which has H's spectrum).
    package var topCount: Int?
    package var topShift: Double?

    /// The top eigenvalues of blockdiag(H) against H's (descending, i ≤ `count`).
    package mutating func compareTop(blockDiagonal union: [Double], hessian λ: [Double], count: Int = 10) {
        let k = min(count, union.count, λ.count)
        let mine = union.sorted(by: >).prefix(k), theirs = λ.sorted(by: >).prefix(k)
        let scale = λ.reduce(0) { max($0, abs($1)) }
        topCount = k
        topShift = zip(mine, theirs).map { abs($0 - $1) }.max().map { scale > 0 ? $0 / scale : 0 } ?? 0
    }
}

extension SpectrumJob {
    /// Each diagonal block of H is redistributed to a matrix of its own (PDGEMR2D, never gathered)
    /// and diagonalised (eigenvalues only); H itself is left as it was, for its own eigensolve.
    /// Written to DIR/blocks/ (<name>.npy and summary.json, so a resumed run finds them).
    /// `kind`: H (blocks/<name>.npy, blocks/summary.json) or G (blocks/ggn_<name>.npy, blocks/ggn_summary.json).
    package func blockSpectra(of hessian: BlockCyclicMatrix, _ kind: CurvatureKind, _ context: inout Context) throws -> BlockSpectraSummary? {
        let world = context.world
        let blocks = try blocksPartition.blocks(of: context.model)
        guard !blocks.isEmpty else { return nil }
        let directory = output.subdirectory("blocks")
        let grid = (rows: context.grid.rows, columns: context.grid.columns)
        let prefix = Self.filePrefix(kind)
        let summaries = try context.timings.measure("block spectra \(kind.symbol)", on: world) { () throws -> [BlockSpectrumSummary] in
            try blocks.map { name, ranges in
                let size = ranges.reduce(0) { $0 + $1.count }
                var block = try hessian.diagonalBlock(ranges)
                let diagonal = try block.trace()
                let solver = try Eigensolver.resolve(solver, selection: .none, n: size, blockSize: block.blockSize, grid: grid).solver
                let decomposition = try solver.decompose(&block, selection: .none)
                try directory.write(decomposition, eigenvalues: "\(prefix)\(name).npy", eigenvectors: nil, on: world)
                let λ = decomposition.eigenvalues
                return BlockSpectrumSummary(
                    name: name, offset: ranges[0].lowerBound, parameters: size,
                    counts: SpectrumCounts(eigenvalues: λ, dimension: size, zeroTolerance: zeroTolerance),
                    bulk: configuration.eig.bulkTolerances.map { RelativeInertia(eigenvalues: λ, relativeTolerance: $0) },
                    outliers: OutlierCounts(eigenvalues: λ),
                    trace: TraceCheck(fromEigenvalues: λ.reduce(0, +), fromDiagonal: diagonal),
                    eigenvaluesFile: "blocks/\(prefix)\(name).npy")
            }
        }
        let total = try hessian.frobeniusNorm()
        let between = try hessian.offBlockDiagonalNorm(blocks.map(\.ranges))
        let result = BlockSpectraSummary(partition: blocksPartition.description, blocks: summaries,
                                         offDiagonalFraction: total > 0 ? between / total : 0)
        if world.isRoot { try directory.writeJSON(result, to: "\(prefix)summary.json") }
        context.progress.say(String(format: "spectrum: %d diagonal blocks of %@ (%@); ‖%@ − blockdiag(%@)‖_F / ‖%@‖_F = %.4g", blocks.count,
                                    kind.symbol, blocksPartition.description, kind.symbol, kind.symbol, kind.symbol, result.offDiagonalFraction))
        return result
    }

    /// The blocks' summary as the block phase left it (rank 0; a resumed run whose H was
    /// decomposed before the stop did not redo it).
    package func savedBlockSpectra(_ kind: CurvatureKind) -> BlockSpectraSummary? {
        guard blocksPartition != .none, let data = try? Data(contentsOf: URL(fileURLWithPath:
            output.subdirectory("blocks").file("\(Self.filePrefix(kind))summary.json"))) else { return nil }
        return try? NonFiniteJSON.decoder().decode(BlockSpectraSummary.self, from: data)
    }

    /// The table of the printed report.
    static func blockTable(_ s: BlockSpectraSummary, _ symbol: String) -> [String] {
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        var lines = [String(format: "  diagonal blocks of %@ (%@): ‖%@ − blockdiag(%@)‖_F / ‖%@‖_F = %.4g", symbol, s.partition, symbol, symbol, symbol, s.offDiagonalFraction)
                     + (s.topShift.map { String(format: "; top %d eigenvalues of blockdiag(%@) shifted by ≤ %.3g·max|λ|", s.topCount ?? 0, symbol, $0) } ?? ""),
                     "    " + pad("block", 18) + pad("size", 8) + pad("λ_min", 14) + pad("λ_max", 14) + pad("neg / ≈0 / pos", 20) + pad("outliers", 10) + "trace"]
        for b in s.blocks {
            lines.append("    " + pad(b.name, 18) + pad("\(b.parameters)", 8) + pad(String(format: "%.6g", b.counts.minimum), 14)
                         + pad(String(format: "%.6g", b.counts.maximum), 14)
                         + pad("\(b.counts.negative) / \(b.counts.nearZero) / \(b.counts.positive)", 20) + pad("\(b.outliers.gap)", 10)
                         + String(format: "%.6g", b.trace.fromEigenvalues))
        }
        return lines
    }
}

extension SpectrumPlots {
    /// blocks.svg: one histogram per diagonal block (log count axis, symmetric-log eigenvalue
    /// axis, its outliers marked), so the layers' spectra compare at a glance.
    static func blocks(_ spectra: [(String, [Double])], of symbol: String, caption: String, bulkTolerance: Double) -> SVGPanels {
        SVGPanels(spectra.enumerated().map { k, block in
            var plot = histogram(block.1, title: "Diagonal block \(block.0) of \(symbol) (\(block.1.count) parameters)",
                                 outliers: OutlierCounts(eigenvalues: block.1).gap, bulkTolerance: bulkTolerance)
            plot.subtitle = k == 0 ? caption : ""
            plot.height = 300
            return plot
        })
    }
}
