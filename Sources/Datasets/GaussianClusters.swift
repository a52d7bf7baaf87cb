import Cluster
import Networks
import SeededRandom

/// k Gaussian clusters in Rᵈ (Sagun et al.): class centres μ_c ~ N(0, I_d), sample i belongs to
/// class c = i mod k (balanced, interleaved) and is x_i = μ_c + √covariance · ε_i, ε_i ~ N(0, I_d);
/// then every feature is standardised to zero mean and unit variance over the whole dataset.
///
/// Sample i's numbers come from its own stream `fork(1).fork(i)`, the centres from `fork(0)`, so
/// a rank generates exactly its shard and the data does not depend on the number of ranks; the
/// normalisation uses global statistics from two allreduces.
struct GaussianClusters {
    var samples: Int
    var classes: Int
    var dimension: Int
    var covariance: Double

    func load(random: SplitMix64, on communicator: Communicator) throws -> Dataset {
        try checkShardSize(samples: samples, ranks: communicator.size, width: dimension + classes, what: "clusters")
        let shard = try Shard(globalCount: samples, communicator: communicator)
        let d = dimension, k = classes
        var centreStream = random.fork(0)
        var centres = [Double](repeating: 0, count: k * d)
        for t in centres.indices { centres[t] = centreStream.nextNormal() }
        let spread = covariance.squareRoot()
        var x = [Double](repeating: 0, count: shard.count * d)
        var labels = [Int](repeating: 0, count: shard.count)
        let samplesStream = random.fork(1)
        for (row, i) in shard.range.enumerated() {
            var stream = samplesStream.fork(UInt64(i))
            let c = i % k
            labels[row] = c
            for q in 0..<d { x[row * d + q] = centres[c * d + q] + spread * stream.nextNormal() }
        }
        let statistics = try FeatureStatistics.compute(x, dimension: d, globalCount: samples, on: communicator)
        statistics.apply(to: &x)
        return Dataset(description: "clusters: \(samples) samples, \(k) classes in R^\(d), covariance \(covariance)",
                       shard: shard,
                       samples: SampleBatch(inputs: x, inputDimension: d, targets: oneHot(labels, classes: k), targetDimension: k),
                       classes: k)
    }
}

/// Random memorisation data (Pennington & Bahri): x_i ~ N(0, I_d), targets y_i ~ N(0, I_k), for
/// MSE. Sample i's inputs then targets come from stream `fork(2).fork(i)`. Not standardised.
struct RandomMemorization {
    var samples: Int
    var outputs: Int
    var dimension: Int

    func load(random: SplitMix64, on communicator: Communicator) throws -> Dataset {
        try checkShardSize(samples: samples, ranks: communicator.size, width: dimension + outputs, what: "random")
        let shard = try Shard(globalCount: samples, communicator: communicator)
        let d = dimension, k = outputs
        var x = [Double](repeating: 0, count: shard.count * d), y = [Double](repeating: 0, count: shard.count * k)
        let samplesStream = random.fork(2)
        for (row, i) in shard.range.enumerated() {
            var stream = samplesStream.fork(UInt64(i))
            for q in 0..<d { x[row * d + q] = stream.nextNormal() }
            for c in 0..<k { y[row * k + c] = stream.nextNormal() }
        }
        return Dataset(description: "random: \(samples) samples, x ~ N(0, I_\(d)), targets ~ N(0, I_\(k))",
                       shard: shard,
                       samples: SampleBatch(inputs: x, inputDimension: d, targets: y, targetDimension: k),
                       classes: nil)
    }
}
