import Cluster
import Foundation
import Optimization
import Support

/// Which group computes which item, and how many per round. Items are positions 0 ..< n in the
/// caller's list of pending items; every rank builds the same deal from the same list, so no
/// rank needs to be told what another computes — world rank 0 knows from the deal alone where
/// each gathered result belongs.
package struct GroupDeal: Sendable {
    /// Each group's positions, in the order it takes them.
    package let lists: [[Int]]
    /// How many of its positions a group takes per round.
    package let perRound: Int

    package init(lists: [[Int]], perRound: Int) {
        precondition(perRound >= 1, "a round takes at least one item per group")
        self.lists = lists
        self.perRound = perRound
    }

    /// Consecutive chunks: round r, group g takes positions (r·groups + g)·chunk ..< +chunk, so a
    /// round covers one run of positions and its results, group after group, are in item order.
    package static func chunks(of chunk: Int, _ count: Int, groups: Int) -> GroupDeal {
        owned(count, groups: groups, perRound: chunk) { ($0 / chunk) % groups }
    }

    /// Position p belongs to group `owner(p)`; each round every group takes its next `perRound`.
    package static func owned(_ count: Int, groups: Int, perRound: Int, by owner: (Int) -> Int) -> GroupDeal {
        var lists = [[Int]](repeating: [], count: groups)
        for p in 0..<count { lists[owner(p)].append(p) }
        return GroupDeal(lists: lists, perRound: perRound)
    }

    package var rounds: Int { lists.map { ($0.count + perRound - 1) / perRound }.max() ?? 0 }

    /// The positions `group` computes in `round` (empty once its list is used up).
    package func positions(group: Int, round: Int) -> ArraySlice<Int> {
        let list = lists[group]
        return list[min(round * perRound, list.count)..<min((round + 1) * perRound, list.count)]
    }

    /// Items finished by all groups together once rounds 0 ... `round` are done.
    package func completed(through round: Int) -> Int {
        lists.reduce(0) { $0 + min((round + 1) * perRound, $1.count) }
    }
}

/// The one loop by which a job works through items on rank groups: rounds of items over the
/// groups (`GroupDeal`), each group computing its items data-parallel inside; after every round
/// the results gathered to world rank 0, the checkpoint policy and the stop on SIGTERM/SIGUSR1.
/// Critical's starts, interpolate's points and curvature sites, density's probes run on it; a
/// sweep's points (hours each, results on disk) use its independent mode, `runIndependently`; the
/// path's band and string (results needed on every rank, no checkpoint between) its every-rank
/// mode, `RankGroups.share`.
///
/// Invariants the jobs rely on:
/// - Group g's rank 0 is world rank `groups.leaders[g]` (`RankGroups`: consecutive ranks on one
///   host, any ranks of a node with `--map-by node`), so rank 0 finds each group's results in the
///   world-rank-ordered gather, and with the deal puts each round's results in item order (with
///   `GroupDeal.chunks`, the whole run's).
/// - A result is a Codable record (as JSON) and a payload of doubles that travels as doubles
///   (gatherv), bit-exact: a point, a spectrum, a packed row is on rank 0 exactly as computed.
/// - One allreduce per round carries both verdicts — any rank's pending stop signal and rank 0's
///   "a checkpoint is due" — so every rank writes the checkpoint and stops at the same round.
/// - A stop comes after a round, never inside one: the checkpoint holds every finished item and a
///   resumed queue (the job filters out the finished items) computes the remaining ones only.
package struct GroupWorkQueue {
    /// When the checkpoint is written besides on a stop (always then): after every round that
    /// leaves items to do, or when rank 0 finds that many seconds passed since the last one (a
    /// checkpoint rewrites every finished item, too much per round when rounds are short), or never.
    package enum CheckpointPolicy: Sendable {
        case everyRound
        case every(seconds: Double)
        case onStopOnly
    }

    /// Where the loop is after a round, for progress lines and the stop message.
    package struct Round: Sendable {
        /// The round just finished (−1 before the first).
        package var index: Int
        package var count: Int
        /// Items finished in this queue so far, over all groups.
        package var completed: Int
        package var total: Int
    }

    /// The record of results that are doubles only (interpolate's packed points): no JSON gather.
    package struct NoRecord: Codable, Sendable { package init() {} }

    package let groups: RankGroups
    package let deal: GroupDeal
    package let policy: CheckpointPolicy

    package init(_ groups: RankGroups, deal: GroupDeal, checkpoint policy: CheckpointPolicy) {
        precondition(deal.lists.count == groups.count, "one list per group")
        self.groups = groups
        self.deal = deal
        self.policy = policy
    }

    /// Runs every round. `compute` (collective over the group) returns one record and payload per
    /// position, in order; only the group's rank 0's values are sent. `collect` runs on world rank 0
    /// inside `agree` (a failure there ends every rank together), with the round's results in
    /// position order. `afterRound` runs on every rank. `checkpoint` is collective over the world.
    /// A stop throws `StoppedBySignal(message: stopMessage(round))` on every rank, after the round
    /// and its checkpoint, when items remain — also before the first round, for a signal that came
    /// while the previous queue (interpolate's points before its curvature) finished.
    package func run<Record: Codable>(compute: ([Int]) throws -> [(record: Record, payload: [Double])],
                              collect: ([(position: Int, record: Record, payload: [Double])]) throws -> Void,
                              afterRound: (Round) throws -> Void = { _ in },
                              checkpoint: () throws -> Void,
                              stopMessage: (Round) -> String) throws {
        let world = groups.world, rounds = deal.rounds
        let total = deal.lists.reduce(0) { $0 + $1.count }
        guard rounds > 0 else { return }
        var lastCheckpoint = Stopwatch()
        /// The single allreduce of a round: [a signal on any rank, a checkpoint due on rank 0].
        func verdicts(_ round: Round) throws {
            // Before the first round only the signal counts: nothing new to save.
            let more = round.index + 1 < rounds, started = round.index >= 0
            let due: Bool
            switch policy {
            case .everyRound: due = started
            case .every(let seconds): due = started && lastCheckpoint.seconds >= seconds
            case .onStopOnly: due = false
            }
            var verdict = [Int(StopSignals.pending), world.isRoot && more && due ? 1 : 0]
            try world.allreduce(&verdict, .max)
            guard verdict[0] != 0 || verdict[1] != 0 else { return }
            try checkpoint()
            lastCheckpoint = Stopwatch()
            if verdict[0] != 0 && more { throw StoppedBySignal(message: stopMessage(round)) }
        }
        try verdicts(Round(index: -1, count: rounds, completed: 0, total: total))
        for round in 0..<rounds {
            let mine = Array(deal.positions(group: groups.index, round: round))
            // A group with nothing left this round skips `compute` (all its ranks alike).
            let results = mine.isEmpty ? [] : try compute(mine)
            precondition(results.count == mine.count, "one result per item")
            try gather(round, results: groups.group.rank == 0 ? results : [], collect: collect)
            let state = Round(index: round, count: rounds, completed: deal.completed(through: round), total: total)
            try afterRound(state)
            try verdicts(state)
        }
    }

    /// The independent mode, for items of minutes to hours whose results go to disk (a sweep's
    /// points): each group works through its own list with no message between groups while they
    /// work — lock-step rounds would make every group wait for the slowest item of each round.
    /// Before each item the group agrees on the stop verdict (its own allreduce); `compute`
    /// (collective over the group) returns false when a stop ended the item itself. No gather and
    /// no checkpoint: an item's completion is on disk. One world allreduce at the end: every rank
    /// throws `StoppedBySignal(message: stopMessage())` together when any group stopped.
    package func runIndependently(_ compute: (Int) throws -> Bool, stopMessage: () -> String) throws {
        let group = groups.group
        var stopped = false
        for position in deal.lists[groups.index] {
            if try group.allreduce(Int(StopSignals.pending), .max) != 0 || !(try compute(position)) {
                stopped = true
                break
            }
        }
        if try groups.world.allreduce(stopped ? 1 : 0, .max) != 0 { throw StoppedBySignal(message: stopMessage()) }
    }

    /// Each group's rank 0 sends its round's records (JSON, one string) and payloads (doubles:
    /// every payload's length, then the payloads); rank 0 cuts them apart by the deal.
    private func gather<Record: Codable>(_ round: Int, results: [(record: Record, payload: [Double])],
                                         collect: ([(position: Int, record: Record, payload: [Double])]) throws -> Void) throws {
        let world = groups.world
        let hasRecords = Record.self != NoRecord.self
        let text = hasRecords && !results.isEmpty
            ? String(decoding: try NonFiniteJSON.encoder().encode(results.map(\.record)), as: UTF8.self) : ""
        let texts = hasRecords ? try world.gather(string: text) : []
        let values = results.map { Double($0.payload.count) } + results.flatMap(\.payload)
        let counts = try world.allgather([values.count])
        let all = try world.gatherv(values, counts: counts)
        try world.agree {
            var gathered: [(position: Int, record: Record, payload: [Double])] = []
            // Only each group's rank 0 sends values: group g's start after those of the world
            // ranks before its rank 0, wherever that is.
            var starts = [0]
            for count in counts { starts.append(starts.last! + count) }
            for g in 0..<groups.count {
                let rank = groups.leaders[g], positions = deal.positions(group: g, round: round)
                guard !positions.isEmpty else { continue }
                let part = all[starts[rank]..<starts[rank + 1]]
                let records = hasRecords
                    ? try NonFiniteJSON.decoder().decode([Record].self, from: Data(texts[rank].utf8))
                    : Array(repeating: NoRecord() as! Record, count: positions.count)
                var at = part.startIndex + positions.count
                for (i, position) in positions.enumerated() {
                    let length = Int(part[part.startIndex + i])
                    gathered.append((position, records[i], Array(part[at..<(at + length)])))
                    at += length
                }
            }
            try collect(gathered.sorted { $0.position < $1.position })
        }
    }
}

extension RankGroups {
    /// The queue's every-rank mode, for results every rank continues with (the path's band and
    /// string, once per band iteration): items 0 ..< `count` in one round, item i by group
    /// i mod `self.count` (`GroupDeal.owned`), each a vector of `width` values. No gather to rank 0,
    /// no checkpoint or signal check (the band iteration is the unit the path checkpoints): the
    /// group's rank 0 places its items' values in one zeroed world-wide buffer and a sum over the
    /// world fills it — exact, as every slot has one non-zero contributor (x + 0 = x) — so all ranks
    /// continue with the very same numbers. With one group every rank computed every item already,
    /// and nothing is exchanged. Collective over the world (`compute` over the group).
    package func share(_ count: Int, width: Int, _ compute: (Int) throws -> [Double]) throws -> [[Double]] {
        var flat = [Double](repeating: 0, count: count * width)
        let deal = GroupDeal.owned(count, groups: self.count, perRound: max(count, 1)) { $0 % self.count }
        for item in deal.lists[index] {
            let values = try compute(item)
            precondition(values.count == width, "every shared item has the same width")
            if group.rank == 0 || self.count == 1 { flat.replaceSubrange((item * width)..<((item + 1) * width), with: values) }
        }
        if self.count > 1 { try world.allreduce(&flat, .sum) }
        return (0..<count).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
    }
}
