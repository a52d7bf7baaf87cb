import CMPI

extension Communicator {
    /// The Fortran handle of this communicator (`MPI_Comm_c2f`), for libraries with a Fortran core
    /// such as ELPA.
    public var fortranHandle: Int32 { MPI_Comm_c2f(handle) }
}
