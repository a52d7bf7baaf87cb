import Cluster

func registerCommunicatorChecks(_ suite: inout CheckSuite) throws {
    let world = suite.world
    let P = world.size, r = world.rank

    try suite.check("communicator.allreduce", tolerance: 0) {
        // Σ_r (r + 1) = P(P + 1)/2 and max_r r = P − 1, in one buffer each.
        var sums = [Double(r + 1), 1]
        try world.allreduce(&sums, .sum)
        let top = try world.allreduce(r, .max)
        return abs(sums[0] - Double(P * (P + 1) / 2)) + abs(sums[1] - Double(P)) + Double(abs(top - (P - 1)))
    }

    try suite.check("communicator.gather", tolerance: 0) {
        let gathered = try world.allgather([r, 2 * r])
        let strings = try world.gather(string: "rank\(r)")
        var error = 0
        for q in 0..<P { error += abs(gathered[2 * q] - q) + abs(gathered[2 * q + 1] - 2 * q) }
        if world.isRoot && strings != (0..<P).map({ "rank\($0)" }) { error += 1 }
        return Double(error)
    }

    try suite.check("communicator.agree", tolerance: 0) {
        // The root's failure reaches every rank as the same InputError; its value reaches every rank.
        let value = try world.agree { 41 + 1 }
        var message = ""
        do { try world.agree { throw InputError("from the root") } } catch let error as InputError { message = error.message }
        return (value == 42 ? 0 : 1) + (message == "from the root" ? 0 : 1)
    }

    try suite.check("communicator.split", tolerance: 0) {
        // Two groups by parity; each group's sum of world ranks is known in closed form.
        let group = try world.split(color: r % 2)
        defer { try? group.free() }
        let sum = try group.allreduce(r, .sum)
        let expected = stride(from: r % 2, to: P, by: 2).reduce(0, +)
        return Double(abs(sum - expected) + abs(group.size - (P + 1 - r % 2) / 2))
    }

    try suite.check("communicator.pieces", tolerance: 0) {
        // A buffer cut into pieces of 5 (as one past 2³¹ elements is cut at Int32.max) reduces and
        // broadcasts to the same values as in one message; 32-bit displacements past 2³¹ are refused.
        let values = (0..<23).map { Double($0 * (r + 1)) + 0.25 }
        var whole = values, pieces = values
        try world.allreduce(&whole, .sum)
        try pieces.withUnsafeMutableBufferPointer { try world.allreduce($0, .sum, messageLimit: 5) }
        var sent = world.isRoot ? values : [Double](repeating: 0, count: 23)
        try sent.withUnsafeMutableBufferPointer { try world.broadcast($0, root: 0, messageLimit: 5) }
        let rootValues = (0..<23).map { Double($0) + 0.25 }
        var error = zip(whole, pieces).map { abs($0 - $1) }.max()! + zip(sent, rootValues).map { abs($0 - $1) }.max()!
        if Communicator.pieces(of: 0, limit: 5) != [] || Communicator.pieces(of: 11, limit: 5) != [0..<5, 5..<10, 10..<11] { error += 1 }
        if (try? Communicator.displacements([Int(Int32.max), 1, 1])) != nil { error += 1 }
        if (try? Communicator.displacements([3, 0, 4])) != [0, 3, 3] { error += 1 }
        // Windows of a concatenation past Int32.max: each within the limit, 32-bit parts and offsets.
        let huge = Communicator.windows(of: [Int(Int32.max), 0, 2], limit: Communicator.messageLimit)
        if huge.map(\.counts) != [[Int32.max, 0, 0], [0, 0, 2]] || huge.map(\.displacements) != [[0, 0, 0], [0, 0, 0]]
            || huge.map({ $0.local(2) }) != [0, 0] { error += 1 }
        return error
    }

    // Exchanges cut by a tiny message limit (as those past 2³¹ elements are cut at Int32.max) give
    // the bits of one uncut call and the closed form, with uneven counts and empty contributions,
    // under two count patterns (the second leaves rank 0 empty) and limits that cut every message
    // (1), some (7), and none. The values are multiples of 1/4 below 2⁴⁰, so every sum is exact
    // whatever order MPI reduces in: the bits compare the data movement, not rounding.
    let limits = [1, 7, Communicator.messageLimit]
    func same(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern } }
    let patterns: [(Int) -> Int] = [{ [9, 0, 17, 3][$0 % 4] }, { [0, 11, 4, 23][$0 % 4] }]
    /// Rank q's i-th value, distinct for every (q, i).
    func value(_ q: Int, _ i: Int) -> Double { Double(q * 1000 + i) + 0.25 }

    try suite.check("communicator.cut.allgatherv", tolerance: 0) {
        var error = 0
        for (pattern, limit) in patterns.flatMap({ p in limits.map { (p, $0) } }) {
            let counts = (0..<P).map(pattern)
            let mine = (0..<counts[r]).map { value(r, $0) }
            let cut = try world.allgatherv(mine, counts: counts, messageLimit: limit), whole = try world.allgatherv(mine, counts: counts)
            if !same(cut, whole) || !same(whole, (0..<P).flatMap { q in (0..<counts[q]).map { value(q, $0) } }) { error += 1 }
        }
        return Double(error)
    }

    try suite.check("communicator.cut.gatherv", tolerance: 0) {
        var error = 0
        for (pattern, limit) in patterns.flatMap({ p in limits.map { (p, $0) } }) {
            let counts = (0..<P).map(pattern), root = P - 1
            let mine = (0..<counts[r]).map { value(r, $0) }
            let cut = try world.gatherv(mine, counts: counts, root: root, messageLimit: limit)
            let whole = try world.gatherv(mine, counts: counts, root: root)
            let expected = r == root ? (0..<P).flatMap { q in (0..<counts[q]).map { value(q, $0) } } : []
            if !same(cut, whole) || !same(whole, expected) { error += 1 }
        }
        return Double(error)
    }

    try suite.check("communicator.cut.reduceScatter", tolerance: 0) {
        var error = 0
        for (pattern, limit) in patterns.flatMap({ p in limits.map { (p, $0) } }) {
            let counts = (0..<P).map(pattern), total = counts.reduce(0, +), first = counts[..<r].reduce(0, +)
            // Rank q contributes (i + 1/4)(q + 1) to element i: the sum is (i + 1/4)·P(P + 1)/2.
            let send = (0..<total).map { (Double($0) + 0.25) * Double(r + 1) }
            var cut = [Double](repeating: -1, count: counts[r]), whole = cut
            try send.withUnsafeBufferPointer { s in
                try cut.withUnsafeMutableBufferPointer { try world.reduceScatter(s, into: $0, counts: counts, messageLimit: limit) }
                try whole.withUnsafeMutableBufferPointer { try world.reduceScatter(s, into: $0, counts: counts) }
            }
            let expected = (first..<(first + counts[r])).map { (Double($0) + 0.25) * Double(P * (P + 1) / 2) }
            if !same(cut, whole) || !same(whole, expected) { error += 1 }
        }
        return Double(error)
    }

    try suite.check("communicator.cut.alltoallv", tolerance: 0) {
        // Rank s sends n(s, d) values to rank d: uneven, zero for some pairs (and for every pair
        // of one rank under the first pattern), up to 18, so a limit of 7 cuts many messages.
        let sizes: [(Int, Int) -> Int] = [{ s, d in (7 * s + 3 * d) % 10 }, { s, d in (7 * s + 3 * d + 8) % 19 }]
        var error = 0
        for (n, limit) in sizes.flatMap({ n in limits.map { (n, $0) } }) {
            let sendCounts = (0..<P).map { n(r, $0) }, receiveCounts = (0..<P).map { n($0, r) }
            // The i-th value from s to d names all three.
            let send = (0..<P).flatMap { d in (0..<sendCounts[d]).map { Double(r * 1_000_000 + d * 1000 + $0) + 0.25 } }
            let cut = try world.alltoallv(send, sendCounts: sendCounts, receiveCounts: receiveCounts, messageLimit: limit)
            let whole = try world.alltoallv(send, sendCounts: sendCounts, receiveCounts: receiveCounts)
            let expected = (0..<P).flatMap { s in (0..<receiveCounts[s]).map { Double(s * 1_000_000 + r * 1000 + $0) + 0.25 } }
            if !same(cut, whole) || !same(whole, expected) { error += 1 }
        }
        return Double(error)
    }
}
