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
    /// then never lie whole on every rank. Item i goes to group i mod `count`, one item per group
    /// per round. In a round:
    /// - one `MPI_Alltoallv` hands every rank of a group the whole inputs of its group's item: each
    ///   rank sends its rows of them to the ranks that need them (k·M values in and out per rank for
    ///   k inputs);
    /// - the group computes the item, data-parallel inside (`compute`, collective over the group),
    ///   returning scalars and possibly a whole vector (a gradient is whole on every rank of the
    ///   group after the group's allreduce);
    /// - a second exchange sends every rank its rows of each item's output: from itself when it is
    ///   in the item's group, otherwise from the member `q mod size` of that group, so a group's
    ///   ranks share the sending.
    /// Scalars travel as in `share` (the group's rank 0 fills its slots, a sum over the world; with one
    /// group every rank computed every item, and nothing is summed).
    /// Beyond its shards a rank holds one item's whole inputs and output at a time.
    ///
    /// With a replicated partition (one rank, or M < P) every rank holds whole vectors, and `share`
    /// carries scalars and vector together. Collective over the world.
    package func shareOverRows(_ count: Int, rows: RowPartition, inputs: (Int) -> [ArraySlice<Double>], scalars width: Int,
                               returnsVector: Bool,
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
        let members = (0..<self.count).map(members(of:))
        var scalars = [Double](repeating: 0, count: count * width)
        var mine = [[Double]](repeating: [], count: returnsVector ? count : 0)
        let rounds = (count + self.count - 1) / self.count
        for round in 0..<rounds {
            let item = { (g: Int) -> Int? in round * self.count + g < count ? round * self.count + g : nil }
            // Gather: to every rank s, this rank's rows of the inputs of s's group's item.
            var send: [Double] = [], sendCounts = [Int](repeating: 0, count: ranks)
            for s in 0..<ranks {
                guard let i = item(colors[s]) else { continue }
                let slices = inputs(i)
                for slice in slices { send += slice }
                sendCounts[s] = slices.count * rows.count
            }
            let ours = item(index)
            let k = ours.map { inputs($0).count } ?? 0
            let receiveCounts = (0..<ranks).map { k * rows.count(of: $0) }
            let received = try world.alltoallv(send, sendCounts: sendCounts, receiveCounts: receiveCounts)
            send = []
            var output: [Double] = []
            if let ours {
                var whole = [[Double]](repeating: [Double](repeating: 0, count: m), count: k)
                var at = 0
                for q in 0..<ranks {
                    let n = rows.count(of: q), start = rows.offsets[q]
                    for j in 0..<k {
                        whole[j].replaceSubrange(start ..< start + n, with: received[at ..< at + n])
                        at += n
                    }
                }
                let result = try compute(ours, whole)
                precondition(result.scalars.count == width && result.vector.count == (returnsVector ? m : 0), "every item has the same shape")
                if group.rank == 0 || self.count == 1 { scalars.replaceSubrange(ours * width ..< (ours + 1) * width, with: result.scalars) }
                output = result.vector
            }
            guard returnsVector else { continue }
            // Scatter: each rank's rows of every item's output, from one rank of the item's group.
            func sender(of q: Int, from g: Int) -> Int { colors[q] == g ? q : members[g][q % members[g].count] }
            var outgoing: [Double] = [], outgoingCounts = [Int](repeating: 0, count: ranks)
            if ours != nil {
                for q in 0..<ranks where sender(of: q, from: index) == me {
                    outgoing += output[rows.offsets[q] ..< rows.offsets[q + 1]]
                    outgoingCounts[q] = rows.count(of: q)
                }
            }
            var incomingCounts = [Int](repeating: 0, count: ranks), from: [(rank: Int, item: Int)] = []
            for s in 0..<ranks {
                if let i = item(colors[s]), sender(of: me, from: colors[s]) == s {
                    incomingCounts[s] = rows.count
                    from.append((s, i))
                }
            }
            let incoming = try world.alltoallv(outgoing, sendCounts: outgoingCounts, receiveCounts: incomingCounts)
            for (n, source) in from.enumerated() { mine[source.item] = Array(incoming[n * rows.count ..< (n + 1) * rows.count]) }
        }
        if self.count > 1 { try world.allreduce(&scalars, .sum) }
        return SharedOverRows(scalars: (0..<count).map { Array(scalars[$0 * width ..< ($0 + 1) * width]) }, rows: mine)
    }

    /// The whole vector from every rank's rows, on every rank (collective over the world).
    package func whole(_ local: ArraySlice<Double>, rows: RowPartition) throws -> [Double] {
        guard rows.parts > 1 else { return Array(local) }
        return try world.allgatherv(Array(local), counts: (0..<rows.parts).map(rows.count(of:)))
    }
}
