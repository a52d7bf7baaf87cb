import Cluster
import Foundation
import Datasets
import Networks
import Objectives
import Optimization
import Training

/// f(x) = ½ Σᵢ aᵢ xᵢ² with aᵢ = i + 1: gradient descent has the closed form
/// xᵢ(t) = (1 − η aᵢ)ᵗ xᵢ(0), so the driver's loop, stop criteria and records can be checked
/// exactly on a problem that is not training. The sum is split over the ranks (each owns some
/// coordinates) and allreduced, as a data-parallel objective is.
struct Quadratic: IterativeProblem {
    struct Point: Iterate { var step: Int; var x: [Double] }
    struct Value: Observation { var value: Double; var gradientNorm: Double?; var gradient: [Double] }
    let communicator: Communicator
    let curvatures: [Double]
    let rate: Double
    var rule: any UpdateRule = GradientDescent()
    var auxiliary: [Double]? = nil
    var measuresEveryStep: Bool { true }

    func measure(_ state: Point, gradient: Bool) throws -> Value {
        var g = [Double](repeating: 0, count: state.x.count)
        var sums = [0.0]
        for i in state.x.indices where i % communicator.size == communicator.rank {
            g[i] = curvatures[i] * state.x[i]
            sums[0] += 0.5 * curvatures[i] * state.x[i] * state.x[i]
        }
        try communicator.allreduce(&g, .sum)
        try communicator.allreduce(&sums, .sum)
        return Value(value: sums[0], gradientNorm: gradient ? g.reduce(0) { $0 + $1 * $1 }.squareRoot() : nil, gradient: g)
    }

    mutating func advance(_ state: inout Point, measured: Value?) throws -> Double {
        try rule.apply(to: &state.x, auxiliary: &auxiliary, direction: measured!.gradient, learningRate: rate)
        state.step += 1
        return measured!.value
    }

    func diverged(at step: Int, value: Double, lastCheckpoint: Int?) -> Error { CollectiveFailure(message: "diverged at \(step)") }
}

func registerDriverChecks(_ suite: inout CheckSuite) throws {
    let world = suite.world
    let a = (0..<6).map { Double($0 + 1) }, x0 = [1.0, -2, 0.5, 3, -1, 0.25], η = 0.1

    try suite.check("driver.closed-form", tolerance: 1e-14) {
        var problem = Quadratic(communicator: world, curvatures: a, rate: η)
        var driver = IterativeDriver<Quadratic>(criteria: StopCriteria(steps: 25), recordEvery: 10, checkpointEvery: 0, communicator: world)
        var recorded: [Int] = []
        driver.onRecord = { step, _, _, _ in recorded.append(step) }
        let outcome = try driver.run(&problem, from: Quadratic.Point(step: 0, x: x0))
        var worst = 0.0
        for i in a.indices {
            let exact = pow(1 - η * a[i], 25) * x0[i]
            worst = max(worst, abs(outcome.state.x[i] - exact))
        }
        let bookkeeping = outcome.reason == .steps && outcome.updates == 25 && recorded == [0, 10, 20, 25]
        return bookkeeping ? worst : .infinity
    }

    try suite.check("driver.momentum-closed-form", tolerance: 1e-13) {
        // Heavy ball on one coordinate: v ← μv + a x, x ← x − η v, iterated by hand alongside.
        var problem = Quadratic(communicator: world, curvatures: [2], rate: η)
        problem.rule = Momentum(momentum: 0.5)
        problem.auxiliary = problem.rule.initialAuxiliary(count: 1)
        let driver = IterativeDriver<Quadratic>(criteria: StopCriteria(steps: 12), recordEvery: 100, checkpointEvery: 0, communicator: world)
        let outcome = try driver.run(&problem, from: Quadratic.Point(step: 0, x: [1]))
        var x = 1.0, v = 0.0
        for _ in 0..<12 { v = 0.5 * v + 2 * x; x -= η * v }
        return abs(outcome.state.x[0] - x)
    }

    try suite.check("driver.stop-criteria", tolerance: 0) {
        // Target value: f(t) = ½ Σ aᵢ (1 − η aᵢ)^{2t} xᵢ(0)² falls below 1e-3 at a step found by hand.
        var problem = Quadratic(communicator: world, curvatures: a, rate: η)
        var driver = IterativeDriver<Quadratic>(criteria: StopCriteria(steps: 1000, targetValue: 1e-3), recordEvery: 1000,
                                                checkpointEvery: 0, communicator: world)
        func value(_ t: Int) -> Double {
            var sum = 0.0
            for i in a.indices { sum += 0.5 * a[i] * pow(1 - η * a[i], 2 * Double(t)) * x0[i] * x0[i] }
            return sum
        }
        var firstBelow = 0
        while value(firstBelow) > 1e-3 { firstBelow += 1 }
        let byValue = try driver.run(&problem, from: Quadratic.Point(step: 0, x: x0))
        // A spent wall-time budget: stop at once with a checkpoint of the current step.
        driver.criteria = StopCriteria(steps: 1000, wallSeconds: 0)
        var checkpoints: [Int] = []
        driver.onCheckpoint = { checkpoints.append($0.step) }
        let byClock = try driver.run(&problem, from: Quadratic.Point(step: 3, x: x0))
        // Started at step 3 as a resumed run: stopped there, it does not rewrite the checkpoint it
        // was resumed from. A fresh run stopped by the clock writes one.
        let fresh = try driver.run(&problem, from: Quadratic.Point(step: 0, x: x0))
        var errors = 0
        if fresh.reason != .wallTime || checkpoints != [0] { errors += 1 }
        if byValue.reason != .targetLoss || byValue.state.step != firstBelow { errors += 1 }
        if byClock.reason != .wallTime || byClock.updates != 0 { errors += 1 }
        return Double(errors)
    }

    // Training on the driver: the sharded run equals the single-rank run (GD, momentum, SGD).
    let alone = try world.split(color: world.rank)
    defer { try? alone.free() }
    let sharded = try clusters(on: world), whole = try clusters(on: alone)
    let model = MultilayerPerceptron(widths: [5, 6, 3], activation: .tanh, loss: .crossEntropy)
    for (name, algorithm, momentum) in [("gd", TrainingSpecification.Algorithm.gd, 0.0), ("momentum", .gd, 0.9), ("sgd", .sgd, 0.0)] {
        try suite.check("driver.train.\(name)", tolerance: 1e-11) {
            var spec = TrainingSpecification()
            spec.algorithm = algorithm
            spec.momentum = momentum
            spec.batch = algorithm == .sgd ? 7 : nil
            spec.steps = 40
            spec.learningRate = 0.2
            spec.recordEvery = 10
            let θ0 = randomParameters(model.parameterCount, seed: 4)
            var distributed = Trainer(objective: DataParallelObjective(model: model, dataset: sharded, communicator: world),
                                      specification: spec, seed: 5)
            var serial = Trainer(objective: DataParallelObjective(model: model, dataset: whole, communicator: alone),
                                 specification: spec, seed: 5)
            let a = try distributed.run(from: TrainingState(step: 0, parameters: θ0))
            let b = try serial.run(from: TrainingState(step: 0, parameters: θ0))
            let moved = relativeDifference(b.state.parameters, θ0) > 1e-3   // it trained
            return moved && a.updates == 40 ? relativeDifference(a.state.parameters, b.state.parameters) : .infinity
        }
    }

    // Weight decay: one GD step is w − η(∇L + λw) by hand, train.csv's loss at step 0 is
    // L + λ‖w‖²/2, and the sharded SGD run with it equals the single-rank one.
    try suite.check("driver.train.weight-decay", tolerance: 1e-12) {
        var spec = TrainingSpecification()
        (spec.steps, spec.learningRate, spec.weightDecay, spec.recordEvery) = (1, 0.2, 0.05, 1)
        let θ0 = randomParameters(model.parameterCount, seed: 4)
        let objective = DataParallelObjective(model: model, dataset: sharded, communicator: world)
        var trainer = Trainer(objective: objective, specification: spec, seed: 5)
        var first: Double?
        trainer.onRecord = { record in if record.step == 0 { first = record.loss } }
        let stepped = try trainer.run(from: TrainingState(step: 0, parameters: θ0))
        let e = try objective.evaluate(θ0)
        let byHand = θ0.indices.map { θ0[$0] - 0.2 * (e.gradient![$0] + 0.05 * θ0[$0]) }
        let energy = e.loss + 0.025 * θ0.reduce(0) { $0 + $1 * $1 }
        (spec.algorithm, spec.batch, spec.steps) = (.sgd, 7, 30)
        var distributed = Trainer(objective: objective, specification: spec, seed: 5)
        var serial = Trainer(objective: DataParallelObjective(model: model, dataset: whole, communicator: alone), specification: spec, seed: 5)
        let a = try distributed.run(from: TrainingState(step: 0, parameters: θ0))
        let b = try serial.run(from: TrainingState(step: 0, parameters: θ0))
        return [relativeDifference(stepped.state.parameters, byHand), abs(first! - energy) / energy,
                relativeDifference(a.state.parameters, b.state.parameters)].max()!
    }
}
