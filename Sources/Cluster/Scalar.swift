import CMPI

/// Swift scalar types with a matching predefined MPI datatype.
///
/// The requirement names a Swift enum, not `MPI_Datatype`: no C type appears in the public API;
/// the mapping to MPI's handles is internal to the package.
public protocol MPIScalar: Numeric {
    static var scalarKind: MPIScalarKind { get }
}

/// The predefined MPI datatypes Landscape communicates.
public enum MPIScalarKind: Sendable {
    case double, float, int64, int32, uint8

    var datatype: MPI_Datatype {
        switch self {
        case .double: landscape_mpi_double()
        case .float: landscape_mpi_float()
        case .int64: landscape_mpi_int64()
        case .int32: landscape_mpi_int32()
        case .uint8: landscape_mpi_uint8()
        }
    }
}

extension MPIScalar {
    package static var mpiDatatype: MPI_Datatype { scalarKind.datatype }
}

extension Double: MPIScalar { public static var scalarKind: MPIScalarKind { .double } }
extension Float: MPIScalar { public static var scalarKind: MPIScalarKind { .float } }
// Swift's Int is 64-bit on every platform we build for.
extension Int: MPIScalar { public static var scalarKind: MPIScalarKind { .int64 } }
extension Int32: MPIScalar { public static var scalarKind: MPIScalarKind { .int32 } }
extension UInt8: MPIScalar { public static var scalarKind: MPIScalarKind { .uint8 } }

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
