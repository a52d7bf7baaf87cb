import CScaLAPACK
import Cluster

/// A BLACS process grid: the ranks of a communicator arranged as `rows × columns`, numbered in
/// row-major ("Row") order, so rank r sits at (r / columns, r % columns). MPI-IO's darray type
/// numbers processes the same way, which is what lets a rank read its block-cyclic piece directly.
public struct ProcessGrid: Sendable {
    public let communicator: Communicator
    /// The BLACS context handle.
    public let context: Int32
    public let rows: Int
    public let columns: Int
    public let myRow: Int
    public let myColumn: Int

    /// The most square `rows × columns` factorisation of `processes` with rows ≤ columns:
    /// square grids balance the communication of ScaLAPACK's 2-D algorithms.
    public static func squarestShape(for processes: Int) -> (rows: Int, columns: Int) {
        precondition(processes >= 1)
        var rows = Int(Double(processes).squareRoot())
        while processes % rows != 0 { rows -= 1 }
        return (rows, processes / rows)
    }

    /// Parses `"PrxPc"` (e.g. `"2x3"`) or `"auto"`.
    public static func parseShape(_ text: String, processes: Int) throws -> (rows: Int, columns: Int) {
        if text.lowercased() == "auto" { return squarestShape(for: processes) }
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let r = Int(parts[0]), let c = Int(parts[1]), r >= 1, c >= 1 else {
            throw InputError(setting: "hessian.grid", "'\(text)' is not of the form PrxPc (e.g. 2x2) or 'auto'")
        }
        guard r * c == processes else {
            throw InputError(setting: "hessian.grid", "\(r)x\(c) needs \(r * c) ranks but the job has \(processes); use a grid with Pr·Pc = \(processes) or 'auto'")
        }
        return (r, c)
    }

    /// Creates the BLACS grid over all ranks of `communicator` (collective).
    public init(communicator: Communicator, rows: Int, columns: Int) {
        precondition(rows * columns == communicator.size)
        self.communicator = communicator
        var context = Csys2blacs_handle(UnsafeMutableRawPointer(communicator.handle))
        Cblacs_gridinit(&context, "Row", Int32(rows), Int32(columns))
        var pr: Int32 = 0, pc: Int32 = 0, r: Int32 = 0, c: Int32 = 0
        Cblacs_gridinfo(context, &pr, &pc, &r, &c)
        self.context = context
        self.rows = Int(pr)
        self.columns = Int(pc)
        self.myRow = Int(r)
        self.myColumn = Int(c)
    }

    public var shapeDescription: String { "\(rows)x\(columns)" }

    /// Releases the BLACS context (the communicator stays).
    public func release() { Cblacs_gridexit(context) }
}
