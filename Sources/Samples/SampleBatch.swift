/// A block of samples in memory: `count` rows of inputs (count × d, row-major) and of targets
/// (count × k, row-major: one-hot rows for class labels, real rows for regression).
public struct SampleBatch: Sendable {
    public let count: Int
    public let inputDimension: Int
    public let targetDimension: Int
    public var inputs: [Double]
    public var targets: [Double]

    public init(inputs: [Double], inputDimension: Int, targets: [Double], targetDimension: Int) {
        precondition(inputDimension > 0 && targetDimension > 0)
        precondition(inputs.count % inputDimension == 0 && targets.count % targetDimension == 0)
        precondition(inputs.count / inputDimension == targets.count / targetDimension, "inputs and targets differ in length")
        self.count = inputs.count / inputDimension
        self.inputDimension = inputDimension
        self.targetDimension = targetDimension
        self.inputs = inputs
        self.targets = targets
    }

    /// The rows at `indices` (local row numbers), in that order: a minibatch.
    public func rows(_ indices: [Int]) -> SampleBatch {
        var x = [Double](), y = [Double]()
        x.reserveCapacity(indices.count * inputDimension)
        y.reserveCapacity(indices.count * targetDimension)
        for i in indices {
            x.append(contentsOf: inputs[(i * inputDimension)..<((i + 1) * inputDimension)])
            y.append(contentsOf: targets[(i * targetDimension)..<((i + 1) * targetDimension)])
        }
        return SampleBatch(inputs: x, inputDimension: inputDimension, targets: y, targetDimension: targetDimension)
    }
}

/// Sums over a block of samples, to be added across blocks and ranks before dividing by N.
public struct LossStatistics: Sendable, Equatable {
    /// Σᵢ ℓ(f(w, xᵢ), yᵢ).
    public var lossSum: Double
    /// Samples whose largest output is the largest target entry (the class, for one-hot targets).
    public var correct: Int
    public var count: Int

    public init(lossSum: Double = 0, correct: Int = 0, count: Int = 0) {
        self.lossSum = lossSum
        self.correct = correct
        self.count = count
    }

    public static func + (a: LossStatistics, b: LossStatistics) -> LossStatistics {
        LossStatistics(lossSum: a.lossSum + b.lossSum, correct: a.correct + b.correct, count: a.count + b.count)
    }

    public var meanLoss: Double { lossSum / Double(count) }
    public var accuracy: Double { Double(correct) / Double(count) }
}
