import CMPI

/// A failed MPI call: the routine's name, its return code and `MPI_Error_string` of that code.
///
/// The world communicator runs with `MPI_ERRORS_RETURN`, so MPI reports failures as return codes
/// instead of aborting inside the library; every call goes through `check` and surfaces here.
public struct MPIError: Error, CustomStringConvertible {
    public let routine: String
    public let code: Int32
    public let message: String

    public var description: String { "\(routine) failed (code \(code)): \(message)" }

    init(routine: String, code: Int32) {
        self.routine = routine
        self.code = code
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        if MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS {
            self.message = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) },
                                  as: UTF8.self)
        } else {
            self.message = "unknown MPI error"
        }
    }
}

/// Turns an MPI return code into a thrown `MPIError` naming the routine.
@inline(__always)
func check(_ code: Int32, _ routine: @autoclosure () -> String) throws {
    if code != MPI_SUCCESS { throw MPIError(routine: routine(), code: code) }
}

/// Bad user input: a wrong option, file, size or configuration. The process exits with status 2
/// and the message on rank 0.
///
/// Invariant: an `InputError` is thrown *collectively* — every rank of the communicator reaches
/// the same verdict (a replicated check, or a check on one rank whose verdict is broadcast with
/// `Communicator.agree`). Anything that fails on some ranks only is a different error and aborts the
/// job with `MPI_Abort`, so a failure can never leave the other ranks waiting in a collective.
public struct InputError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
