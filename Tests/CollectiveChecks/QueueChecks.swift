import Cluster
import Jobs
import Foundation
import Optimization
import Support

/// The job layer's work queue (`GroupWorkQueue`) on groups of every size that divides P: every
/// item computed exactly once, by every rank of one group; world rank 0 holds the results in item
/// order with their payloads bit for bit (−0, NaN with a payload, subnormals, empty payloads);
/// checkpoints written as the policy says (every round, by rank 0's clock, only on a stop); and a
/// signal raised on one rank stops every rank after the round with StoppedBySignal and a
/// checkpoint (`ResumableCheckpoint`) from which a resumed queue computes the other items only;
/// the independent mode (a sweep's) and the every-rank mode (`share`, the path's).
func registerQueueChecks(_ suite: inout CheckSuite) throws {
    guard suite.selects(family: "queue.") else { return }
    let world = suite.world
    let sizes = (1...world.size).filter { world.size % $0 == 0 }
    func split(_ size: Int) throws -> RankGroups { try RankGroups.split(world, size: size, setting: "group-size") }
    // The deals the jobs use: critical's one per group, interpolate's chunks, density's owners.
    let deals: [(String, (Int, Int, [Int]) -> GroupDeal)] = [
        ("one", { n, g, _ in .chunks(of: 1, n, groups: g) }),
        ("chunks", { n, g, _ in .chunks(of: 3, n, groups: g) }),
        ("owned", { n, g, items in .owned(n, groups: g, perRound: 2) { items[$0] % g } }),
    ]

    try suite.check("queue.every-item-once-in-order-bit-exact", tolerance: 0) {
        var errors = 0
        let items = [0, 2, 3, 5, 6, 7, 8, 11, 12, 13, 17]   // a resumed run's pending items
        for size in sizes {
            let groups = try split(size)
            defer { groups.free() }
            for (name, deal) in deals {
                let queue = GroupWorkQueue(groups, deal: deal(items.count, groups.count, items), checkpoint: .everyRound)
                let outcome = try QueueRun(queue, items: items).run()
                errors += try outcome.coverageErrors(queue, count: items.count)
                if world.isRoot {
                    // Each round in item order; chunks of consecutive items: the whole run too.
                    let positions = outcome.collected.map(\.position)
                    errors += outcome.rounds.filter { $0 != $0.sorted() }.count
                    errors += (name == "owned" ? positions.sorted() : positions) == Array(items.indices) ? 0 : 1
                    errors += outcome.collected.filter { !QueueRun.matches($0.record, $0.payload, item: items[$0.position]) }.count
                }
                errors += outcome.stop == nil ? 0 : 1
            }
        }
        return Double(errors)
    }

    try suite.check("queue.checkpoint-policy", tolerance: 0) {
        var errors = 0
        let items = Array(0..<9)
        for size in sizes {
            let groups = try split(size)
            defer { groups.free() }
            let deal = GroupDeal.chunks(of: 1, items.count, groups: groups.count)
            // After every round that leaves items: rank 0's results so far, round by round.
            let every = (0..<(deal.rounds - 1)).map { deal.completed(through: $0) }
            let policies: [(GroupWorkQueue.CheckpointPolicy, [Int])] = [
                (.everyRound, every), (.every(seconds: 0), every), (.every(seconds: 1e9), []), (.onStopOnly, []),
            ]
            for (policy, expected) in policies {
                let outcome = try QueueRun(GroupWorkQueue(groups, deal: deal, checkpoint: policy), items: items).run()
                errors += outcome.checkpoints.count == expected.count ? 0 : 1
                if world.isRoot { errors += outcome.checkpoints == expected ? 0 : 1 }
            }
        }
        // By time, on rank 0's clock: rounds of 0.3 s against 0.5 s between checkpoints write one
        // after rounds 1 and 3 of 5 (none after the last: the job's end follows).
        let groups = try split(1)
        defer { groups.free() }
        let deal = GroupDeal.chunks(of: 1, 5 * groups.count, groups: groups.count)
        var run = QueueRun(GroupWorkQueue(groups, deal: deal, checkpoint: .every(seconds: 0.5)), items: Array(0..<(5 * groups.count)))
        run.roundSeconds = 0.3
        let outcome = try run.run()
        errors += outcome.checkpoints.count == 2 ? 0 : 1
        if world.isRoot { errors += outcome.checkpoints == [2, 4].map { $0 * groups.count } ? 0 : 1 }
        return Double(errors)
    }

    try suite.check("queue.signal-stops-after-the-round-and-resumes", tolerance: 0) {
        var errors = 0
        StopSignals.install()
        let directory = RunDirectory(path: try world.agree { NSTemporaryDirectory() + "queue-check-\(UUID().uuidString)" })
        defer { if world.isRoot { try? FileManager.default.removeItem(atPath: directory.path) } }
        let store = ResumableCheckpoint<[QueueRun.Saved]>(file: "queue.json", what: "items")
        let items = Array(0..<30)   // at least three rounds in every deal on up to 4 groups
        for size in sizes {
            let groups = try split(size)
            defer { groups.free() }
            for (_, deal) in deals {
                // SIGUSR1 on the last rank only, after round 1; the checkpoint is written on the stop
                // whatever the policy.
                let first = deal(items.count, groups.count, items)
                var stopped = QueueRun(GroupWorkQueue(groups, deal: first, checkpoint: .onStopOnly), items: items)
                stopped.raiseAfter = 1
                stopped.store = (store, directory)
                let outcome = try stopped.run()
                StopSignals.clear()
                let finished = first.completed(through: 1)
                errors += outcome.stop == "stopped after \(finished) of \(items.count)" ? 0 : 1
                errors += outcome.checkpoints.count == 1 ? 0 : 1
                errors += Set(outcome.computed).isSubset(of: (0...1).flatMap { first.positions(group: groups.index, round: $0) }) ? 0 : 1
                errors += try outcome.coverageErrors(stopped.queue, count: items.count, only: Set((0...1).flatMap { r in (0..<groups.count).flatMap { first.positions(group: $0, round: r) } }))

                // The resumed queue: the pending items only, each once; together the whole run.
                let saved = try store.read(directory, identity: "queue-check", on: world) ?? []
                let done = saved.map(\.item)
                errors += done.count == finished ? 0 : 1
                let pending = items.filter { !done.contains($0) }
                let resumed = QueueRun(GroupWorkQueue(groups, deal: deal(pending.count, groups.count, pending), checkpoint: .onStopOnly),
                                       items: pending)
                let rest = try resumed.run()
                errors += try rest.coverageErrors(resumed.queue, count: pending.count)
                errors += rest.stop == nil ? 0 : 1
                if world.isRoot {
                    errors += saved.filter { !QueueRun.matches(QueueRun.Record(item: $0.item, note: $0.note), $0.payload, item: $0.item, nanBits: false) }.count
                    errors += rest.collected.filter { !QueueRun.matches($0.record, $0.payload, item: pending[$0.position]) }.count
                    errors += (done + rest.collected.map { pending[$0.position] }).sorted() == items ? 0 : 1
                }
            }
            // A signal that came before the queue (between two queues of a job): no round runs.
            raise(SIGUSR1)
            let early = try QueueRun(GroupWorkQueue(groups, deal: .chunks(of: 1, 4, groups: groups.count), checkpoint: .everyRound), items: [0, 1, 2, 3]).run()
            StopSignals.clear()
            errors += early.stop == "stopped after 0 of 4" && early.computed.isEmpty && early.checkpoints.count == 1 ? 0 : 1
        }
        // A checkpoint of another run is refused on every rank alike.
        var refused = false
        do { _ = try store.read(directory, identity: "another", on: world) } catch is InputError { refused = true }
        errors += refused ? 0 : 1
        return Double(errors)
    }

    try suite.check("queue.independent-groups", tolerance: 0) {
        // A sweep's mode: every item once; a signal on the last rank stops its group after the
        // item, the other groups finish their lists, and every rank throws the stop together.
        var errors = 0
        StopSignals.install()
        for size in sizes {
            let groups = try split(size)
            defer { groups.free() }
            let deal = GroupDeal.chunks(of: 1, 3 * groups.count, groups: groups.count)
            for signalled in [false, true] {
                var computed: [Int] = [], stop: String? = nil
                do {
                    try GroupWorkQueue(groups, deal: deal, checkpoint: .onStopOnly).runIndependently({ p in
                        let sum = try groups.group.allreduce(p, .sum)
                        errors += sum == groups.group.size * p ? 0 : 1
                        computed.append(p)
                        if signalled && world.rank == world.size - 1 { raise(SIGUSR1) }
                        return true
                    }, stopMessage: { "stopped" })
                } catch let signal as StoppedBySignal { stop = signal.message }
                StopSignals.clear()
                // The signal's group: the one holding the last world rank (with node placement
                // not necessarily the last group).
                let last = try world.allreduce(world.rank == world.size - 1 ? groups.index : 0, .max) == groups.index
                errors += stop == (signalled ? "stopped" : nil) ? 0 : 1
                errors += computed == Array(deal.lists[groups.index].prefix(signalled && last ? 1 : 3)) ? 0 : 1
            }
        }
        return Double(errors)
    }

    try suite.check("queue.share-on-every-rank", tolerance: 0) {
        var errors = 0
        for size in sizes {
            let groups = try split(size)
            defer { groups.free() }
            func values(_ i: Int) -> [Double] { [Double(i) / 3, -Double(i), Double(i * i)] }
            var computed = [Int](repeating: 0, count: 7)
            let shared = try groups.share(7, width: 3) { i in
                if groups.group.rank == 0 { computed[i] += 1 }
                return values(i)
            }
            try world.allreduce(&computed, .sum)
            let expected: [[Double]] = (0..<7).map(values)
            errors += computed == [Int](repeating: 1, count: 7) ? 0 : 1
            errors += shared == expected ? 0 : 1
        }
        return Double(errors)
    }
}

/// One run of a queue over `items` with records and payloads made from the item alone, and what
/// it saw: on world rank 0 the results collected, on every rank the positions it computed, the
/// checkpoints (rank 0: how many results it held at each) and the stop message.
private struct QueueRun {
    struct Record: Codable { var item: Int; var note: Double }
    /// A checkpointed result.
    struct Saved: Codable { var item: Int; var note: Double; var payload: [Double] }
    struct Outcome {
        var collected: [(position: Int, record: Record, payload: [Double])] = []
        /// The positions each round delivered to rank 0.
        var rounds: [[Int]] = []
        var computed: [Int] = []
        var checkpoints: [Int] = []
        var stop: String?

        /// Every position (of `only`, else all) computed by all ranks of exactly one group, none twice.
        func coverageErrors(_ queue: GroupWorkQueue, count: Int, only: Set<Int>? = nil) throws -> Int {
            var byRank = [Int](repeating: 0, count: count), byGroup = byRank
            for p in computed {
                byRank[p] += 1
                if queue.groups.group.rank == 0 { byGroup[p] += 1 }
            }
            try queue.groups.world.allreduce(&byRank, .sum)
            try queue.groups.world.allreduce(&byGroup, .sum)
            return (0..<count).filter { p in
                let expected = only.map { $0.contains(p) } ?? true
                return byGroup[p] != (expected ? 1 : 0) || byRank[p] != (expected ? queue.groups.group.size : 0)
            }.count
        }
    }

    let queue: GroupWorkQueue
    let items: [Int]
    var raiseAfter: Int?
    var roundSeconds = 0.0
    var store: (ResumableCheckpoint<[Saved]>, RunDirectory)?

    init(_ queue: GroupWorkQueue, items: [Int]) {
        self.queue = queue
        self.items = items
    }

    static let specials: [Double] = [-0.0, .nan, Double(bitPattern: 0x7FF8_0000_DEAD_BEEF), -.infinity, .leastNonzeroMagnitude, 1.0 / 3]
    static func note(_ item: Int) -> Double { item % 5 == 0 ? .nan : Double(item) * 0.1 }
    /// 0–3 doubles, the item's own and awkward bits.
    static func payload(_ item: Int) -> [Double] {
        (0..<(item % 4)).map { k in k == 0 ? Double(item) / 7 : specials[(item + k) % specials.count] }
    }

    /// The record and payload are the item's, bit for bit (`nanBits: false`: any NaN for a NaN, as
    /// JSON — a checkpoint — keeps NaN but not its payload bits).
    static func matches(_ record: Record, _ payload: [Double], item: Int, nanBits: Bool = true) -> Bool {
        func same(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern || (!nanBits && a.isNaN && b.isNaN) }
        let expected = Self.payload(item)
        return record.item == item && same(record.note, note(item)) && payload.count == expected.count && zip(payload, expected).allSatisfy(same)
    }

    func run() throws -> Outcome {
        var outcome = Outcome()
        let world = queue.groups.world, group = queue.groups.group
        do {
            try queue.run(compute: { positions in
                // Collective over the group: every rank of it has the same positions.
                let sum = positions.reduce(0, +)
                guard try group.allreduce(sum, .sum) == group.size * sum else { throw CollectiveFailure(message: "a group's ranks disagree") }
                outcome.computed += positions
                return positions.map { (Record(item: items[$0], note: Self.note(items[$0])), Self.payload(items[$0])) }
            }, collect: { results in
                outcome.collected += results
                outcome.rounds.append(results.map(\.position))
            }, afterRound: { round in
                if world.isRoot && roundSeconds > 0 { Thread.sleep(forTimeInterval: roundSeconds) }
                if round.index == raiseAfter && world.rank == world.size - 1 { raise(SIGUSR1) }
            }, checkpoint: {
                outcome.checkpoints.append(outcome.collected.count)
                if let (store, directory) = store {
                    let saved = outcome.collected.map { Saved(item: $0.record.item, note: $0.record.note, payload: $0.payload) }
                    try store.write(saved, identity: "queue-check", to: directory, on: world)
                }
            }, stopMessage: { round in
                "stopped after \(round.completed) of \(round.total)"
            })
        } catch let stop as StoppedBySignal {
            outcome.stop = stop.message
        }
        return outcome
    }
}
