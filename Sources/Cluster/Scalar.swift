import CMPI

/// Swift scalar types with a matching predefined MPI datatype.
public protocol MPIScalar: Numeric {
    static var mpiDatatype: MPI_Datatype { get }
}

extension Double: MPIScalar { public static var mpiDatatype: MPI_Datatype { landscape_mpi_double() } }
extension Float: MPIScalar { public static var mpiDatatype: MPI_Datatype { landscape_mpi_float() } }
extension Int: MPIScalar {
    // Swift's Int is 64-bit on every platform we build for.
    public static var mpiDatatype: MPI_Datatype { landscape_mpi_int64() }
}
extension Int32: MPIScalar { public static var mpiDatatype: MPI_Datatype { landscape_mpi_int32() } }
extension UInt8: MPIScalar { public static var mpiDatatype: MPI_Datatype { landscape_mpi_uint8() } }

/// Reduction operators offered on numeric buffers.
public enum ReductionOperator: Sendable {
    case sum, max, min

    var mpiOp: MPI_Op {
        switch self {
        case .sum: landscape_mpi_sum()
        case .max: landscape_mpi_max()
        case .min: landscape_mpi_min()
        }
    }
}
