import Cluster
import Testing
@testable import Training

@Suite struct ScheduleTests {
    /// Each epoch's minibatches are disjoint and together cover ⌊N/B⌋·B distinct samples; epochs differ.
    @Test func minibatchesPartitionEachEpoch() {
        var schedule = MinibatchSchedule(samples: 23, batch: 5, seed: 3)
        #expect(schedule.batchesPerEpoch == 4)
        for epoch in 0..<3 {
            let batches = (0..<4).map { schedule.indices(step: epoch * 4 + $0) }
            let all = batches.flatMap { $0 }
            #expect(all.count == 20 && Set(all).count == 20 && all.allSatisfy { (0..<23).contains($0) })
        }
        #expect(schedule.indices(step: 0) != schedule.indices(step: 4))
        var again = MinibatchSchedule(samples: 23, batch: 5, seed: 3)
        #expect(again.indices(step: 9) == schedule.indices(step: 9))   // random access = sequential
        var other = MinibatchSchedule(samples: 23, batch: 5, seed: 4)
        #expect(other.indices(step: 0) != schedule.indices(step: 0))
    }

    @Test func stepScheduleAndStepCounts() {
        var spec = TrainingSpecification()
        spec.learningRate = 0.5
        spec.decayEvery = 10
        spec.decayFactor = 0.1
        #expect(spec.learningRate(at: 9) == 0.5)
        #expect(abs(spec.learningRate(at: 25) - 0.005) < 1e-15)
        spec.algorithm = .sgd
        spec.batch = 30
        spec.epochs = 3
        #expect(spec.totalSteps(samples: 100) == 9)
        spec.epochs = nil
        #expect(spec.totalSteps(samples: 100) == 1000)
    }

    func refusal(_ change: (inout TrainingSpecification) -> Void, samples: Int = 100) -> String? {
        var spec = TrainingSpecification()
        change(&spec)
        do { try spec.validate(samples: samples); return nil } catch let error as InputError { return error.message } catch { return "\(error)" }
    }

    @Test func badSettingsAreRefused() {
        #expect(refusal { $0.learningRate = 0 }?.contains("learning-rate must be > 0") == true)
        #expect(refusal { $0.learningRate = -1 }?.contains("learning-rate must be > 0") == true)
        #expect(refusal { $0.steps = 0 }?.contains("steps must be ≥ 1") == true)
        #expect(refusal { $0.algorithm = .sgd; $0.batch = 0 }?.contains("batch must be ≥ 1") == true)
        #expect(refusal { $0.algorithm = .sgd }?.contains("needs train.batch") == true)
        #expect(refusal { $0.algorithm = .sgd; $0.batch = 101 }?.contains("larger than the 100 samples") == true)
        #expect(refusal { $0.batch = 50 }?.contains("algorithm gd") == true)
        #expect(refusal { $0.momentum = 1 }?.contains("momentum") == true)
        #expect(refusal { $0.steps = 5; $0.epochs = 2 }?.contains("not both") == true)
        #expect(refusal { $0.algorithm = .sgd; $0.batch = 10 } == nil)
    }
}
