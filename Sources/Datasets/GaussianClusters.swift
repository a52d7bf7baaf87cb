import Cluster
import Samples
import SeededRandom

/// k Gaussian clusters in Rᵈ (Sagun et al.): class centres μ_c ~ N(0, I_d), sample i belongs to
/// class c = i mod k (balanced, interleaved) and is x_i = μ_c + √covariance · ε_i, ε_i ~ N(0, I_d);
/// then every feature is standardised to zero mean and unit variance over the whole training set.
///
/// Sample i's numbers come from its own stream `fork(1).fork(i)`, the centres from `fork(0)`, so
/// a rank generates exactly its shard and the data does not depend on the number of ranks; the
/// standardisation uses global statistics from two allreduces. Held-out samples are i = N…N+T−1
/// of the same distribution, standardised with the training statistics.
struct GaussianClusters {
    var samples: Int
    var heldOut: Int
    var classes: Int
    var dimension: Int
    var covariance: Double

    func load(random: SplitMix64, on communicator: Communicator) throws -> DataSplit {
        try checkShardSize(samples: samples, ranks: communicator.size, width: dimension + classes, what: "clusters")
        let d = dimension, k = classes
        var centreStream = random.fork(0)
        var centres = [Double](repeating: 0, count: k * d)
        for t in centres.indices { centres[t] = centreStream.nextNormal() }
        let spread = covariance.squareRoot()
        let samplesStream = random.fork(1)
        return try assemble(training: samples, heldOut: heldOut, dimension: d, targets: k, classes: k, standardize: true,
                            description: "clusters: \(samples) samples, \(k) classes in R^\(d), covariance \(covariance)",
                            on: communicator) { range in
            var x = [Double](repeating: 0, count: range.count * d)
            var labels = [Int](repeating: 0, count: range.count)
            for (row, i) in range.enumerated() {
                var stream = samplesStream.fork(UInt64(i))
                let c = i % k
                labels[row] = c
                for q in 0..<d { x[row * d + q] = centres[c * d + q] + spread * stream.nextNormal() }
            }
            return (x, oneHot(labels, classes: k))
        }
    }
}

/// Random memorisation data (Pennington & Bahri): x_i ~ N(0, I_d), targets y_i ~ N(0, I_k), for
/// MSE. Sample i's inputs then targets come from stream `fork(2).fork(i)`. Not standardised.
struct RandomMemorization {
    var samples: Int
    var heldOut: Int
    var outputs: Int
    var dimension: Int

    func load(random: SplitMix64, on communicator: Communicator) throws -> DataSplit {
        try checkShardSize(samples: samples, ranks: communicator.size, width: dimension + outputs, what: "random")
        let d = dimension, k = outputs
        let samplesStream = random.fork(2)
        return try assemble(training: samples, heldOut: heldOut, dimension: d, targets: k, classes: nil, standardize: false,
                            description: "random: \(samples) samples, x ~ N(0, I_\(d)), targets ~ N(0, I_\(k))",
                            on: communicator) { range in
            var x = [Double](repeating: 0, count: range.count * d), y = [Double](repeating: 0, count: range.count * k)
            for (row, i) in range.enumerated() {
                var stream = samplesStream.fork(UInt64(i))
                for q in 0..<d { x[row * d + q] = stream.nextNormal() }
                for c in 0..<k { y[row * k + c] = stream.nextNormal() }
            }
            return (x, y)
        }
    }
}
