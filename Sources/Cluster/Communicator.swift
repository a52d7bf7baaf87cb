import CMPI
import Foundation
import Support

/// An MPI communicator: a group of ranks that take part in collectives together.
///
/// A value type over the MPI handle. The world communicator belongs to `MPIRuntime`; communicators
/// made by `split` or `duplicate` belong to the caller, who releases them with `free()`.
/// Every call is checked: a failure throws `MPIError` naming the routine.
public struct Communicator: @unchecked Sendable {
    package let handle: MPI_Comm
    /// This process's rank in the communicator, 0 ..< size.
    public let rank: Int
    /// The number of ranks.
    public let size: Int

    package init(handle: MPI_Comm) throws {
        self.handle = handle
        var r: Int32 = 0, s: Int32 = 0
        try check(MPI_Comm_rank(handle, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(handle, &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    public var isRoot: Bool { rank == 0 }

    public func barrier() throws {
        try check(MPI_Barrier(handle), "MPI_Barrier")
    }

    // MARK: Reductions

    /// Combines `buffer` element-wise across all ranks; every rank receives the result in place.
    /// MPI counts are 32-bit: a buffer longer than `messageLimit` (an M × B panel with M·B > 2³¹ is
    /// one) goes as consecutive pieces — an element-wise reduction in place is the same operation
    /// piece by piece, and every rank cuts the same pieces because every rank holds the same count.
    public func allreduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ op: ReductionOperator) throws {
        try allreduce(buffer, op, messageLimit: Communicator.messageLimit)
    }

    /// `allreduce` with an explicit piece length (tests cut small buffers into many pieces).
    package func allreduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ op: ReductionOperator,
                                         messageLimit: Int) throws {
        for piece in Communicator.pieces(of: buffer.count, limit: messageLimit) {
            try check(MPI_Allreduce(landscape_mpi_in_place(), buffer.baseAddress! + piece.lowerBound,
                                    try int32Count(piece.count), T.mpiDatatype, op.mpiOp, handle), "MPI_Allreduce")
        }
    }

    /// The longest message one MPI call carries: Int32.max elements, MPI's count type.
    package static let messageLimit = Int(Int32.max)

    /// 0..<count cut into consecutive ranges of at most `limit` elements (none when count is 0).
    package static func pieces(of count: Int, limit: Int) -> [Range<Int>] {
        precondition(limit > 0)
        return stride(from: 0, to: count, by: limit).map { $0..<min($0 + limit, count) }
    }

    public func allreduce<T: MPIScalar>(_ values: inout [T], _ op: ReductionOperator) throws {
        try values.withUnsafeMutableBufferPointer { try allreduce($0, op) }
    }

    public func allreduce<T: MPIScalar>(_ value: T, _ op: ReductionOperator) throws -> T {
        var values = [value]
        try allreduce(&values, op)
        return values[0]
    }

    /// Sums `send` element-wise across ranks and leaves segment r (of length `counts[r]`) on rank r:
    /// the collective that delivers distributed contributions to their owners. A vector longer
    /// than `messageLimit` goes as consecutive windows of it (`Window`), each one reduce-scatter of
    /// the segments' parts inside it: the same sums of the same values, element by element.
    public func reduceScatter<T: MPIScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                            counts: [Int], _ op: ReductionOperator = .sum) throws {
        try reduceScatter(send, into: receive, counts: counts, op, messageLimit: Communicator.messageLimit)
    }

    /// `reduceScatter` with an explicit window length (tests cut small vectors into many windows).
    package func reduceScatter<T: MPIScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                             counts: [Int], _ op: ReductionOperator = .sum, messageLimit: Int) throws {
        precondition(counts.count == size && counts.reduce(0, +) == send.count && counts[rank] == receive.count)
        for window in Communicator.windows(of: counts, limit: messageLimit) {
            try check(MPI_Reduce_scatter(send.baseAddress.map { $0 + window.range.lowerBound },
                                         receive.baseAddress.map { $0 + window.local(rank) }, window.counts,
                                         T.mpiDatatype, op.mpiOp, handle), "MPI_Reduce_scatter")
        }
    }

    // MARK: Broadcast, gather

    /// Sends `buffer` from `root` to every rank, in pieces of at most `messageLimit` (see `allreduce`).
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int = 0) throws {
        try broadcast(buffer, root: root, messageLimit: Communicator.messageLimit)
    }

    package func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int, messageLimit: Int) throws {
        for piece in Communicator.pieces(of: buffer.count, limit: messageLimit) {
            try check(MPI_Bcast(buffer.baseAddress! + piece.lowerBound, try int32Count(piece.count), T.mpiDatatype,
                                Int32(root), handle), "MPI_Bcast")
        }
    }

    public func broadcast<T: MPIScalar>(_ values: inout [T], root: Int = 0) throws {
        try values.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    /// Broadcasts a variable-length byte string: its length first, then the bytes.
    public func broadcast(bytes: [UInt8], root: Int = 0) throws -> [UInt8] {
        var count = [bytes.count]
        try broadcast(&count, root: root)
        var data = rank == root ? bytes : [UInt8](repeating: 0, count: count[0])
        try broadcast(&data, root: root)
        return data
    }

    /// Gathers equal-length contributions to `root` in rank order (empty on other ranks).
    public func gather<T: MPIScalar>(_ values: [T], root: Int = 0) throws -> [T] {
        let counts = try allgather([values.count])
        return try gatherv(values, counts: counts, root: root)
    }

    /// Gathers contributions of differing lengths (`counts[r]` from rank r) to `root`; a total
    /// past `messageLimit` goes as consecutive windows of the result (`Window`).
    public func gatherv<T: MPIScalar>(_ values: [T], counts: [Int], root: Int = 0) throws -> [T] {
        try gatherv(values, counts: counts, root: root, messageLimit: Communicator.messageLimit)
    }

    /// `gatherv` with an explicit window length (tests cut small gathers into many windows).
    package func gatherv<T: MPIScalar>(_ values: [T], counts: [Int], root: Int = 0, messageLimit: Int) throws -> [T] {
        precondition(counts.count == size && counts[rank] == values.count)
        var result = [T](repeating: .zero, count: rank == root ? counts.reduce(0, +) : 0)
        try values.withUnsafeBufferPointer { send in
            try result.withUnsafeMutableBufferPointer { receive in
                for window in Communicator.windows(of: counts, limit: messageLimit) {
                    // Only the root's receive arguments are read; elsewhere the buffer is empty.
                    try check(MPI_Gatherv(send.baseAddress.map { $0 + window.local(rank) }, window.counts[rank], T.mpiDatatype,
                                          rank == root ? receive.baseAddress! + window.range.lowerBound : nil,
                                          window.counts, window.displacements, T.mpiDatatype, Int32(root), handle), "MPI_Gatherv")
                }
            }
        }
        return result
    }

    /// The offsets of rank-ordered contributions in one buffer, as MPI's 32-bit displacements: a
    /// total past Int32.max (where the sum would wrap) is an error, not a trap.
    package static func displacements(_ counts: [Int]) throws -> [Int32] {
        var offset = 0
        return try counts.map { count in
            defer { offset += count }
            return try int32Count(offset)
        }
    }

    /// One call's share of an exchange of rank-ordered segments (rank q's at offset Σ_{r<q} counts[r]
    /// of the concatenation): the window `range` of the concatenation, at most the message limit
    /// long, and each rank's part of it as MPI's 32-bit counts and displacements from the
    /// window's start. Every rank computes the same windows from the counts alone, so every rank
    /// makes the same calls; a part outside the window is empty.
    package struct Window: Equatable {
        package let range: Range<Int>
        /// Rank q's part of the window, in the concatenation.
        package let parts: [Range<Int>]
        package let counts: [Int32]
        package let displacements: [Int32]
        /// Where rank q's part starts in rank q's own segment (0 for an empty part).
        private let segmentOffsets: [Int]

        package func local(_ q: Int) -> Int { segmentOffsets[q] }

        init(range: Range<Int>, segments: [Range<Int>]) {
            self.range = range
            parts = segments.map { segment in
                let lower = max(segment.lowerBound, range.lowerBound), upper = min(segment.upperBound, range.upperBound)
                return lower < upper ? lower..<upper : range.lowerBound..<range.lowerBound
            }
            // Both fit in 32 bits: each part lies inside a window of at most Int32.max elements.
            counts = parts.map { Int32($0.count) }
            displacements = parts.map { Int32($0.lowerBound - range.lowerBound) }
            segmentOffsets = zip(parts, segments).map { $0.isEmpty ? 0 : $0.lowerBound - $1.lowerBound }
        }
    }

    /// The windows of at most `limit` elements (≤ Int32.max) that cut the concatenation of
    /// `counts` (none when it is empty): one when it fits, as one MPI call did before.
    package static func windows(of counts: [Int], limit: Int) -> [Window] {
        precondition(limit <= messageLimit && counts.allSatisfy { $0 >= 0 })
        var segments: [Range<Int>] = [], offset = 0
        for count in counts {
            segments.append(offset..<(offset + count))
            offset += count
        }
        return pieces(of: offset, limit: limit).map { Window(range: $0, segments: segments) }
    }

    /// Every rank receives every rank's equal-length contribution, in rank order.
    public func allgather<T: MPIScalar>(_ values: [T]) throws -> [T] {
        let n = values.count
        var result = [T](repeating: .zero, count: n * size)
        try values.withUnsafeBufferPointer { send in
            try result.withUnsafeMutableBufferPointer { receive in
                try check(MPI_Allgather(send.baseAddress, try int32Count(n), T.mpiDatatype,
                                        receive.baseAddress, try int32Count(n), T.mpiDatatype, handle),
                          "MPI_Allgather")
            }
        }
        return result
    }

    /// Every rank receives every rank's contribution (`counts[r]` from rank r), in rank order; a
    /// total past `messageLimit` goes as consecutive windows of the result (`Window`).
    public func allgatherv<T: MPIScalar>(_ values: [T], counts: [Int]) throws -> [T] {
        try allgatherv(values, counts: counts, messageLimit: Communicator.messageLimit)
    }

    /// `allgatherv` with an explicit window length (tests cut small gathers into many windows).
    package func allgatherv<T: MPIScalar>(_ values: [T], counts: [Int], messageLimit: Int) throws -> [T] {
        precondition(counts.count == size && counts[rank] == values.count)
        var result = [T](repeating: .zero, count: counts.reduce(0, +))
        try values.withUnsafeBufferPointer { send in
            try result.withUnsafeMutableBufferPointer { receive in
                for window in Communicator.windows(of: counts, limit: messageLimit) {
                    try check(MPI_Allgatherv(send.baseAddress.map { $0 + window.local(rank) }, window.counts[rank], T.mpiDatatype,
                                             receive.baseAddress! + window.range.lowerBound, window.counts, window.displacements,
                                             T.mpiDatatype, handle), "MPI_Allgatherv")
                }
            }
        }
        return result
    }

    /// Personalised all-to-all: `send` holds `sendCounts[d]` values for each rank d in rank order;
    /// returns `receiveCounts[s]` values from each rank s in rank order (both sides know the counts).
    ///
    /// One MPI_Alltoallv while every rank sends and receives at most `messageLimit` values. Past
    /// that its 32-bit counts and displacements cannot describe the buffers, and no rank knows the
    /// other pairs' counts to cut common windows; so the ranks agree (one allreduce of a flag) and
    /// then each pair's message travels point to point in pieces of at most `messageLimit`, on a
    /// private duplicate of the communicator (no message of the caller's can match them). Values
    /// are only moved, so both ways give the same bits.
    /// `largestTotal`: a bound on every rank's send and receive totals that every rank knows alike
    /// (the caller's layout); within one message, the ranks need not agree on the way first.
    public func alltoallv<T: MPIScalar>(_ send: [T], sendCounts: [Int], receiveCounts: [Int], largestTotal: Int? = nil) throws -> [T] {
        try alltoallv(send, sendCounts: sendCounts, receiveCounts: receiveCounts, largestTotal: largestTotal, messageLimit: Communicator.messageLimit)
    }

    /// `alltoallv` with an explicit message limit (tests force the point-to-point pieces on small buffers).
    package func alltoallv<T: MPIScalar>(_ send: [T], sendCounts: [Int], receiveCounts: [Int], largestTotal: Int? = nil,
                                         messageLimit: Int) throws -> [T] {
        precondition(sendCounts.count == size && receiveCounts.count == size && sendCounts.reduce(0, +) == send.count)
        precondition(messageLimit <= Communicator.messageLimit)
        let receiveTotal = receiveCounts.reduce(0, +)
        precondition(largestTotal.map { max(send.count, receiveTotal) <= $0 } ?? true, "a bound below this rank's totals")
        var result = [T](repeating: .zero, count: receiveTotal)
        // Whether any rank's buffers overflow one call: a flag every rank must share, since the two
        // ways do not match each other's messages (8 bytes beside the exchange's panels) — unless
        // the caller's bound, the same on every rank, already says.
        let overflows = if let largestTotal, largestTotal <= messageLimit { false } else {
            try allreduce(max(send.count, receiveTotal) > messageLimit ? 1 : 0, .max) == 1
        }
        if !overflows {
            let sendCounts32 = sendCounts.map { Int32($0) }, receiveCounts32 = receiveCounts.map { Int32($0) }
            let sendDisplacements = try Communicator.displacements(sendCounts)
            let receiveDisplacements = try Communicator.displacements(receiveCounts)
            try send.withUnsafeBufferPointer { s in
                try result.withUnsafeMutableBufferPointer { r in
                    try check(MPI_Alltoallv(s.baseAddress, sendCounts32, sendDisplacements, T.mpiDatatype,
                                            r.baseAddress, receiveCounts32, receiveDisplacements, T.mpiDatatype, handle), "MPI_Alltoallv")
                }
            }
            return result
        }
        let exchange = try duplicate()
        defer { try? exchange.free() }
        try send.withUnsafeBufferPointer { s in
            try result.withUnsafeMutableBufferPointer { r in
                // Pieces of one pair share source, destination, tag and communicator, so MPI delivers
                // them in the order they were posted: the k-th receive takes the k-th send.
                var requests: [MPI_Request?] = []
                for (source, range) in pairPieces(receiveCounts, limit: messageLimit) {
                    var request: MPI_Request? = nil
                    try check(MPI_Irecv(r.baseAddress! + range.lowerBound, Int32(range.count), T.mpiDatatype,
                                        Int32(source), 0, exchange.handle, &request), "MPI_Irecv")
                    requests.append(request)
                }
                for (destination, range) in pairPieces(sendCounts, limit: messageLimit) {
                    var request: MPI_Request? = nil
                    try check(MPI_Isend(s.baseAddress! + range.lowerBound, Int32(range.count), T.mpiDatatype,
                                        Int32(destination), 0, exchange.handle, &request), "MPI_Isend")
                    requests.append(request)
                }
                var statuses = [MPI_Status](repeating: MPI_Status(), count: requests.count)
                try check(MPI_Waitall(Int32(requests.count), &requests, &statuses), "MPI_Waitall")
            }
        }
        return result
    }

    /// The messages of rank-ordered counts (`counts[q]` values for rank q, one after another) cut
    /// into pieces of at most `limit`: each piece's rank and its place in the buffer, in order.
    private func pairPieces(_ counts: [Int], limit: Int) -> [(rank: Int, range: Range<Int>)] {
        var result: [(rank: Int, range: Range<Int>)] = [], offset = 0
        for (q, count) in counts.enumerated() {
            result += Communicator.pieces(of: count, limit: limit).map { (q, (offset + $0.lowerBound)..<(offset + $0.upperBound)) }
            offset += count
        }
        return result
    }

    /// Gathers one string from every rank to `root`, in rank order (empty on other ranks).
    public func gather(string: String, root: Int = 0) throws -> [String] {
        let bytes = Array(string.utf8)
        let counts = try allgather([bytes.count])
        let all = try gatherv(bytes, counts: counts, root: root)
        guard rank == root else { return [] }
        var strings: [String] = [], offset = 0
        for count in counts {
            strings.append(String(decoding: all[offset..<(offset + count)], as: UTF8.self))
            offset += count
        }
        return strings
    }

    // MARK: New communicators

    /// Partitions the ranks by `color`; within a color, ranks are ordered by `key` (then old rank).
    public func split(color: Int, key: Int? = nil) throws -> Communicator {
        var new: MPI_Comm? = nil
        try check(MPI_Comm_split(handle, Int32(color), Int32(key ?? rank), &new), "MPI_Comm_split")
        return try Communicator(handle: new!)
    }

    /// The ranks that share this node's memory (`MPI_COMM_TYPE_SHARED`).
    public func splitByNode() throws -> Communicator {
        var new: MPI_Comm? = nil
        try check(MPI_Comm_split_type(handle, Int32(MPI_COMM_TYPE_SHARED), Int32(rank),
                                      landscape_mpi_info_null(), &new), "MPI_Comm_split_type")
        return try Communicator(handle: new!)
    }

    /// Which node each rank is on, known to every rank: nodes are the shared-memory communicators
    /// (what MPI itself treats as one node), each named by its lowest rank here, so that every
    /// rank computes the same numbering (collective).
    public func nodeOfEachRank() throws -> [Int] {
        let shared = try splitByNode()
        defer { try? shared.free() }
        var lowest = [rank]
        try shared.broadcast(&lowest)
        return try allgather(lowest)
    }

    public func duplicate() throws -> Communicator {
        var new: MPI_Comm? = nil
        try check(MPI_Comm_dup(handle, &new), "MPI_Comm_dup")
        return try Communicator(handle: new!)
    }

    /// Releases a communicator made by `split` or `duplicate`.
    public func free() throws {
        var h: MPI_Comm? = handle
        try check(MPI_Comm_free(&h), "MPI_Comm_free")
    }

    // MARK: Agreement

    /// Runs `body` on `root` only and hands its result — or its failure — to every rank.
    ///
    /// This is how a check that only one rank can make (reading a file header, probing a path)
    /// becomes a collective verdict: if `body` throws, every rank throws `InputError` with the same
    /// message, so all ranks leave together instead of the others waiting in the next collective.
    public func agree<T: Codable>(root: Int = 0, _ body: () throws -> T) throws -> T {
        var verdict = Verdict<T>(value: [], error: nil, isInput: true)
        if rank == root {
            do { verdict.value = [try body()] } catch let error as InputError {
                verdict.error = error.message
            } catch {
                verdict.error = String(describing: error)
                verdict.isInput = false
            }
        }
        // Non-finite doubles travel as strings: a verdict holding a NaN loss must reach every rank too.
        let bytes = rank == root ? Array(try NonFiniteJSON.encoder().encode(verdict)) : []
        let received = try NonFiniteJSON.decoder().decode(Verdict<T>.self, from: Data(try broadcast(bytes: bytes, root: root)))
        if let message = received.error {
            throw received.isInput ? InputError(message) : CollectiveFailure(message: message)
        }
        return received.value[0]
    }
}

extension Communicator {
    /// `agree` for a check that only succeeds or fails.
    public func agree(root: Int = 0, _ body: () throws -> Void) throws {
        _ = try agree(root: root) { () throws -> Bool in try body(); return true }
    }

    /// Runs `body` on every rank (each on its own part: its rows of a file) and returns this rank's
    /// result, or — if it failed anywhere — throws on every rank the failure of the lowest rank
    /// that failed, as `agree` hands it on, so no rank goes on alone.
    public func everyRank<T>(_ body: () throws -> T) throws -> T {
        let outcome = Result { try body() }
        var failed = size
        if case .failure = outcome { failed = rank }
        failed = try allreduce(failed, .min)
        guard failed < size else { return try outcome.get() }
        try agree(root: failed) { _ = try outcome.get() }
        preconditionFailure("rank \(failed) failed but agree returned")
    }
}


/// What `agree` broadcasts: the root's value, or its error and whether it was bad input.
private struct Verdict<T: Codable>: Codable {
    /// One element on success (an array, so that a `T` that is itself optional survives JSON).
    var value: [T]
    var error: String?
    var isInput: Bool
}

/// A failure that every rank learned about together (through `agree`), which is not bad input.
public struct CollectiveFailure: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Every rank stopped at the same point because SIGTERM or SIGUSR1 arrived (a Slurm time limit,
/// `scancel`): a consistent checkpoint is on disk and re-running with `--resume` continues. The
/// process exits with `exitStatus` (3), distinct from success (0), failure (1) and bad input (2),
/// so batch scripts can requeue exactly these jobs.
public struct StoppedBySignal: Error, CustomStringConvertible {
    public static let exitStatus: Int32 = 3
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

@inline(__always)
func int32Count(_ n: Int) throws -> Int32 {
    guard let n32 = Int32(exactly: n) else {
        throw MPIError.countOverflow(n)
    }
    return n32
}

extension MPIError {
    static func countOverflow(_ n: Int) -> MPIError {
        MPIError(routine: "a message of \(n) elements (over MPI's 32-bit count limit)", code: MPI_ERR_COUNT)
    }
}
