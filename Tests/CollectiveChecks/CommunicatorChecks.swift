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
        // broadcasts to the same values as in one message; a gather past 2³¹ elements is refused.
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
        return error
    }
}
