import SeededRandom

/// Which samples step t uses: epoch e = ⌊t / b⌋ with b = ⌊N / B⌋ minibatches per epoch, and step t
/// takes positions (t mod b)·B ..< (t mod b + 1)·B of epoch e's permutation of 0..<N (the last
/// N mod B samples of each permutation are skipped). The permutation is Fisher–Yates driven by
/// `SplitMix64(seed).fork(stream).fork(e)`: a function of the seed and the epoch only, so every
/// rank — for any number of ranks — and a resumed run see the same minibatches.
public struct MinibatchSchedule: Sendable {
    public let samples: Int
    public let batch: Int
    public let seed: UInt64
    public static let stream: UInt64 = 0x5CD

    private var cachedEpoch = -1
    private var permutation: [Int] = []

    public init(samples: Int, batch: Int, seed: UInt64) {
        precondition(batch >= 1 && batch <= samples)
        self.samples = samples
        self.batch = batch
        self.seed = seed
    }

    public var batchesPerEpoch: Int { samples / batch }

    /// The global sample indices of step t's minibatch.
    public mutating func indices(step t: Int) -> [Int] {
        let epoch = t / batchesPerEpoch, position = t % batchesPerEpoch
        if epoch != cachedEpoch {
            permutation = Self.permutation(samples, seed: seed, epoch: epoch)
            cachedEpoch = epoch
        }
        return Array(permutation[(position * batch)..<((position + 1) * batch)])
    }

    public static func permutation(_ n: Int, seed: UInt64, epoch: Int) -> [Int] {
        var random = SplitMix64(seed: seed).fork(stream).fork(UInt64(epoch))
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) {
            order.swapAt(i, Int(random.next() % UInt64(i + 1)))
        }
        return order
    }
}
