import Cluster
import Foundation
import NPY
import Support

extension BlockCyclicMatrix {
    /// Reads a 2-D float64 or float32 NPY matrix straight into its block-cyclic distribution: each
    /// rank reads only its own blocks, in one collective MPI-IO call (`MPI_Type_create_darray`),
    /// so no rank ever holds the whole matrix.
    ///
    /// The darray view describes a column-major file. A C-order file of shape (r, c) is therefore
    /// read as its c × r transpose; `transposed` tells the caller (a symmetric matrix does not mind).
    /// float32 is widened to float64 and big-endian data byte-swapped after the read.
    public static func read(npy path: String, header: NPYHeader, grid: ProcessGrid,
                            blockSize: Int) throws -> (matrix: BlockCyclicMatrix, transposed: Bool) {
        precondition(header.shape.count == 2 && header.dataType.isFloatingPoint)
        let transposed = !header.fortranOrder
        let rows = transposed ? header.shape[1] : header.shape[0]
        let columns = transposed ? header.shape[0] : header.shape[1]
        var matrix = try BlockCyclicMatrix(grid: grid, rows: rows, columns: columns, blockSize: blockSize)
        return try ParallelFile.withFile(path, mode: .read, on: grid.communicator) { file in
            let count = matrix.localRows * matrix.localColumns   // packed: lld == localRows when localRows > 0
            let bigEndian = header.dataType.byteOrder == .big
            if header.dataType.itemSize == 8 {
                let view = try matrix.fileType(Double.self)
                defer { view.free() }
                try matrix.local.withUnsafeMutableBufferPointer { buffer in
                    try file.readAll(into: UnsafeMutableBufferPointer(rebasing: buffer[0..<count]),
                                     displacement: header.dataOffset, fileType: view)
                }
                if bigEndian {
                    for i in 0..<count { matrix.local[i] = Double(bitPattern: UInt64(bigEndian: matrix.local[i].bitPattern)) }
                }
            } else {
                let view = try matrix.fileType(Float.self)
                defer { view.free() }
                var narrow = [Float](repeating: 0, count: count)
                try narrow.withUnsafeMutableBufferPointer { buffer in
                    try file.readAll(into: buffer, displacement: header.dataOffset, fileType: view)
                }
                for i in 0..<count {
                    let value = bigEndian ? Float(bitPattern: UInt32(bigEndian: narrow[i].bitPattern)) : narrow[i]
                    matrix.local[i] = Double(value)
                }
            }
            return (matrix, transposed)
        }
    }

    /// Writes the first `columnCount` columns as one little-endian float64 NPY file in Fortran
    /// order (`rows × columnCount`), collectively through MPI-IO, under `path + ".partial"` renamed
    /// to `path` once every rank has finished — a reader never sees a half-written file.
    ///
    /// The first `columnCount` global columns of a block-cyclic matrix are themselves a
    /// block-cyclic `rows × columnCount` matrix whose local piece is the first local columns here,
    /// so the data goes out in place, without repacking.
    public func writeNPY(to path: String, columnCount: Int? = nil) throws {
        let k = columnCount ?? columns
        precondition(k <= columns)
        let communicator = grid.communicator
        let temporary = path + ".partial"   // one name every rank knows (the write is collective)
        let header = NPYHeader(dataType: .float64, fortranOrder: true, shape: [rows, k]).encoded()
        let prefix = try BlockCyclicMatrix(grid: grid, rows: rows, columns: k, blockSize: blockSize)
        let expected = header.count + 8 * rows * k
        let written = try ParallelFile.withFile(temporary, mode: .createWrite, on: communicator) { file -> Int in
            try file.setSize(0)    // a stale file of the same name must not leave a longer tail
            if communicator.isRoot { try file.write(bytes: header, at: 0) }
            let view = try prefix.fileType(Double.self)
            defer { view.free() }
            let count = prefix.localRows * prefix.localColumns
            try FaultInjection.check("matrix-write", rank: communicator.rank)
            try local.withUnsafeBufferPointer { buffer in
                try file.writeAll(UnsafeBufferPointer(rebasing: buffer[0..<count]), displacement: header.count, fileType: view)
            }
            try file.sync()
            return try file.size()
        }
        // Every write returned success; the file must also have its full size before it may take
        // its final name (a short write on a full disk shows here, and the same on every rank: the
        // size is the file's). The truncated temporary is removed, nothing takes the final name.
        guard written == expected else {
            if communicator.isRoot { try? FileManager.default.removeItem(atPath: temporary) }
            throw CollectiveFailure(message: "cannot write '\(path)': only \(formatBytes(written)) of \(formatBytes(expected)) reached the disk (is it full?); nothing was written under that name")
        }
        if communicator.isRoot { try commit(temporary, to: path) }
        try communicator.barrier()
    }

    /// This rank's blocks of the column-major file image of the matrix.
    func fileType<T: MPIScalar>(_ type: T.Type) throws -> DerivedDatatype {
        try DerivedDatatype.blockCyclic(of: type, rows: rows, columns: columns, rowBlock: blockSize,
                                        columnBlock: blockSize, processRows: grid.rows, processColumns: grid.columns,
                                        processRow: grid.myRow, processColumn: grid.myColumn)
    }
}
