import Cluster
import SeededRandom

/// What data to use: the `[data]` table of a run configuration.
public struct DataSpecification: Sendable, Codable, Equatable {
    public enum Kind: String, CaseIterable, Sendable, Codable {
        case clusters, mnist, cifar10, npy, random
    }
    /// How a file dataset with more samples than asked for is cut down.
    public enum Subset: String, CaseIterable, Sendable, Codable {
        /// The first N samples of the file(s).
        case first
        /// N samples chosen by a seeded permutation of all of them.
        case random
    }

    public var kind: Kind = .clusters
    /// The seed of generated data and of a random subset (nil: the run's seed), so runs with
    /// different initialisations can share one dataset.
    public var seed: UInt64?
    /// N. Required for generated data (default 1000); for files, nil means every sample.
    public var samples: Int?
    /// k for clusters (classes) and for random data (outputs).
    public var classes = 10
    /// d for generated data.
    public var dimension = 100
    /// Within-class variance multiplier of the Gaussian clusters (centres have unit variance).
    public var covariance = 1.0
    /// NPY data: X (N × d) and y (N labels or N × k targets).
    public var x: String?
    public var y: String?
    /// MNIST IDX files (optionally gzipped).
    public var images: String?
    public var labels: String?
    /// CIFAR-10: a directory holding data_batch_*.bin, or one .bin file.
    public var path: String?
    public var subset: Subset = .first
    /// T held-out samples from the same source, disjoint from the N training samples: generated
    /// data takes samples N…N+T−1, files the T samples after the N chosen ones (in file or
    /// permutation order). 0 = none.
    public var heldOut = 0
    /// Standardise each feature to zero mean and unit variance over the whole dataset
    /// (always done for clusters; optional for mnist, cifar10 and npy).
    public var standardize = false
    /// The shape C, H, W of one input row (for convolutional models); nil: the kind's own —
    /// MNIST 1 × 28 × 28, CIFAR-10 3 × 32 × 32, an NPY x of N × C × H × W — or none (d × 1 × 1).
    public var imageShape: [Int]?

    public init() {}

    /// C, H, W of one input row: `imageShape` (data.shape) if set, else what the kind's files hold (see `shape`), or nil.
    public func inputShape() throws -> [Int]? {
        try validate()
        if let imageShape { return imageShape }
        switch kind {
        case .mnist: return [1, 28, 28]
        case .cifar10: return [3, 32, 32]
        case .npy:
            let description = try NPYData(x: x!, y: y!, samples: samples, subset: subset, standardize: standardize).validate()
            return description.x.shape.count == 4 ? Array(description.x.shape.dropFirst()) : nil
        case .clusters, .random: return nil
        }
    }

    /// The stream of SplitMix64(seed) reserved for data (initialisation and SGD use others).
    public static let stream: UInt64 = 0xDA7A

    /// Checks of the numbers alone, the same on every rank (no files are touched).
    public func validate() throws {
        if let samples, samples < 1 { throw InputError(setting: "data.samples", "must be ≥ 1 (got \(samples))") }
        guard heldOut >= 0 else { throw InputError(setting: "data.held-out", "must be ≥ 0 (got \(heldOut))") }
        if let imageShape, imageShape.count != 3 || imageShape.contains(where: { $0 < 1 }) {
            throw InputError(setting: "data.shape", "must be three sizes ≥ 1, C, H, W (got \(imageShape))")
        }
        switch kind {
        case .clusters, .random:
            guard classes >= (kind == .clusters ? 2 : 1) else {
                throw InputError(setting: "data.classes", "must be ≥ \(kind == .clusters ? 2 : 1) for \(kind.rawValue) data (got \(classes))")
            }
            guard dimension >= 1 else { throw InputError(setting: "data.dimension", "must be ≥ 1 (got \(dimension))") }
            if kind == .clusters {
                guard covariance > 0, covariance.isFinite else { throw InputError(setting: "data.covariance", "must be > 0 (got \(covariance))") }
            }
        case .npy:
            guard x != nil, y != nil else { throw InputError("data kind 'npy' needs data.x (N × d) and data.y (N labels or N × k targets)") }
        case .mnist:
            guard images != nil, labels != nil else { throw InputError("data kind 'mnist' needs data.images and data.labels (IDX files, optionally .gz)") }
        case .cifar10:
            guard path != nil else { throw InputError("data kind 'cifar10' needs data.path (a directory with data_batch_*.bin, or one .bin file)") }
        }
    }

    /// N, d and k of the data without loading it — from the settings, or for npy from the files'
    /// headers, refused exactly as loading would refuse them (one validation: `NPYData.validate`).
    /// N is the training samples (held-out ones excluded); no MPI needed (`landscape plan`).
    public func shape() throws -> (samples: Int, inputs: Int, outputs: Int) {
        try validate()
        switch kind {
        case .clusters, .random: return (samples ?? 1000, dimension, classes)   // the held-out ones come on top
        case .mnist: return (samples ?? 60000 - heldOut, 784, 10)
        case .cifar10: return (samples ?? 50000 - heldOut, 3072, 10)
        case .npy:
            let description = try NPYData(x: x!, y: y!, samples: samples, subset: subset, standardize: standardize).validate()
            let available = description.x.shape[0]
            return (min(samples ?? available - heldOut, available), description.features, description.classes ?? description.y.shape[1])
        }
    }

    /// Generates or reads this rank's shard (collective: every rank calls it).
    public func load(seed: UInt64, on communicator: Communicator) throws -> Dataset {
        try loadSplit(seed: seed, on: communicator).training
    }

    /// This rank's shards of the training data and of the held-out data (if `heldOut` > 0).
    public func loadSplit(seed: UInt64, on communicator: Communicator) throws -> DataSplit {
        try validate()
        let random = SplitMix64(seed: self.seed ?? seed).fork(Self.stream)
        switch kind {
        case .clusters:
            return try GaussianClusters(samples: samples ?? 1000, heldOut: heldOut, classes: classes, dimension: dimension,
                                        covariance: covariance).load(random: random, on: communicator)
        case .random:
            return try RandomMemorization(samples: samples ?? 1000, heldOut: heldOut, outputs: classes, dimension: dimension)
                .load(random: random, on: communicator)
        case .npy:
            return try NPYData(x: x!, y: y!, samples: samples, subset: subset, standardize: standardize)
                .load(random: random, heldOut: heldOut, on: communicator)
        case .mnist:
            return try IDXData(images: images!, labels: labels!, samples: samples, subset: subset, standardize: standardize)
                .load(random: random, heldOut: heldOut, on: communicator)
        case .cifar10:
            return try CIFAR10Data(path: path!, samples: samples, subset: subset, standardize: standardize)
                .load(random: random, heldOut: heldOut, on: communicator)
        }
    }
}

/// The sample indices to use out of `available`: the first N, or the first N of a seeded
/// permutation (Fisher–Yates driven by SplitMix64, so every rank computes the same list).
///
/// With `heldOut` = T the list has N + T entries (training first); without `wanted`, N is every
/// sample but the T held out.
func selectSamples(_ wanted: Int?, heldOut: Int = 0, of available: Int, subset: DataSpecification.Subset,
                   random: SplitMix64, source: String) throws -> [Int] {
    let n = (wanted ?? (available - heldOut)) + heldOut
    guard n <= available, n > heldOut else {
        let room = max(available - heldOut, 0)
        throw InputError("\(wanted.map { "data.samples = \($0)" } ?? "every sample") with data.held-out = \(heldOut) needs \(n) samples but \(source) holds only \(available); lower data.samples (at most \(room) with this data.held-out) or data.held-out")
    }
    switch subset {
    case .first: return Array(0..<n)
    case .random:
        var generator = random.fork(0x5E1EC7)
        var order = Array(0..<available)
        for i in stride(from: available - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            order.swapAt(i, j)
        }
        return Array(order.prefix(n))
    }
}
