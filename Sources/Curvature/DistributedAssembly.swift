import Cluster
import Support
import DistributedLinearAlgebra
import Networks
import Samples

/// Assembly of the exact curvature matrix of the mean loss over data sharded across ranks into a
/// block-cyclic matrix that no rank holds whole.
///
/// On one rank every row block (l, p) is computed and stored in place. On P ranks of one node
/// (`AssemblyExchange.auto`) every rank sums its own samples for every row block and the partial
/// panels are allreduced: ≈ 4·M² bytes per rank whatever P, which shared memory moves faster than
/// the alternative's packing (measured below). Across nodes (`.owners`) the row blocks
/// are cut into windows of columns and dealt out (`deal`: about 4 pieces per rank, balanced), and
/// each rank computes its pieces whole — summed over every rank's samples, which it receives shard
/// by shard (a broadcast of inputs and targets, N·(d + k) values in all, small beside the panels),
/// in rank order — then hands each computed entry to the rank that owns it in the block-cyclic
/// layout, in both orientations, with one personalised all-to-all per round (one piece from each
/// rank; `PanelOwnership` is the map both sides agree on).
///
/// Why not sum the ranks' partial panels across nodes (an allreduce or reduce-scatter per panel)?
/// Every rank would then hold a contribution to every entry, so each rank — and each node — must
/// move ≈ M²/2 values out whatever the tree: the volume per rank does not fall with P. On one node,
/// 2 ranks, M = 5510: allreduce 0.53–0.71 s for the GEMMs and the sums, owners 0.67–0.90 s. Computing a
/// panel on one rank moves each entry once from its maker to its owner: ≈ M²/P values sent and
/// received per rank (M²/nodes per node), and the GEMM flops per rank are the same as before
/// (1/P of the panels over all N samples instead of all of them over N/P). What grows is the
/// per-sample factors, computed for all N samples on every rank — O(N·M) work beside O(N·M²/P) —
/// and the memory of this rank's panels until they are sent (≈ M²/(2P) values, half a local piece).
public struct DistributedHessianAssembly: Sendable {
    public let assembler: ExactHessian
    public var exchange = AssemblyExchange.auto

    public init(network: MultilayerPerceptron) { assembler = ExactHessian(network: network) }

    public typealias Timing = AssemblyTiming

    /// What the assembly costs each rank for a shard of `samples` (the largest) on `ranks` ranks
    /// spread over `nodes` nodes, taking the exchange `assemble` takes there — from the geometry
    /// alone, with one `deal` (no MPI): what the run's memory plan and `landscape plan` charge.
    public func cost(samples: Int, ranks: Int, nodes: Int) -> AssemblyCost {
        let factors = assembler.workingBytes(samples: samples)
        guard ranks > 1 else { return AssemblyCost(exchange: nil, workingBytes: factors, busiestShare: 1, exchangeBytes: 0) }
        let geometry = assembler.rowBlockGeometry, M = assembler.network.layout.count
        let panels = geometry.map { $0.rows.count * (M - $0.firstColumn) }
        switch exchange.resolved(nodes: nodes) {
        case .owners:
            // The panels of the busiest rank's pieces until they are sent, and the send and receive
            // buffers of its largest piece (each ≤ 2 pieces); each entry sent once to its owner, in
            // both orientations: ≈ 8·M²/P bytes per rank.
            let entries = { (piece: ExactHessian.Piece) in geometry[piece.block].rows.count * piece.columns.count }
            let loads = Self.deal(geometry, columns: M, ranks: ranks).map { $0.map(entries) }
            let held = loads.map { $0.reduce(0, +) }
            return AssemblyCost(exchange: .owners, workingBytes: factors + 8 * ((held.max() ?? 0) + 4 * (loads.joined().max() ?? 0)),
                                busiestShare: Double(held.max() ?? 0) / Double(max(held.reduce(0, +), 1)),
                                exchangeBytes: 8 * Double(M) * Double(M) / Double(ranks))
        default:
            // Every rank sums its shard for every row block (1/P of the GEMMs with even shards) and
            // hands each block's panel to the allreduce, through one copy of the largest panel.
            return AssemblyCost(exchange: .allreduce, workingBytes: factors + 8 * (panels.max() ?? 0),
                                busiestShare: 1 / Double(ranks), exchangeBytes: 8 * Double(panels.reduce(0, +)))
        }
    }

    /// The work of a P-rank assembly: every row block cut into windows of columns (pieces of about
    /// Σ entries / (4P) values, no narrower than 64 columns), and the pieces dealt largest first to
    /// the least-loaded rank (ties to the lower rank) — the same deal on every rank, computed from
    /// the geometry alone. Each rank's pieces come back in block order (how `forEachPiece` runs).
    /// Why cut: a net has as many row blocks as neurons (410 for 784-200-200-10), fewer than the
    /// ranks of a large job, and its first layer's blocks are 785 rows × ~M columns each.
    package static func deal(_ geometry: [(rows: [Int], firstColumn: Int)], columns M: Int, ranks P: Int) -> [[ExactHessian.Piece]] {
        let total = geometry.reduce(0) { $0 + $1.rows.count * (M - $1.firstColumn) }
        let target = max(1, total / (4 * P))
        var pieces: [(piece: ExactHessian.Piece, entries: Int)] = []
        for (b, block) in geometry.enumerated() {
            let width = M - block.firstColumn, entries = block.rows.count * width
            let cuts = max(1, min((entries + target - 1) / target, width / 64))
            for c in 0..<cuts {
                let columns = width * c / cuts ..< width * (c + 1) / cuts
                pieces.append((ExactHessian.Piece(block: b, columns: columns), block.rows.count * columns.count))
            }
        }
        pieces.sort { ($0.entries, $1.piece.block, $1.piece.columns.lowerBound) > ($1.entries, $0.piece.block, $0.piece.columns.lowerBound) }
        var load = [Int](repeating: 0, count: P), dealt = [[ExactHessian.Piece]](repeating: [], count: P)
        for (piece, entries) in pieces {
            var least = 0
            for r in 1..<P where load[r] < load[least] { least = r }
            load[least] += entries
            dealt[least].append(piece)
        }
        return dealt.map { $0.sorted { ($0.block, $0.columns.lowerBound) < ($1.block, $1.columns.lowerBound) } }
    }

    /// H (or G) = (1/N) Σ over all ranks' samples, into `matrix` (M × M on the grid).
    /// `progress` is called with (done, total) in row blocks.
    public func assemble(_ θ: [Double], shard: SampleBatch, globalSampleCount: Int, part: CurvaturePart,
                         into matrix: inout BlockCyclicMatrix,
                         progress: (Int, Int) -> Void = { _, _ in }) throws -> Timing {
        let M = assembler.network.layout.count
        precondition(matrix.rows == M && matrix.columns == M)
        let communicator = matrix.grid.communicator
        let scale = 1 / Double(globalSampleCount)
        guard communicator.size > 1 else {
            var timing = Timing(), done = 0
            let clock = Stopwatch()
            assembler.forEachRowBlock(θ, batch: shard, part: part) { block in
                matrix.store(rows: block.rows, firstColumn: block.firstColumn, panel: block.panel, scale: scale)
                done += 1
                progress(done, assembler.rowBlockCount)
            }
            timing.compute = clock.seconds
            return timing
        }
        // Every rank gets the same node list, so every rank takes the same path.
        let nodeOf = exchange == .allreduce ? [] : try communicator.nodeOfEachRank()
        if exchange.resolved(nodes: Set(nodeOf).count) == .owners {
            return try assembleByOwners(θ, shard: shard, globalSampleCount: globalSampleCount, part: part, nodeOf: nodeOf,
                                        into: &matrix, progress: progress)
        }
        // Every rank's partial sums of every row block, added by one allreduce of its panel.
        var timing = Timing()
        var done = 0, clock = Stopwatch()
        var panel: [Double] = []
        try assembler.forEachRowBlock(θ, batch: shard, part: part) { block in
            timing.compute += clock.seconds
            clock = Stopwatch()
            panel.removeAll(keepingCapacity: true)
            panel.append(contentsOf: block.panel)
            try communicator.allreduce(&panel, .sum)
            timing.reduce += clock.seconds
            timing.reducedBytes += Double(panel.count * MemoryLayout<Double>.stride)
            panel.withUnsafeBufferPointer { matrix.store(rows: block.rows, firstColumn: block.firstColumn, panel: $0, scale: scale) }
            done += 1
            progress(done, assembler.rowBlockCount)
            clock = Stopwatch()
        }
        timing.compute += clock.seconds
        return timing
    }

    /// `nodeOf`: each rank's node (`Communicator.nodeOfEachRank`), to count what leaves the node.
    private func assembleByOwners(_ θ: [Double], shard: SampleBatch, globalSampleCount: Int, part: CurvaturePart, nodeOf: [Int],
                                  into matrix: inout BlockCyclicMatrix, progress: (Int, Int) -> Void) throws -> Timing {
        let world = matrix.grid.communicator, P = world.size, me = world.rank
        let grid = matrix.grid, ld = matrix.leadingDimension
        // Grid position d ↔ rank d: BLACS's "Row" order over this communicator (ProcessGrid).
        precondition(grid.myRow * grid.columns + grid.myColumn == me, "the process grid numbers ranks in row-major order")
        let M = assembler.network.layout.count
        let geometry = assembler.rowBlockGeometry
        let deal = Self.deal(geometry, columns: M, ranks: P), mine = deal[me]
        var timing = Timing()
        timing.sentBytes = 0
        timing.receivedBytes = 0
        timing.offNodeBytes = 0
        // This rank's panels, one after another (piece k at offsets[k]).
        var offsets: [Int] = [], total = 0
        for piece in mine {
            offsets.append(total)
            total += geometry[piece.block].rows.count * piece.columns.count
        }
        var panels = [Double](repeating: 0, count: total)
        var filled = false, done = 0
        let steps = max(P * mine.count, 1), units = deal.map(\.count).reduce(0, +)
        for source in 0..<P {
            var clock = Stopwatch()
            let batch = try broadcast(shard, from: source, on: world)
            timing.reduce += clock.seconds
            guard batch.count > 0 else { continue }
            clock = Stopwatch()
            let first = !filled
            var k = 0
            assembler.forEachPiece(θ, batch: batch, part: part, pieces: mine) { block in
                let count = block.panel.count
                panels.withUnsafeMutableBufferPointer { panels in
                    let target = panels.baseAddress! + offsets[k], panel = block.panel.baseAddress!
                    // Sums over the shards in rank order: the same grouping whoever computes the piece.
                    if first { target.update(from: panel, count: count) } else { for i in 0..<count { target[i] += panel[i] } }
                }
                k += 1
                done += 1
                progress(done * units / steps, units)
            }
            filled = true
            timing.compute += clock.seconds
        }
        // An empty shard somewhere skipped its share of the steps: report the end all the same.
        if done < steps { progress(units, units) }
        // Rounds: in round i rank s sends its i-th piece's entries to their owners.
        let clock = Stopwatch()
        let scale = 1 / Double(globalSampleCount)
        func ownership(_ piece: ExactHessian.Piece) -> PanelOwnership {
            let block = geometry[piece.block]
            return PanelOwnership(rows: block.rows, firstColumn: block.firstColumn + piece.columns.lowerBound, width: piece.columns.count,
                                  layout: matrix.layout)
        }
        for round in 0 ..< (deal.map(\.count).max() ?? 0) {
            let owners = deal.map { round < $0.count ? ownership($0[round]) : nil }
            var sendCounts = [Int](repeating: 0, count: P)
            let receiveCounts = owners.map { $0?.count(processRow: grid.myRow, processColumn: grid.myColumn) ?? 0 }
            var send = [Double](repeating: 0, count: owners[me]?.entries ?? 0)
            if let owner = owners[me] {
                panels.withUnsafeBufferPointer { panels in
                    send.withUnsafeMutableBufferPointer { send in
                        var next = 0
                        for d in 0..<P {
                            sendCounts[d] = owner.gather(panels.baseAddress! + offsets[round], processRow: d / grid.columns,
                                                         processColumn: d % grid.columns, into: send.baseAddress! + next)
                            next += sendCounts[d]
                        }
                        precondition(next == owner.entries, "the owners' shares must cover the panel twice")
                    }
                }
            }
            let received = try world.alltoallv(send, sendCounts: sendCounts, receiveCounts: receiveCounts)
            matrix.local.withUnsafeMutableBufferPointer { local in
                received.withUnsafeBufferPointer { received in
                    var next = 0
                    for owner in owners {
                        guard let owner else { continue }
                        next += owner.scatter(received.baseAddress! + next, processRow: grid.myRow, processColumn: grid.myColumn,
                                              into: local.baseAddress!, leadingDimension: ld, scale: scale)
                    }
                }
            }
            timing.sentBytes! += 8 * Double(send.count - sendCounts[me])
            timing.offNodeBytes! += 8 * Double((0..<P).filter { nodeOf[$0] != nodeOf[me] }.reduce(0) { $0 + sendCounts[$1] })
            timing.receivedBytes! += 8 * Double(received.count - receiveCounts[me])
        }
        timing.reduce += clock.seconds
        return timing
    }

    /// Rank `source`'s samples on every rank.
    private func broadcast(_ shard: SampleBatch, from source: Int, on world: Communicator) throws -> SampleBatch {
        var count = [world.rank == source ? shard.count : 0]
        try world.broadcast(&count, root: source)
        var inputs = world.rank == source ? shard.inputs : [Double](repeating: 0, count: count[0] * shard.inputDimension)
        var targets = world.rank == source ? shard.targets : [Double](repeating: 0, count: count[0] * shard.targetDimension)
        try world.broadcast(&inputs, root: source)
        try world.broadcast(&targets, root: source)
        return SampleBatch(inputs: inputs, inputDimension: shard.inputDimension, targets: targets, targetDimension: shard.targetDimension)
    }
}

/// How the ranks' partial work meets in the block-cyclic matrix (docs/scaling.md).
public enum AssemblyExchange: String, Codable, Sendable, CaseIterable {
    /// `allreduce` when every rank is on one node, `owners` otherwise.
    case auto
    /// Each rank sums its samples for every row block; one allreduce per panel adds them.
    case allreduce
    /// Pieces dealt to the ranks, each computed over all samples and sent to its entries' owners.
    case owners

    /// The exchange taken on ranks spread over `nodes` nodes: `auto` becomes the allreduce on one
    /// node and the exchange to owners across nodes; the others stay as asked.
    public func resolved(nodes: Int) -> AssemblyExchange {
        self == .auto ? (nodes > 1 ? .owners : .allreduce) : self
    }
}

/// What an assembly on P ranks costs each rank (`DistributedHessianAssembly.cost`,
/// `CurvatureAssembly.cost`), for one matrix.
public struct AssemblyCost: Sendable, Equatable {
    /// How the ranks' work meets (never `.auto`); nil on one rank, where every panel is stored in place.
    public var exchange: AssemblyExchange?
    /// Bytes of working memory per rank beyond the matrix.
    public var workingBytes: Int
    /// The busiest rank's share of the assembly's flops over all samples (1/P when balanced).
    public var busiestShare: Double
    /// Bytes each rank hands to the exchange: the allreduce's payload (a ring sends 2(P − 1)/P
    /// times it), or what the exchange to owners sends.
    public var exchangeBytes: Double

    public init(exchange: AssemblyExchange?, workingBytes: Int, busiestShare: Double, exchangeBytes: Double) {
        (self.exchange, self.workingBytes, self.busiestShare, self.exchangeBytes) = (exchange, workingBytes, busiestShare, exchangeBytes)
    }
}

/// Which entries of one piece's panel (global rows `rows`, columns firstColumn ..< firstColumn +
/// width) each process owns, in both orientations — entry (k, j) is H[rows[k], c] and, by symmetry, H[c, rows[k]]
/// with c = firstColumn + j — and where they sit in the owner's local piece. The maker of a panel
/// (`gather`) and every owner (`scatter`) walk the same entries in the same order, so only values
/// travel.
struct PanelOwnership {
    let width: Int
    /// Panel rows k with their owning process row and column and their local row and column.
    private let panelRows: [(k: Int, processRow: Int, processColumn: Int, localRow: Int, localColumn: Int)]
    /// Panel columns j by the process column owning c = firstColumn + j as a matrix column (the
    /// direct orientation), with c's local column there.
    private let columnsBy: [[(j: Int, local: Int)]]
    /// Panel columns j by the process row owning c as a matrix row (the mirror), with c's local row.
    private let rowsBy: [[(j: Int, local: Int)]]
    /// Values the panel sends in all (both orientations).
    let entries: Int

    init(rows: [Int], firstColumn: Int, width: Int, layout: BlockCyclicLayout) {
        let (rowAxis, columnAxis) = (layout.rowAxis, layout.columnAxis)
        self.width = width
        panelRows = rows.enumerated().map { k, i in
            (k, rowAxis.owner(of: i), columnAxis.owner(of: i), rowAxis.localIndex(of: i), columnAxis.localIndex(of: i))
        }
        var columnsBy = [[(j: Int, local: Int)]](repeating: [], count: columnAxis.processes)
        var rowsBy = [[(j: Int, local: Int)]](repeating: [], count: rowAxis.processes)
        for j in 0..<width {
            let c = firstColumn + j
            columnsBy[columnAxis.owner(of: c)].append((j, columnAxis.localIndex(of: c)))
            rowsBy[rowAxis.owner(of: c)].append((j, rowAxis.localIndex(of: c)))
        }
        self.columnsBy = columnsBy
        self.rowsBy = rowsBy
        entries = 2 * rows.count * width
    }

    /// How many values process (pr, pc) receives from this panel.
    func count(processRow pr: Int, processColumn pc: Int) -> Int {
        let direct = panelRows.filter { $0.processRow == pr }.count * columnsBy[pc].count
        let mirror = panelRows.filter { $0.processColumn == pc }.count * rowsBy[pr].count
        return direct + mirror
    }

    /// Copies the entries process (pr, pc) owns out of `panel` into `values`, in the order `scatter`
    /// expects: first those of H[rows[k], c] (c, then k ascending: the owner's local piece is
    /// column-major), then their mirrors H[c, rows[k]] (k, then c: one local column per k).
    /// Returns how many it wrote.
    func gather(_ panel: UnsafePointer<Double>, processRow pr: Int, processColumn pc: Int, into values: UnsafeMutablePointer<Double>) -> Int {
        var next = 0
        let owned = panelRows.filter { $0.processRow == pr }
        for (j, _) in columnsBy[pc] {
            for row in owned { values[next] = panel[row.k * width + j]; next += 1 }
        }
        for row in panelRows where row.processColumn == pc {
            let source = panel + row.k * width
            for (j, _) in rowsBy[pr] { values[next] = source[j]; next += 1 }
        }
        return next
    }

    /// Writes `scale` × the values `gather` made for this process (pr, pc) into its local piece
    /// (column-major, leading dimension `ld`). Returns how many it read.
    func scatter(_ values: UnsafePointer<Double>, processRow pr: Int, processColumn pc: Int, into local: UnsafeMutablePointer<Double>,
                 leadingDimension ld: Int, scale: Double) -> Int {
        var next = 0
        let owned = panelRows.filter { $0.processRow == pr }
        for (_, column) in columnsBy[pc] {
            let target = local + column * ld
            for row in owned { target[row.localRow] = scale * values[next]; next += 1 }
        }
        for row in panelRows where row.processColumn == pc {
            // One local column: the mirror of panel row k runs down it.
            let target = local + row.localColumn * ld
            for (_, localRow) in rowsBy[pr] { target[localRow] = scale * values[next]; next += 1 }
        }
        return next
    }
}

extension BlockCyclicMatrix {
    /// Writes the entries of a row panel this rank owns, and their mirror images: panel row k is
    /// global row rows[k], panel column j is global column firstColumn + j, and the value goes to
    /// both (rows[k], c) and (c, rows[k]).
    ///
    /// Loop order follows the column-major local piece: for the panel's own orientation each local
    /// column takes its owned panel rows (nearly consecutive local rows: one short contiguous run);
    /// for the mirror each owned panel row is one local column, filled down its owned rows, which
    /// are contiguous runs of the panel row. Both write memory in order, never a stride of ld.
    mutating func store(rows: [Int], firstColumn: Int, panel: UnsafeBufferPointer<Double>, scale: Double) {
        let width = columns - firstColumn
        let rowAxis = layout.rowAxis, columnAxis = layout.columnAxis
        // Local columns / rows whose global index is ≥ firstColumn, found once per panel.
        let myColumns = (0..<localColumns).map { ($0, globalColumn($0)) }.filter { $0.1 >= firstColumn }
        let myRows = (0..<localRows).map { ($0, globalRow($0)) }.filter { $0.1 >= firstColumn }
        // The panel rows this rank owns as rows, and as columns (for the mirror).
        let ownedAsRows = rows.enumerated().filter { rowAxis.owner(of: $0.element) == grid.myRow }
            .map { (source: $0.offset * width - firstColumn, local: rowAxis.localIndex(of: $0.element)) }
        let ownedAsColumns = rows.enumerated().filter { columnAxis.owner(of: $0.element) == grid.myColumn }
            .map { (source: $0.offset * width - firstColumn, local: columnAxis.localIndex(of: $0.element)) }
        let ld = leadingDimension
        local.withUnsafeMutableBufferPointer { a in
            let a = a.baseAddress!, panel = panel.baseAddress!
            for (c, j) in myColumns {
                let column = a + c * ld
                for (source, r) in ownedAsRows { column[r] = scale * panel[source + j] }
            }
            for (source, c) in ownedAsColumns {
                let column = a + c * ld
                for (r, i) in myRows { column[r] = scale * panel[source + i] }
            }
        }
    }
}
