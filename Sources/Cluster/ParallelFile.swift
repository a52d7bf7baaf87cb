import CMPI

/// An MPI datatype this code created (and therefore frees).
public struct DerivedDatatype: @unchecked Sendable {
    package let handle: MPI_Datatype

    /// The part of a global column-major (Fortran-order) `rows × columns` array that process
    /// `(processRow, processColumn)` owns in a 2-D block-cyclic distribution with `rowBlock ×
    /// columnBlock` blocks over a `processRows × processColumns` grid whose first block sits on
    /// process (0, 0) — exactly ScaLAPACK's layout with a row-major ("Row") BLACS grid, so that a
    /// rank's local array can be read or written in place as one collective MPI-IO call.
    public static func blockCyclic<T: MPIScalar>(
        of: T.Type, rows: Int, columns: Int, rowBlock: Int, columnBlock: Int,
        processRows: Int, processColumns: Int, processRow: Int, processColumn: Int
    ) throws -> DerivedDatatype {
        var gsizes: [Int32] = [try int32Count(rows), try int32Count(columns)]
        var distribs: [Int32] = [Int32(MPI_DISTRIBUTE_CYCLIC), Int32(MPI_DISTRIBUTE_CYCLIC)]
        var dargs: [Int32] = [Int32(rowBlock), Int32(columnBlock)]
        var psizes: [Int32] = [Int32(processRows), Int32(processColumns)]
        // MPI numbers darray processes in row-major order of psizes, whatever `order` says.
        let gridRank = Int32(processRow * processColumns + processColumn)
        var type: MPI_Datatype? = nil
        try check(MPI_Type_create_darray(Int32(processRows * processColumns), gridRank, 2, &gsizes, &distribs,
                                         &dargs, &psizes, Int32(MPI_ORDER_FORTRAN), T.mpiDatatype, &type),
                  "MPI_Type_create_darray")
        try check(MPI_Type_commit(&type), "MPI_Type_commit")
        return DerivedDatatype(handle: type!)
    }

    public func free() {
        var h: MPI_Datatype? = handle
        _ = MPI_Type_free(&h)
    }
}

/// A file opened collectively with MPI-IO on a communicator.
public struct ParallelFile: @unchecked Sendable {
    public enum Mode: Sendable { case read, createWrite }

    private let handle: MPI_File
    public let path: String

    public static func open(_ path: String, mode: Mode, on communicator: Communicator) throws -> ParallelFile {
        let amode: Int32 = switch mode {
        case .read: Int32(MPI_MODE_RDONLY)
        case .createWrite: Int32(MPI_MODE_CREATE | MPI_MODE_WRONLY)
        }
        var file: MPI_File? = nil
        try check(MPI_File_open(communicator.handle, path, amode, landscape_mpi_info_null(), &file),
                  "MPI_File_open(\(path))")
        // Files get their own error handler; make it return codes too (the default already does,
        // but say so rather than depend on it).
        try check(MPI_File_set_errhandler(file, landscape_mpi_errors_return()), "MPI_File_set_errhandler")
        return ParallelFile(handle: file!, path: path)
    }

    /// Opens `path`, runs `body` with the file and closes it, on every path out of `body`.
    ///
    /// When `body` throws a verdict every rank shares (`InputError`, `CollectiveFailure`) every
    /// rank closes the file (`MPI_File_close` is collective) and the error goes on. Any other error
    /// may have been thrown by this rank alone, while the others wait in a collective write: a
    /// collective close would then never return, so the file is left to `MPI_Abort`, which the
    /// runtime calls for exactly these errors.
    public static func withFile<R>(_ path: String, mode: Mode, on communicator: Communicator,
                                   _ body: (ParallelFile) throws -> R) throws -> R {
        let file = try open(path, mode: mode, on: communicator)
        let result: R
        do {
            result = try body(file)
        } catch let error as InputError {
            try? file.close()
            throw error
        } catch let error as CollectiveFailure {
            try? file.close()
            throw error
        }
        try file.close()
        return result
    }

    /// Flushes this rank's writes to the storage device (`MPI_File_sync`, collective).
    public func sync() throws {
        try check(MPI_File_sync(handle), "MPI_File_sync(\(path))")
    }

    /// The file's current size in bytes (`MPI_File_get_size`).
    public func size() throws -> Int {
        var bytes: MPI_Offset = 0
        try check(MPI_File_get_size(handle, &bytes), "MPI_File_get_size(\(path))")
        return Int(bytes)
    }

    /// Truncates or extends the file to `bytes` (collective).
    public func setSize(_ bytes: Int) throws {
        try check(MPI_File_set_size(handle, MPI_Offset(bytes)), "MPI_File_set_size(\(path))")
    }

    /// Writes raw bytes at an absolute offset from this rank alone (e.g. a header from rank 0).
    public func write(bytes: [UInt8], at offset: Int) throws {
        try bytes.withUnsafeBufferPointer { buffer in
            try check(MPI_File_write_at(handle, MPI_Offset(offset), buffer.baseAddress, try int32Count(buffer.count),
                                        landscape_mpi_byte(), landscape_mpi_status_ignore()),
                      "MPI_File_write_at(\(path))")
        }
    }

    /// Collectively reads each rank's share of a distributed array: the file view starts at
    /// `displacement` bytes and selects `fileType` (built from `T`), and `buffer` receives the
    /// selected elements in order.
    public func readAll<T: MPIScalar>(into buffer: UnsafeMutableBufferPointer<T>, displacement: Int,
                                      fileType: DerivedDatatype) throws {
        try check(MPI_File_set_view(handle, MPI_Offset(displacement), T.mpiDatatype, fileType.handle, "native",
                                    landscape_mpi_info_null()), "MPI_File_set_view(\(path))")
        try check(MPI_File_read_all(handle, buffer.baseAddress, try int32Count(buffer.count), T.mpiDatatype,
                                    landscape_mpi_status_ignore()), "MPI_File_read_all(\(path))")
    }

    /// Collectively writes each rank's share of a distributed array (the mirror of `readAll`).
    public func writeAll<T: MPIScalar>(_ buffer: UnsafeBufferPointer<T>, displacement: Int,
                                       fileType: DerivedDatatype) throws {
        try check(MPI_File_set_view(handle, MPI_Offset(displacement), T.mpiDatatype, fileType.handle, "native",
                                    landscape_mpi_info_null()), "MPI_File_set_view(\(path))")
        try check(MPI_File_write_all(handle, buffer.baseAddress, try int32Count(buffer.count), T.mpiDatatype,
                                     landscape_mpi_status_ignore()), "MPI_File_write_all(\(path))")
    }

    public func close() throws {
        var h: MPI_File? = handle
        try check(MPI_File_close(&h), "MPI_File_close(\(path))")
    }
}
