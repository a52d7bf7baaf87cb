/// One dimension of a ScaLAPACK block-cyclic distribution: `count` global indices cut into blocks
/// of `blockSize`, dealt round-robin to `processes` processes starting at process 0.
///
/// Pure index arithmetic, no MPI. Global and local indices are 0-based here (ScaLAPACK's are
/// 1-based); each map cites the TOOLS routine it ports.
public struct BlockCyclicAxis: Equatable, Hashable, Sendable {
    public let count: Int
    public let blockSize: Int
    public let processes: Int

    public init(count: Int, blockSize: Int, processes: Int) {
        precondition(count >= 0 && blockSize >= 1 && processes >= 1)
        self.count = count
        self.blockSize = blockSize
        self.processes = processes
    }

    /// NUMROC: how many of the global indices process `process` owns. Whole cycles give every
    /// process `blockSize` each; the remaining blocks go one each to the first processes, and the
    /// last of those may be partial.
    public func localCount(process: Int) -> Int {
        let blocks = count / blockSize
        var n = (blocks / processes) * blockSize
        let extraBlocks = blocks % processes
        if process < extraBlocks { n += blockSize } else if process == extraBlocks { n += count % blockSize }
        return n
    }

    /// INDXG2P: the process that owns global index `global`.
    public func owner(of global: Int) -> Int { (global / blockSize) % processes }

    /// INDXG2L: the position of global index `global` in its owner's local array.
    public func localIndex(of global: Int) -> Int {
        (global / (blockSize * processes)) * blockSize + global % blockSize
    }

    /// INDXL2G: the global index of local position `local` on process `process`.
    public func globalIndex(local: Int, process: Int) -> Int {
        (local / blockSize) * blockSize * processes + process * blockSize + local % blockSize
    }
}

/// The 2-D block-cyclic layout of a `rows × columns` matrix over a `processRows × processColumns`
/// grid: rows and columns are distributed independently, each by its own `BlockCyclicAxis`.
/// Process (pr, pc) stores its `localRows × localColumns` piece column-major.
public struct BlockCyclicLayout: Equatable, Hashable, Sendable {
    public let rowAxis: BlockCyclicAxis
    public let columnAxis: BlockCyclicAxis

    public init(rows: Int, columns: Int, rowBlock: Int, columnBlock: Int, processRows: Int, processColumns: Int) {
        rowAxis = BlockCyclicAxis(count: rows, blockSize: rowBlock, processes: processRows)
        columnAxis = BlockCyclicAxis(count: columns, blockSize: columnBlock, processes: processColumns)
    }

    public var rows: Int { rowAxis.count }
    public var columns: Int { columnAxis.count }

    public func localRows(processRow: Int) -> Int { rowAxis.localCount(process: processRow) }
    public func localColumns(processColumn: Int) -> Int { columnAxis.localCount(process: processColumn) }

    /// The grid coordinates of the process that owns entry (i, j).
    public func owner(row i: Int, column j: Int) -> (processRow: Int, processColumn: Int) {
        (rowAxis.owner(of: i), columnAxis.owner(of: j))
    }

    /// Where entry (i, j) sits in its owner's local array.
    public func localPosition(row i: Int, column j: Int) -> (row: Int, column: Int) {
        (rowAxis.localIndex(of: i), columnAxis.localIndex(of: j))
    }
}
