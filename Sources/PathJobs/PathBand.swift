import Jobs
import Cluster
import Foundation
import Geometry
import Objectives
import Optimization
import Support

/// The nudged elastic band and AutoNEB of `landscape path` (GEOMETRY.md §3–4): the band as an
/// `IterativeProblem` on the shared driver, AutoNEB as phases of it with pivot insertion between.
extension PathJob {
    /// A band and its optimiser's state at an iteration.
    package struct BandState: Iterate {
        package var step: Int
        package var band: ElasticBand
        package var auxiliary: [Double]?
    }

    /// The band measured at an iteration: every pivot's loss, the NEB forces, the convergence measure.
    package struct BandMeasurement: Observation {
        /// Every pivot's training loss, end points included.
        package var energies: [Double]
        /// ‖∇L‖ at every interior pivot.
        package var gradientNorms: [Double]
        package var forces: ElasticBand.Forces
        /// The highest pivot's loss.
        package var value: Double { energies.max()! }
        /// The largest |F⊥| (the climbing pivot's |F|): what the tolerance is compared with.
        package var gradientNorm: Double? { forces.largestResidual }
    }

    /// One row of convergence.csv.
    package struct ConvergenceRow: Codable {
        package var iteration: Int
        package var pivots: Int
        package var highestLoss: Double
        package var largestResidual: Double
        package var meanResidual: Double
        package var pathLength: Double
    }

    package struct BandDiverged: Error, CustomStringConvertible {
        package let description: String
    }

    /// NEB on the training energy (the loss, plus λ‖θ‖²/2 with `path.l2`): measure = every interior pivot's loss and gradient (pivots shared
    /// out to the rank groups), then the forces; advance = the update rule along the forces.
    package struct BandProblem: IterativeProblem {
        package let context: Context
        package let endEnergies: (Double, Double)
        package let settings: Settings
        package let climb: Bool
        package let rule: any UpdateRule
        /// The longest move of a pivot in one iteration.
        package let maximumStep: Double
        /// Loss-and-gradient evaluations so far (one per interior pivot per iteration), and the
        /// seconds this rank spent in them (the rest of an iteration is the band's own overhead).
        package var evaluations = 0
        package var gradientSeconds = 0.0

        package var measuresEveryStep: Bool { true }

        package mutating func measure(_ state: BandState, gradient: Bool) throws -> BandMeasurement {
            let band = state.band
            // Each pivot whole on its group's ranks for its loss and gradient; the gradient's rows
            // back to their owners.
            let shared = try context.groups.shareOverRows(band.interiorCount, rows: context.rows, inputs: { [band.pivot($0 + 1)] },
                                                          scalars: 2, returnsVector: true) { _, whole in
                let clock = Stopwatch()
                let e = try context.energy.evaluate(whole[0], gradient: true)
                gradientSeconds += clock.seconds
                return ([e.loss, e.gradientNorm!], e.gradient!)
            }
            evaluations += band.interiorCount
            let energies = [endEnergies.0] + shared.scalars.map { $0[0] } + [endEnergies.1]
            var gradients: [Double] = []
            gradients.reserveCapacity(band.interiorCount * band.dimension)
            for rows in shared.rows { gradients += rows }
            let forces = try band.forces(energies: energies, gradients: gradients, spring: settings.spring, climb: climb, context.sums)
            return BandMeasurement(energies: energies, gradientNorms: shared.scalars.map { $0[1] }, forces: forces)
        }

        package mutating func advance(_ state: inout BandState, measured: BandMeasurement?) throws -> Double {
            let measured = measured!
            let before = Array(state.band.interior)
            var interior = before
            try rule.apply(to: &interior, auxiliary: &state.auxiliary, direction: measured.forces.force.map { -$0 },
                           learningRate: settings.stepSize)
            // No pivot moves further than `maximumStep` in one iteration (ASE's FIRE `maxstep`): one
            // step too long can throw a pivot onto a plateau (saturated units) where no force brings
            // it back, and the springs only even out the spacing, they do not shorten the band.
            let m = state.band.dimension
            let moves = try context.sums((0..<state.band.interiorCount).map { p in
                ((p * m)..<((p + 1) * m)).reduce(0.0) { $0 + (interior[$1] - before[$1]) * (interior[$1] - before[$1]) }
            }).map { $0.squareRoot() }
            for (p, length) in moves.enumerated() {
                let range = (p * m)..<((p + 1) * m)
                if length > maximumStep {
                    let scale = maximumStep / length
                    for j in range { interior[j] = before[j] + scale * (interior[j] - before[j]) }
                }
            }
            state.band.setInterior(interior)
            state.step += 1
            return measured.value
        }

        package func diverged(at step: Int, value: Double, lastCheckpoint: Int?) -> Error {
            BandDiverged(description: "the band diverged at iteration \(step) (highest loss \(value)); give a smaller --step-size")
        }
    }

    /// What a band run keeps between phases and in its checkpoint (the pivots and velocity go to NPY files beside it).
    package struct BandProgress: Codable {
        /// AutoNEB: cycles 0 ..< settings.cycles, then the final run; NEB: the final run only.
        package var phase: Int
        /// The iteration at which the current phase began.
        package var phaseStart: Int
        package var step: Int
        package var evaluations: Int
        package var history: [ConvergenceRow]
        /// Interior pivots after each AutoNEB cycle's insertion.
        package var insertions: [Int]
        /// This run's seconds in band iterations, and in the pivots' loss-and-gradient evaluations within them.
        package var bandSeconds = 0.0
        package var gradientSeconds = 0.0
        /// The optimiser's scalars after its velocity (FIRE's time scale, mixing and downhill
        /// count), at the checkpoint; the velocity's rows are in velocity.npy.
        package var optimizerScalars: [Double]? = nil
    }

    /// The band's outcome: its final state and measurement, and how it got there.
    package struct BandOutcome {
        package var band: ElasticBand
        package var final: BandMeasurement
        package var reason: StopReason
        package var progress: BandProgress
    }

    /// The band's checkpoint: its progress with the run's identity (band.json, written last), and
    /// the pivots and the optimiser's velocity in count × M NPY files beside it (bit-exact
    /// doubles, streamed from the rows' owners, so a band stopped on P ranks resumes on any other).
    package static let bandCheckpoint = ResumableCheckpoint<BandProgress>(file: "band.json", what: "band")
    package static let bandFiles = (pivots: "band.npy", velocity: "velocity.npy")

    package func saveBand(_ state: BandState, _ progress: BandProgress, identity: String, to directory: RunDirectory, _ context: Context) throws {
        let world = context.world, band = state.band
        try world.agree { try directory.create() }
        try ShardedVectorFile(directory.file(Self.bandFiles.pivots), what: "band checkpoint")
            .write(band.pivots, count: band.count, rows: context.rows, on: world)
        var progress = progress
        let velocity = directory.file(Self.bandFiles.velocity)
        if let v = state.auxiliary {
            let rows = band.interiorCount * band.dimension
            try ShardedVectorFile(velocity, what: "band checkpoint").write(v, count: band.interiorCount, rows: context.rows, on: world)
            progress.optimizerScalars = Array(v[rows...])
        } else {
            try world.agree { _ = unlink(velocity) }
        }
        try Self.bandCheckpoint.write(progress, identity: identity, to: directory, on: world)
    }

    package func loadBand(from directory: RunDirectory, identity: String, _ context: Context) throws -> (BandState, BandProgress)? {
        let world = context.world, rows = context.rows
        guard let progress = try Self.bandCheckpoint.read(directory, identity: identity, on: world) else { return nil }
        let pivots = try world.everyRank { try ShardedVectorFile(directory.file(Self.bandFiles.pivots), what: "band checkpoint").readRows(rows) }
        let velocityFile = directory.file(Self.bandFiles.velocity)
        var velocity: [Double]? = nil
        if try world.agree({ FileManager.default.fileExists(atPath: velocityFile) }) {
            // The velocity belongs to the band's interior and carries the optimiser's scalars: a
            // pair that does not match (files from different moments) is refused, not crashed on.
            let file = ShardedVectorFile(velocityFile, what: "band checkpoint")
            let vectors = try world.agree { try file.count() }
            let scalars = progress.optimizerScalars ?? []
            let expected = updateRule(.whole).initialAuxiliary(count: 0)?.count ?? 0
            guard vectors == pivots.count / max(1, rows.count) - 2, scalars.count == expected else {
                throw InputError("--resume: \(directory.path) holds a band and a velocity that do not match (\(vectors) velocity vectors, \(scalars.count) optimiser scalars); remove the checkpoint or run without --resume")
            }
            velocity = try world.everyRank { try file.readRows(rows) } + scalars
        }
        return (BandState(step: progress.step, band: ElasticBand(pivots: pivots, dimension: rows.count), auxiliary: velocity), progress)
    }

    /// The configured optimiser, its sums made whole over the band's shards.
    package func updateRule(_ sums: ShardSums) -> any UpdateRule {
        switch settings.optimizer {
        case .fire: FIRE(sums: sums)
        case .momentum: Momentum(momentum: settings.momentum)
        }
    }

    /// NEB (one phase) or AutoNEB (cycles with insertion, then the final run), resumable from `checkpoint`.
    package func runBand(from a: [Double], to b: [Double], energies ends: (Double, Double), checkpoint: RunDirectory,
                 identity: String, _ context: Context) throws -> BandOutcome {
        let world = context.world, rows = context.rows
        var state: BandState, progress: BandProgress
        if resume, let restored = try loadBand(from: checkpoint, identity: identity, context) {
            (state, progress) = restored
            context.progress.say("path: resuming at iteration \(state.step) (phase \(progress.phase + 1), \(state.band.interiorCount) pivots)")
        } else {
            // This rank's rows of the straight band from A to B.
            state = BandState(step: 0, band: ElasticBand(from: Array(a[rows.rows]), to: Array(b[rows.rows]), interior: settings.pivots),
                              auxiliary: nil)
            progress = BandProgress(phase: settings.method == .autoneb ? 0 : settings.cycles, phaseStart: 0,
                                    step: 0, evaluations: 0, history: [], insertions: [])
        }
        let finalPhase = settings.cycles
        while true {
            let isFinal = progress.phase >= finalPhase
            let climb = isFinal && settings.climb
            var problem = BandProblem(context: context, endEnergies: ends, settings: settings, climb: climb, rule: updateRule(context.sums),
                                      maximumStep: settings.maximumStep * ElasticBand.distance(a[...], b[...]) / Double(settings.pivots + 1))
            if state.auxiliary == nil { state.auxiliary = problem.rule.initialAuxiliary(count: state.band.interiorCount * state.band.dimension) }
            let budget = isFinal ? settings.iterations : settings.cycleIterations
            var driver = IterativeDriver<BandProblem>(
                criteria: StopCriteria(steps: progress.phaseStart + budget, targetGradientNorm: settings.tolerance),
                recordEvery: 1, checkpointEvery: settings.checkpointEvery, communicator: world)
            driver.stopOnSignal = true
            var history = progress.history
            let phaseLabel = isFinal ? (settings.method == .autoneb ? "final run" : "NEB") : "cycle \(progress.phase + 1)/\(settings.cycles)"
            let throttle = ProgressThrottle()
            driver.onRecord = { step, state, measured, _ in
                let r = measured.forces.residual
                history.append(ConvergenceRow(iteration: step, pivots: state.band.interiorCount, highestLoss: measured.value,
                                              largestResidual: measured.forces.largestResidual,
                                              meanResidual: r.isEmpty ? 0 : r.reduce(0, +) / Double(r.count),
                                              pathLength: measured.forces.segmentLengths.reduce(0, +)))
                if throttle.due() {
                    context.progress.say(String(format: "path: %@, iteration %d, %d pivots, highest loss %.6g, max |F⊥| %.3g (tolerance %.3g)",
                                                phaseLabel, step, state.band.interiorCount, measured.value, measured.forces.largestResidual, settings.tolerance))
                }
            }
            let evaluationsBefore = progress.evaluations
            let snapshot = progress
            driver.onCheckpoint = { state in
                var saved = snapshot
                saved.step = state.step
                saved.history = history
                saved.evaluations = evaluationsBefore + (state.step - snapshot.step) * state.band.interiorCount
                try saveBand(state, saved, identity: identity, to: checkpoint, context)
            }
            let clock = Stopwatch()
            let outcome = try driver.run(&problem, from: state)
            progress.bandSeconds += clock.seconds
            progress.gradientSeconds += problem.gradientSeconds
            progress.history = history
            progress.evaluations += problem.evaluations
            progress.step = outcome.state.step
            state = outcome.state
            if outcome.reason == .signal {
                throw StoppedBySignal(message: "\(StopSignals.name(outcome.signal)) at iteration \(state.step): the band is in \(checkpoint.path); continue with the same command and --resume")
            }
            if isFinal {
                return BandOutcome(band: state.band, final: outcome.final, reason: outcome.reason, progress: progress)
            }
            // AutoNEB's refinement: a pivot where a segment rises above its pivots.
            let room = settings.maxPivots - state.band.interiorCount
            var added: [(segment: Int, t: Double)] = []
            if room > 0 {
                let samples = try sampleSegments(state.band, segments: Array(0..<(state.band.count - 1)), context).map(\.training)
                let t = segmentParameters(settings.segmentPoints)
                let maxima = samples.map { $0.max()! }
                let at = samples.map { t[$0.firstIndex(of: $0.max()!)!] }
                progress.evaluations += samples.count * settings.segmentPoints
                added = ElasticBand.insertions(energies: outcome.final.energies, segmentMaxima: maxima, at: at,
                                               threshold: settings.insertThreshold, budget: room)
            }
            context.progress.say("path: cycle \(progress.phase + 1): highest loss \(String(format: "%.6g", outcome.final.value)), \(added.isEmpty ? "no segment needs a new pivot" : "\(added.count) new pivot(s)")")
            if added.isEmpty {
                progress.phase = finalPhase
            } else {
                state.band = state.band.inserting(added)
                progress.phase += 1
            }
            progress.insertions.append(state.band.interiorCount)
            progress.phaseStart = state.step
            state.auxiliary = nil   // a fresh optimiser for the new band
        }
    }

    /// t = j / (n + 1), j = 1 … n: the interior sample points of a segment.
    package func segmentParameters(_ n: Int) -> [Double] { (1...n).map { Double($0) / Double(n + 1) } }

    /// Training (and held-out) losses at the interior sample points of the given segments, segments
    /// shared out to the groups; each group evaluates a segment's points in one call that shares the
    /// model's first-layer products.
    package func sampleSegments(_ band: ElasticBand, segments: [Int], _ context: Context) throws -> [(training: [Double], heldOut: [Double]?)] {
        let n = settings.segmentPoints, t = segmentParameters(n).map { [$0] }
        let width = context.heldOut == nil ? n : 2 * n
        let shared = try context.groups.shareOverRows(segments.count, rows: context.rows,
                                                      inputs: { [band.pivot(segments[$0]), band.pivot(segments[$0] + 1)] },
                                                      scalars: width, returnsVector: false) { _, whole in
            let origin = whole[0], direction = zip(whole[1], whole[0]).map { $0 - $1 }
            var values = try context.energy.evaluate(origin: origin, directions: [direction], coefficients: t).map(\.loss)
            if let heldOut = context.heldOut {
                values += try heldOut.evaluate(origin: origin, directions: [direction], coefficients: t).map(\.loss)
            }
            return (values, [])
        }.scalars
        return shared.map { v in (Array(v[0..<n]), context.heldOut == nil ? nil : Array(v[n...])) }
    }
}
