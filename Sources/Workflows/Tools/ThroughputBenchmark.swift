import CBLAS
import Cluster
import Datasets
import Foundation
import Support
import Networks
import Objectives
import NPY
import SeededRandom
import Training
import Configuration
import Jobs
import Krylov

/// `landscape bench throughput`: how fast the data-parallel loss, gradient, Hessian-vector product
/// (HVP) and Gauss–Newton-vector product (GGN) run on the configured model and data, next to the
/// OpenBLAS `dgemm` rate every rank reaches in the same job.
///
/// Every operation goes through the code paths the other commands use: the gradient is
/// `DataParallelObjective.evaluate` (each rank's shard through `MultilayerPerceptron.gradient`, one
/// allreduce of M + 3 values); the curvature products are `CurvatureOperator.apply` — the model's
/// product on each rank's shard followed by one allreduce of the M × B result and the division by
/// N — exactly what every solver's data-parallel HVP costs.
///
/// **Timing.** Each operation is called `warmup` times untimed, then repeatedly, each call between a
/// barrier and the allreduce of the slowest rank's time, until at least `repetitions` calls and
/// `minimumSeconds` of calls were timed (every rank sees the same slowest times, so every rank
/// makes the same decision). The table reports the median call and the fastest.
///
/// **Flop count** (`Model.flopsPerSample`, the model's cost hint): for the MLP the 2·m·n·k of every
/// `dgemm` the code path issues, so the GFLOP/s are the rate of the matrix products alone and may be
/// compared with `dgemm`'s (the formulas are at `MultilayerPerceptron.flopsPerSample`).
public struct ThroughputBenchmark {
    public typealias Operation = ModelOperation

    public var configuration: RunConfiguration
    /// Run on this model instead of one built from `configuration.model` (library callers; `JobModel.swift`).
    public var model: (any Model)? = nil
    /// B of the batched curvature products.
    public var directions = 64
    public var repetitions = 5
    public var minimumSeconds = 1.0
    public var warmup = 1
    /// n of the n × n × n dgemm measured on every rank at once.
    public var dgemmSize = 1000
    public var output: RunDirectory?
    public var quiet = false

    public init(configuration: RunConfiguration) { self.configuration = configuration }

    public struct Measurement: Codable, Sendable {
        public var operation: Operation
        /// How the product ran, when it is not the operator's usual way: "recomputed" (the forward
        /// pass and backpropagation redone for every product) or "bare" (the model's product on
        /// this rank's shard alone: no operator, no allreduce — the floor a Krylov matvec can reach).
        public var variant: String?
        public var directions: Int
        public var calls: Int
        /// Slowest rank's seconds per call: median and fastest over the timed calls.
        public var secondsMedian: Double
        public var secondsMinimum: Double
        /// N·B / seconds (a batched product over B directions does N·B sample-products).
        public var samplesPerSecond: Double
        /// GEMM flops of one call over all ranks (see the flop count), in GFLOP.
        public var gflopPerCall: Double
        /// All ranks together, from the median call.
        public var gflopPerSecond: Double
        /// gflopPerSecond / (P · dgemm GFLOP/s per rank).
        public var fractionOfDgemm: Double
        /// Seconds per direction / seconds of one gradient (median calls).
        public var perDirectionOverGradient: Double
    }

    public struct Report: Codable, Sendable {
        public var model: String
        public var widths: [Int]
        public var parameters: Int
        public var samples: Int
        public var data: String
        public var ranks: Int
        public var blasThreadsPerRank: Int
        /// dgemm GFLOP/s of each rank, all ranks multiplying at the same time.
        public var dgemmGFLOPSPerRank: [Double]
        public var dgemmSize: Int
        public var measurements: [Measurement]
        /// The Hessian-vector products inside real Krylov runs — block Lanczos as `landscape top`
        /// runs it, SLQ as `density`, Hutchinson as `trace`, MINRES-QLP as Newton-MR: operator
        /// seconds per direction, against the bare local product's per direction at the same B,
        /// measured in the same job.
        public var insideKrylov: [KrylovMatvec]
        public var flopCount: String
    }

    public struct KrylovMatvec: Codable, Sendable {
        public var method: String
        /// Directions per operator call (the B of the bare product it is compared with).
        public var directionsPerCall: Int
        public var matvecs: Int
        public var operatorSeconds: Double
        public var secondsPerDirection: Double
        public var bareSecondsPerDirection: Double
        public var ratio: Double
    }

    @discardableResult
    public func run(on runtime: MPIRuntime) throws -> Report {
        let world = runtime.world
        let progress = JobProgress(communicator: world, quiet: quiet)
        try configuration.validate()
        guard directions >= 1 else { throw InputError("--directions must be ≥ 1") }
        guard repetitions >= 1 else { throw InputError("--repetitions must be ≥ 1") }
        if let output { try world.agree { try output.validate() } }

        let dataset = try configuration.data.load(seed: configuration.seed, on: world)
        let model = try configuration.resolvedModel(for: dataset, given: self.model)
        let m = model.parameterCount, n = dataset.globalCount
        let θ = configuration.initialParameters(for: model).θ
        let objective = DataParallelObjective(model: model, dataset: dataset, communicator: world)
        progress.say("bench throughput: \(model.summary), M = \(m), N = \(n), \(world.size) ranks, B = \(directions)")

        // Directions: a seeded random M × B block (the products' cost does not depend on them).
        var random = SplitMix64(seed: configuration.seed).fork(0xBE4C)
        let single = (0..<m).map { _ in random.nextNormal() }
        let batch = (0..<(m * directions)).map { _ in random.nextNormal() }

        let peak = try dgemmRate(on: world)
        progress.say(String(format: "bench throughput: dgemm %d³ at %@ GFLOP/s per rank (all ranks at once)", dgemmSize,
                            peak.map { String(format: "%.1f", $0) }.joined(separator: ", ")))

        var sink = 0.0   // results are summed in here so no call can be optimised away
        let hessian = objective.curvature(.hessian, at: θ), gaussNewton = objective.curvature(.gaussNewton, at: θ)
        func curvature(_ operation: Operation, _ v: [Double], _ b: Int) throws {
            let product = try (operation == .hvp ? hessian : gaussNewton).apply(v, count: b)
            sink += product[0] + product[product.count - 1]
        }
        // The HVP also without the kept linearisation, and as the bare local product: the operator's
        // overhead and the linearisation's gain, side by side (docs/estimators.md, "Speed").
        let recomputed = CurvatureOperator(kind: .hessian, model: model, parameters: θ, shard: dataset.samples,
                                           globalSampleCount: n, communicator: world, keepLinearization: false)
        func hvp(_ op: CurvatureOperator, _ v: [Double], _ b: Int) throws {
            let product = try op.apply(v, count: b)
            sink += product[0] + product[product.count - 1]
        }
        func bare(_ v: [Double], _ b: Int) {
            let product = hessian.localSums(v, count: b)
            sink += product[0] + product[product.count - 1]
        }
        let cases: [(Operation, String?, Int, () throws -> Void)] = [
            (.loss, nil, 1, { sink += try objective.evaluate(θ, gradient: false).loss }),
            (.gradient, nil, 1, { sink += try objective.evaluate(θ).gradientNorm ?? 0 }),
            (.hvp, nil, 1, { try curvature(.hvp, single, 1) }),
            (.hvp, nil, directions, { try curvature(.hvp, batch, directions) }),
            (.hvp, "recomputed", 1, { try hvp(recomputed, single, 1) }),
            (.hvp, "recomputed", directions, { try hvp(recomputed, batch, directions) }),
            (.hvp, "bare", 1, { bare(single, 1) }),
            (.hvp, "bare", directions, { bare(batch, directions) }),
            (.ggn, nil, 1, { try curvature(.ggn, single, 1) }),
            (.ggn, nil, directions, { try curvature(.ggn, batch, directions) }),
        ]
        // Each rank decides on its own shard whether it keeps the linearisation; the variants (and
        // their collectives) run only where every rank does.
        let everyRankKeeps = try world.allreduce(hessian.linearization == nil ? 1 : 0, .max) == 0
        /// The slowest rank's seconds of each timed call, after the warm-up calls.
        func timeCalls(_ body: () throws -> Void) throws -> [Double] {
            for _ in 0..<warmup { try body() }
            var seconds: [Double] = []
            while seconds.count < repetitions || seconds.reduce(0, +) < minimumSeconds {
                try world.barrier()
                let clock = Stopwatch()
                try body()
                seconds.append(try world.allreduce(clock.seconds, .max))
                if seconds.count >= 10_000 { break }
            }
            return seconds
        }
        var timed: [(Operation, String?, Int, [Double])] = []
        for (operation, variant, b, body) in cases where !(b > 1 && directions == 1) {
            if variant != nil && !everyRankKeeps { continue }
            let seconds = try timeCalls(body)
            timed.append((operation, variant, b, seconds))
            progress.say(String(format: "bench throughput: %@ B = %d: %.4g s per call (%d calls)", operation.rawValue + (variant.map { " (\($0))" } ?? ""), b,
                                median(seconds), seconds.count))
        }

        // A matvec where users feel it: inside each Krylov method, against the bare product of the same B.
        var insideKrylov: [KrylovMatvec] = []
        if everyRankKeeps, m >= 40 {
            func measure(_ method: String, directionsPerCall b: Int, _ run: (TimedOperator<CurvatureOperator>) throws -> Void) throws {
                let timed = TimedOperator(hessian)
                try run(timed)
                let block = Array(batch.prefix(m * b)) + [Double](repeating: 0.5, count: max(0, m * b - batch.count))
                let bare = try timeCalls { sink += hessian.localSums(block, count: b)[0] }
                let operatorSeconds = try world.allreduce(timed.seconds, .max)
                let perDirection = operatorSeconds / Double(timed.directions), bareDirection = median(bare) / Double(b)
                insideKrylov.append(KrylovMatvec(method: method, directionsPerCall: b, matvecs: timed.directions, operatorSeconds: operatorSeconds,
                                                 secondsPerDirection: perDirection, bareSecondsPerDirection: bareDirection,
                                                 ratio: perDirection / bareDirection))
            }
            let seed = configuration.seed
            try measure("top: block Lanczos, 10 largest, blocks of 4", directionsPerCall: 4) {
                _ = try Lanczos(LanczosSettings(count: 10, which: .largest, tolerance: 1e-8, blockSize: 4, basis: min(72, m),
                                                maxMatvecs: 2000, seed: seed)).run($0)
            }
            try measure("density: SLQ, 4 probes × 30 steps", directionsPerCall: 4) {
                _ = try StochasticLanczosQuadrature(steps: min(30, m), seed: seed).quadratures($0, probes: [0, 1, 2, 3])
            }
            try measure("trace: Hutchinson, 64 probes in blocks of 8", directionsPerCall: 8) {
                _ = try TraceEstimator(TraceSettings(method: .hutchinson, maxMatvecs: 64, minimumSamples: 64, blockSize: 8, seed: seed)).run($0)
            }
            try measure("MINRES-QLP: H x = v, 40 iterations", directionsPerCall: 1) {
                _ = try MinimumResidualQLP(tolerance: 1e-300, maxIterations: 40, maxCycles: 1).solve($0, single)
            }
        }

        let gradientSeconds = median(timed.first { $0.0 == .gradient }!.3)
        let peakTotal = peak.reduce(0, +)
        let measurements = timed.map { operation, variant, b, seconds -> Measurement in
            let t = median(seconds)
            let flop = model.flopsPerSample(operation, directions: b) * Double(n)
            return Measurement(operation: operation, variant: variant, directions: b, calls: seconds.count, secondsMedian: t,
                               secondsMinimum: seconds.min()!, samplesPerSecond: Double(n * b) / t,
                               gflopPerCall: flop / 1e9, gflopPerSecond: flop / 1e9 / t,
                               fractionOfDgemm: flop / 1e9 / t / max(peakTotal, 1e-9),
                               perDirectionOverGradient: t / Double(b) / gradientSeconds)
        }
        let report = Report(
            model: model.summary, widths: model.layerWidths, parameters: m, samples: n, data: dataset.description, ranks: world.size,
            blasThreadsPerRank: Int(openblas_get_num_threads()), dgemmGFLOPSPerRank: peak, dgemmSize: dgemmSize,
            measurements: measurements, insideKrylov: insideKrylov, flopCount: model.flopCountDescription)
        // Keep `sink` alive on every rank (and make sure the results were finite).
        guard sink.isFinite else { throw CollectiveFailure(message: "bench throughput: a product was not finite") }
        if world.isRoot {
            let table = Self.markdown(report)
            print(table)
            if let output {
                try output.create()
                try output.writeJSON(report, to: "throughput.json")
                try writeAtomically(Data((table + "\n").utf8), to: output.file("throughput.md"))
            }
        }
        return report
    }

    /// The best of three n × n × n dgemm calls on every rank at the same time, in GFLOP/s per rank.
    package func dgemmRate(on world: Communicator) throws -> [Double] {
        let size = dgemmSize
        var a = [Double](repeating: 0, count: size * size), b = a, c = a
        for i in a.indices { a[i] = Double(i % 7) - 3; b[i] = Double(i % 5) - 2 }
        var best = Double.infinity
        for trial in 0..<4 {
            try world.barrier()
            let clock = Stopwatch()
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, Int32(size), Int32(size), Int32(size), 1,
                            pa.baseAddress, Int32(size), pb.baseAddress, Int32(size), 0, pc.baseAddress, Int32(size))
            } } }
            if trial > 0 { best = min(best, clock.seconds) }   // the first call is a warm-up
        }
        let rate = 2 * pow(Double(size), 3) / best / 1e9
        return try world.allgather([rate])
    }

    /// The report as a Markdown table with a header line.
    public static func markdown(_ r: Report) -> String {
        let peak = r.dgemmGFLOPSPerRank
        var lines = [
            "\(r.model), M = \(r.parameters), N = \(r.samples), \(r.ranks) rank\(r.ranks == 1 ? "" : "s") × \(r.blasThreadsPerRank) OpenBLAS thread\(r.blasThreadsPerRank == 1 ? "" : "s"); "
                + "dgemm \(r.dgemmSize)³ in the same job: " + peak.map { String(format: "%.1f", $0) }.joined(separator: " + ")
                + String(format: " = %.1f GFLOP/s", peak.reduce(0, +)),
            "",
            "| operation | B | s / call (median) | fastest | samples·directions / s | GFLOP / call | GFLOP/s | % of dgemm | per direction / gradient |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for x in r.measurements {
            lines.append(String(format: "| %@ | %d | %.4g | %.4g | %.3g | %.4g | %.2f | %.0f %% | %.2f× |",
                                x.operation.rawValue + (x.variant.map { " (\($0))" } ?? ""), x.directions, x.secondsMedian, x.secondsMinimum, x.samplesPerSecond,
                                x.gflopPerCall, x.gflopPerSecond, 100 * x.fractionOfDgemm, x.perDirectionOverGradient))
        }
        if !r.insideKrylov.isEmpty {
            lines += ["", "Inside Krylov methods (the operator's seconds per direction against the bare local product's at the same B):", "",
                      "| method | B | matvecs | s / direction | bare s / direction | ratio |", "|---|---|---|---|---|---|"]
            for k in r.insideKrylov {
                lines.append(String(format: "| %@ | %d | %d | %.4g | %.4g | %.2f× |", k.method, k.directionsPerCall, k.matvecs,
                                    k.secondsPerDirection, k.bareSecondsPerDirection, k.ratio))
            }
        }
        return lines.joined(separator: "\n")
    }
}

private func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// An operator that counts the directions it is applied to and the seconds spent inside it: the
/// benchmark's view of a Krylov method's matvecs (a reference type, since `apply` is not mutating).
private final class TimedOperator<Base: SymmetricOperator>: SymmetricOperator {
    let base: Base
    var seconds = 0.0
    var directions = 0

    init(_ base: Base) { self.base = base }

    var dimension: Int { base.dimension }
    var communicator: Communicator { base.communicator }

    /// Runs `body`, adding its seconds and `count` directions (none for a part of a product
    /// whose directions were already counted).
    func counting<T>(directions count: Int, _ body: () throws -> T) rethrows -> T {
        let clock = Stopwatch()
        defer { seconds += clock.seconds; directions += count }
        return try body()
    }

    func apply(_ v: [Double], count: Int) throws -> [Double] {
        try counting(directions: count) { try base.apply(v, count: count) }
    }
}

/// Over a base that sums per-rank contributions the wrapper does too, so that the sharded Krylov
/// methods reduce-scatter through it as they do on the bare operator (not gather, allreduce the
/// whole block and slice): a matvec's seconds are its local sums plus their reduction onto the
/// rows' owners, as `apply`'s are the product plus its allreduce; its directions are counted once.
extension TimedOperator: LocallySummedOperator where Base: LocallySummedOperator {
    var sumScale: Double { base.sumScale }

    func localSums(_ directions: [Double], count: Int) -> [Double] {
        counting(directions: count) { base.localSums(directions, count: count) }
    }

    func sumOntoOwners(_ send: UnsafeBufferPointer<Double>, into receive: UnsafeMutableBufferPointer<Double>, counts: [Int]) throws {
        try counting(directions: 0) { try base.sumOntoOwners(send, into: receive, counts: counts) }
    }
}
