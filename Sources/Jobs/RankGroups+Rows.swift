import Cluster
import Objectives

/// What `RankGroups.shareOverRows` hands back.
package struct SharedOverRows {
    /// Every item's scalars, on every rank.
    package var scalars: [[Double]]
    /// This rank's rows of every item's output vector (empty when the items return none).
    package var rows: [[Double]]
}

extension RankGroups {
    /// `share` for items whose inputs and output are vectors sharded by rows over the world
    /// (`rows`: one part per world rank) — an elastic band's pivots and their gradients, which
    /// then never lie whole on every rank. Item i goes to group i mod `count`: round r gives group
    /// g item r·count + g. Rounds go in batches, as many as `wholeBudget` bytes of whole inputs and
    /// outputs per rank allow (at least one). For a batch:
    /// - one `MPI_Alltoallv` hands every rank of a group the whole inputs of its group's items: each
    ///   rank sends its rows of them to the ranks that need them;
    /// - the group computes its items, data-parallel inside (`compute`, collective over the group),
    ///   each returning scalars and possibly a whole vector (a gradient is whole on every rank of
    ///   the group after the group's allreduce);
    /// - a second exchange sends every rank its rows of each item's output: from itself when it is
    ///   in the item's group, otherwise from the member `q mod size` of that group, so a group's
    ///   ranks share the sending.
    /// Batches keep the number of exchanges small when vectors are (a few per iteration at
    /// M = 4270) and the whole vectors a rank holds bounded when they are not (one round at a time
    /// at M = 1.8 M). Scalars travel as in `share` (the group's rank 0 fills its slots, a sum over
    /// the world; with one group every rank computed every item, and nothing is summed).
    ///
    /// With a replicated partition (one rank, or M < P) every rank holds whole vectors, and `share`
    /// carries scalars and vector together. Collective over the world.
    package func shareOverRows(_ count: Int, rows: RowPartition, inputs: (Int) -> [ArraySlice<Double>], scalars width: Int,
                               returnsVector: Bool, wholeBudget: Int = RankGroups.wholeBudget,
                               _ compute: (_ item: Int, _ inputs: [[Double]]) throws -> (scalars: [Double], vector: [Double])) throws -> SharedOverRows {
        let m = rows.length
        if rows.parts == 1 && self.count == 1 {
            // One group holding whole vectors: every rank computes every item, nothing to exchange.
            var result = SharedOverRows(scalars: [], rows: [])
            for item in 0..<count {
                let (scalars, vector) = try compute(item, inputs(item).map(Array.init))
                precondition(scalars.count == width && vector.count == (returnsVector ? m : 0), "every item has the same shape")
                result.scalars.append(scalars)
                if returnsVector { result.rows.append(vector) }
            }
            return result
        }
        guard rows.parts > 1 else {
            let shared = try share(count, width: width + (returnsVector ? m : 0)) { item in
                let (scalars, vector) = try compute(item, inputs(item).map(Array.init))
                precondition(scalars.count == width && vector.count == (returnsVector ? m : 0), "every item has the same shape")
                return scalars + vector
            }
            return SharedOverRows(scalars: shared.map { Array($0[0..<width]) }, rows: returnsVector ? shared.map { Array($0[width...]) } : [])
        }
        let ranks = world.size, me = world.rank
        precondition(rows.parts == ranks && rows.part == me, "the rows are sharded over the world")
        var scalars = [Double](repeating: 0, count: count * width)
        var mine = [[Double]](repeating: [], count: returnsVector ? count : 0)
        guard count > 0 else { return SharedOverRows(scalars: [], rows: mine) }
        let k = inputs(0).count, groups = self.count
        let members = (0..<groups).map(members(of:))
        let rounds = (count + groups - 1) / groups
        let perBatch = max(1, min(rounds, wholeBudget / max(1, 8 * (k + (returnsVector ? 1 : 0)) * m)))
        // Every rank's send and receive totals in a batch stay below this bound (k inputs or an
        // output per round, of ≤ ⌈M/P⌉ rows from or to each of P ranks), which all ranks know
        // alike, so the exchanges need no agreement on how to travel.
        let bound = perBatch * max(k, 1) * (m + ranks)
        /// Group g's items in the rounds of a batch, in round order.
        func items(of g: Int, in batch: Range<Int>) -> [Int] { batch.map { $0 * groups + g }.filter { $0 < count } }
        /// The rank of group g that sends rank q its rows of the group's outputs.
        func sender(of q: Int, from g: Int) -> Int { colors[q] == g ? q : members[g][q % members[g].count] }
        for first in stride(from: 0, to: rounds, by: perBatch) {
            let batch = first ..< min(rounds, first + perBatch)
            let ours = items(of: index, in: batch)
            // Gather: to every rank s, this rank's rows of the inputs of s's group's items.
            var send: [Double] = [], sendCounts = [Int](repeating: 0, count: ranks)
            var byGroup = [[Int]?](repeating: nil, count: groups)
            for s in 0..<ranks {
                let g = colors[s]
                if byGroup[g] == nil { byGroup[g] = items(of: g, in: batch) }
                for i in byGroup[g]! {
                    let slices = inputs(i)
                    precondition(slices.count == k, "every item has the same number of inputs")
                    for slice in slices { send += slice }
                }
                sendCounts[s] = byGroup[g]!.count * k * rows.count
            }
            let receiveCounts = (0..<ranks).map { ours.count * k * rows.count(of: $0) }
            let received = try world.alltoallv(send, sendCounts: sendCounts, receiveCounts: receiveCounts, largestTotal: bound)
            send = []
            // From rank q: its rows of each of our items' k inputs, item after item.
            var outputs: [[Double]] = []
            for (n, item) in ours.enumerated() {
                var whole = [[Double]](repeating: [Double](repeating: 0, count: m), count: k)
                var at = 0
                for q in 0..<ranks {
                    let length = rows.count(of: q), start = rows.offsets[q]
                    for j in 0..<k {
                        let from = at + (n * k + j) * length
                        whole[j].replaceSubrange(start ..< start + length, with: received[from ..< from + length])
                    }
                    at += ours.count * k * length
                }
                let result = try compute(item, whole)
                precondition(result.scalars.count == width && result.vector.count == (returnsVector ? m : 0), "every item has the same shape")
                if group.rank == 0 || groups == 1 { scalars.replaceSubrange(item * width ..< (item + 1) * width, with: result.scalars) }
                if returnsVector { outputs.append(result.vector) }
            }
            guard returnsVector else { continue }
            // Scatter: each rank's rows of every item's output, from one rank of the item's group.
            var outgoing: [Double] = [], outgoingCounts = [Int](repeating: 0, count: ranks)
            for q in 0..<ranks where !ours.isEmpty && sender(of: q, from: index) == me {
                for output in outputs { outgoing += output[rows.offsets[q] ..< rows.offsets[q + 1]] }
                outgoingCounts[q] = ours.count * rows.count(of: q)
            }
            outputs = []
            var incomingCounts = [Int](repeating: 0, count: ranks), from: [[Int]] = []
            for s in 0..<ranks {
                let theirs = sender(of: me, from: colors[s]) == s ? byGroup[colors[s]]! : []
                incomingCounts[s] = theirs.count * rows.count
                from.append(theirs)
            }
            let incoming = try world.alltoallv(outgoing, sendCounts: outgoingCounts, receiveCounts: incomingCounts, largestTotal: bound)
            var at = 0
            for theirs in from {
                for item in theirs {
                    mine[item] = Array(incoming[at ..< at + rows.count])
                    at += rows.count
                }
            }
        }
        if groups > 1 { try world.allreduce(&scalars, .sum) }
        return SharedOverRows(scalars: (0..<count).map { Array(scalars[$0 * width ..< ($0 + 1) * width]) }, rows: mine)
    }

    /// Bytes of whole vectors (inputs and outputs, one copy) a batch of `shareOverRows` is sized
    /// to, unless one round alone needs more: 64 MiB, ten vectors of M = 800 000. The exchange's
    /// send and receive buffers exist beside them for a moment, so the peak is up to about twice.
    package static let wholeBudget = 64 << 20
}
