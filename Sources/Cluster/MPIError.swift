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
/// `Communicator.agree`). `MPIRuntime.run` enforces it: before it exits with 2 every rank must
/// reach the exit within a few seconds; a rank that threw one alone (its peers still waiting in a
/// collective) aborts the job with its message instead, so a misplaced `InputError` can never hang.
///
/// Library code names the *setting* (`setting`, a config key such as `hessian.grid`, or an option
/// name such as `vectors`), not a command-line flag it cannot know; the command that parsed the
/// user's input maps the setting to the flag or key the user wrote (`naming(_:)`).
public struct InputError: Error, CustomStringConvertible {
    /// The setting at fault, if any.
    public let setting: String?
    /// The problem and the fix, without the setting's name.
    public let detail: String
    /// How the setting is shown (the flag or key the user wrote); the setting itself by default.
    public var shownAs: String?

    public init(_ message: String) {
        setting = nil
        detail = message
    }

    public init(setting: String, _ detail: String) {
        self.setting = setting
        self.detail = detail
    }

    public var message: String {
        guard let setting else { return detail }
        return "\(shownAs ?? setting) \(detail)"
    }
    public var description: String { message }

    /// The same error with its setting shown as `name` (e.g. `--eigenvectors`).
    public func naming(_ name: String) -> InputError {
        var copy = self
        copy.shownAs = name
        return copy
    }
}
