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
/// **Flop count** (`flops(_:directions:samples:)`): the 2·m·n·k of every `dgemm` the code path
/// issues, per sample; element-wise work (activations and their derivatives, softmax, the loss
/// Hessian's products, bias sums) and the allreduce are not counted, so the GFLOP/s are the rate of
/// the matrix products alone and may be compared with `dgemm`'s. With u_l = n_{l−1}·n_l (the size
/// of W_l) and Σ' the sum over l ≥ 2:
/// - loss: forward z_l = a_{l−1} W_lᵀ, 2 Σ u_l;
/// - gradient: forward, backward e_{l−1} = δ_l W_l (2 Σ' u_l) and ∇W_l = Δ_lᵀ A_{l−1} (2 Σ u_l):
///   4 Σ u_l + 2 Σ' u_l;
/// - HVP over B directions: the forward and backward pass once (2 Σ u_l + 2 Σ' u_l), then per
///   direction the R-passes: a_{l−1} V_lᵀ and R a_{l−1} W_lᵀ, R δ_lᵀ A_{l−1} and δ_lᵀ R A_{l−1},
///   R δ_l W_l and δ_l V_l — 4 u₁ + 12 Σ' u_l;
/// - GGN over B directions: the same without the δ terms — 4 u₁ + 8 Σ' u_l per direction.
public struct ThroughputBenchmark {
    public enum Operation: String, Codable, Sendable, CaseIterable {
        case loss, gradient, hvp = "HVP", ggn = "GGN"
    }

    public var configuration: RunConfiguration
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
        public var flopCount: String
    }

    /// GEMM flops of one call of `operation` over `samples` samples with B = `directions`.
    public static func flops(_ operation: Operation, widths: [Int], directions b: Int, samples n: Int) -> Double {
        let u = (1..<widths.count).map { Double(widths[$0 - 1] * widths[$0]) }
        let all = u.reduce(0, +), inner = all - u[0]
        let perSample: Double
        switch operation {
        case .loss: perSample = 2 * all
        case .gradient: perSample = 4 * all + 2 * inner
        case .hvp: perSample = 2 * all + 2 * inner + Double(b) * (4 * u[0] + 12 * inner)
        case .ggn: perSample = 2 * all + 2 * inner + Double(b) * (4 * u[0] + 8 * inner)
        }
        return perSample * Double(n)
    }

    public static let flopCountDescription =
        "2mnk per dgemm issued (forward, backprop, R-passes); element-wise work and the allreduce not counted; u_l = n_{l-1} n_l, S = sum u_l, S' = sum over l >= 2: loss 2S, gradient 4S + 2S', HVP 2S + 2S' + B(4u_1 + 12S'), GGN 2S + 2S' + B(4u_1 + 8S') per sample"

    @discardableResult
    public func run(on runtime: MPIRuntime) throws -> Report {
        let world = runtime.world
        let progress = Progress(communicator: world, quiet: quiet)
        try configuration.validate()
        guard directions >= 1 else { throw InputError("--directions must be ≥ 1") }
        guard repetitions >= 1 else { throw InputError("--repetitions must be ≥ 1") }
        if let output { try world.agree { try output.validate() } }

        let dataset = try configuration.data.load(seed: configuration.seed, on: world)
        let network = try TrainJob.network(configuration, for: dataset)
        let widths = network.layout.widths
        let m = network.parameterCount, n = dataset.globalCount
        let θ = configuration.model.initialization.parameters(for: network.layout, seed: configuration.seed)
        let objective = DataParallelObjective(model: network, dataset: dataset, communicator: world)
        let widthText = widths.map(String.init).joined(separator: "-")
        progress.say("bench throughput: MLP \(widthText), M = \(m), N = \(n), \(world.size) ranks, B = \(directions)")

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
        let cases: [(Operation, Int, () throws -> Void)] = [
            (.loss, 1, { sink += try objective.evaluate(θ, gradient: false).loss }),
            (.gradient, 1, { sink += try objective.evaluate(θ).gradientNorm ?? 0 }),
            (.hvp, 1, { try curvature(.hvp, single, 1) }),
            (.hvp, directions, { try curvature(.hvp, batch, directions) }),
            (.ggn, 1, { try curvature(.ggn, single, 1) }),
            (.ggn, directions, { try curvature(.ggn, batch, directions) }),
        ]
        var timed: [(Operation, Int, [Double])] = []
        for (operation, b, body) in cases where !(b > 1 && directions == 1) {
            for _ in 0..<warmup { try body() }
            var seconds: [Double] = []
            while seconds.count < repetitions || seconds.reduce(0, +) < minimumSeconds {
                try world.barrier()
                let clock = Stopwatch()
                try body()
                seconds.append(try world.allreduce(clock.seconds, .max))
                if seconds.count >= 10_000 { break }
            }
            timed.append((operation, b, seconds))
            progress.say(String(format: "bench throughput: %@ B = %d: %.4g s per call (%d calls)", operation.rawValue, b,
                                median(seconds), seconds.count))
        }

        let gradientSeconds = median(timed.first { $0.0 == .gradient }!.2)
        let peakTotal = peak.reduce(0, +)
        let measurements = timed.map { operation, b, seconds -> Measurement in
            let t = median(seconds)
            let flop = Self.flops(operation, widths: widths, directions: b, samples: n)
            return Measurement(operation: operation, directions: b, calls: seconds.count, secondsMedian: t,
                               secondsMinimum: seconds.min()!, samplesPerSecond: Double(n * b) / t,
                               gflopPerCall: flop / 1e9, gflopPerSecond: flop / 1e9 / t,
                               fractionOfDgemm: flop / 1e9 / t / max(peakTotal, 1e-9),
                               perDirectionOverGradient: t / Double(b) / gradientSeconds)
        }
        let report = Report(
            model: "MLP \(widthText) \(configuration.model.activation.rawValue) \(configuration.model.loss.rawValue)",
            widths: widths, parameters: m, samples: n, data: dataset.description, ranks: world.size,
            blasThreadsPerRank: Int(openblas_get_num_threads()), dgemmGFLOPSPerRank: peak, dgemmSize: dgemmSize,
            measurements: measurements, flopCount: Self.flopCountDescription)
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
    func dgemmRate(on world: Communicator) throws -> [Double] {
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
                                x.operation.rawValue, x.directions, x.secondsMedian, x.secondsMinimum, x.samplesPerSecond,
                                x.gflopPerCall, x.gflopPerSecond, 100 * x.fractionOfDgemm, x.perDirectionOverGradient))
        }
        return lines.joined(separator: "\n")
    }
}

private func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
