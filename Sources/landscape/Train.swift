import ArgumentParser
import Cluster
import Jobs
import Configuration
import Workflows
import Foundation

/// The run keys (seed, data, model, train) as flags (flags override the `--config` file). Values are
/// kept as text and parsed by the configuration model, so a flag and a TOML key accept the same values.
struct RunKeyOptions: ConfigurationFlags {
    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of every random quantity (data, initialisation, minibatches). [seed]", valueName: "n")) var seed: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Dataset kind: clusters, mnist, cifar10, npy or random. [data.kind]", valueName: "kind")) var data: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of generated data and random subsets only (default: --seed), so different initialisations share one dataset. [data.seed]", valueName: "n")) var dataSeed: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Number of samples N (files: default all). [data.samples]", valueName: "N")) var samples: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Classes k of the clusters, or outputs k of random data. [data.classes]", valueName: "k")) var classes: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Input dimension d of generated data. [data.dimension]", valueName: "d")) var dimension: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Within-class variance of the clusters. [data.covariance]", valueName: "c")) var covariance: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("NPY inputs, N × d. [data.x]", valueName: "X.npy")) var x: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("NPY labels (N) or targets (N × k). [data.y]", valueName: "y.npy")) var y: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("MNIST images, IDX3, optionally .gz. [data.images]", valueName: "file")) var images: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("MNIST labels, IDX1, optionally .gz. [data.labels]", valueName: "file")) var labels: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("CIFAR-10 binary: a directory of data_batch_*.bin or one .bin file. [data.path]", valueName: "path")) var cifar: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Which samples of a larger file: first or random (seeded). [data.subset]", valueName: "first|random")) var subset: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Held-out samples from the same source, evaluated at every record. [data.held-out]", valueName: "T")) var heldOut: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Standardise features over the whole dataset (mnist, cifar10, npy). [data.standardize]", valueName: "true|false")) var standardize: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("C,H,W of one input row for convolutional models (default: MNIST 1,28,28, CIFAR-10 3,32,32, an N×C×H×W NPY x). [data.shape]", valueName: "C,H,W")) var shape: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Model family: mlp (model.layers) or convnet (model.convolution). [model.kind]", valueName: "mlp|convnet")) var model: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Hidden widths, e.g. 30,30. [model.layers]", valueName: "w,w,…")) var layers: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("A convnet's hidden layers, comma-separated, e.g. \"conv 8 5x5,maxpool 2,dense 32\" (activation after each conv and dense; the output layer comes from the data). [model.convolution]", valueName: "layer,layer,…")) var convolution: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("An ONNX file (torch.onnx.export) whose graph is the model and whose initialisers are θ₀ (docs/onnx.md). [model.onnx]", valueName: "model.onnx")) var onnx: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("relu, tanh, sigmoid, linear or softplus. [model.activation]", valueName: "name")) var activation: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("cross-entropy or mse. [model.loss]", valueName: "name")) var loss: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("he-normal, he-uniform, glorot-normal or glorot-uniform. [model.init]", valueName: "scheme")) var `init`: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("A bias vector in every layer; false: z = W a only (M = Σ n_l n_{l−1}). [model.bias]", valueName: "true|false")) var bias: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("gd or sgd. [train.algorithm]", valueName: "gd|sgd")) var algorithm: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("SGD minibatch size. [train.batch]", valueName: "B")) var batch: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Learning rate η. [train.learning-rate]", valueName: "η")) var learningRate: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Number of updates. [train.steps]", valueName: "n")) var steps: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Passes over the data instead of --steps. [train.epochs]", valueName: "n")) var epochs: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Heavy-ball momentum μ in [0, 1); 0 = off. [train.momentum]", valueName: "μ")) var momentum: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("L2 weight λ: descend L + λ‖θ‖²/2; 0 = off. [train.weight-decay]", valueName: "λ")) var weightDecay: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Multiply η by --decay-factor every this many steps; 0 = constant. [train.decay-every]", valueName: "n")) var decayEvery: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Step-schedule factor. [train.decay-factor]", valueName: "f")) var decayFactor: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Stop once the full-data loss is ≤ this. [train.target-loss]", valueName: "L")) var targetLoss: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Stop once ‖∇L‖ is ≤ this. [train.target-gradient-norm]", valueName: "g")) var targetGradientNorm: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("A train.csv row every this many steps. [train.record-every]", valueName: "R")) var recordEvery: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("A params-<step>.npy checkpoint every this many steps; 0 = none. [train.checkpoint-every]", valueName: "C")) var checkpointEvery: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Track H's top-K eigenspace along the run: track.csv gets the gradient's fraction inside it and its overlap with the previous one. [train.track-top]", valueName: "K")) var trackTop: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Track every this many steps, a multiple of --record-every (default: every record). [train.track-every]", valueName: "T")) var trackEvery: String?

    /// (configuration key, flag text) for every flag given.
    var overrides: [(key: String, text: String)] {
        let pairs: [(String, String?)] = [
            ("seed", seed), ("data.kind", data), ("data.seed", dataSeed), ("data.samples", samples), ("data.classes", classes),
            ("data.dimension", dimension), ("data.covariance", covariance), ("data.x", x), ("data.y", y),
            ("data.images", images), ("data.labels", labels), ("data.path", cifar), ("data.subset", subset), ("data.held-out", heldOut),
            ("data.standardize", standardize), ("data.shape", shape), ("model.kind", model), ("model.layers", layers),
            ("model.convolution", convolution), ("model.onnx", onnx), ("model.activation", activation),
            ("model.loss", loss), ("model.init", `init`), ("model.bias", bias), ("train.algorithm", algorithm), ("train.batch", batch),
            ("train.learning-rate", learningRate), ("train.steps", steps), ("train.epochs", epochs),
            ("train.momentum", momentum), ("train.weight-decay", weightDecay), ("train.decay-every", decayEvery), ("train.decay-factor", decayFactor),
            ("train.target-loss", targetLoss), ("train.target-gradient-norm", targetGradientNorm),
            ("train.record-every", recordEvery), ("train.checkpoint-every", checkpointEvery),
            ("train.track-top", trackTop), ("train.track-every", trackEvery),
        ]
        return keyFlags(pairs)
    }

    func validate() throws { try validateOverrides() }
}

/// Flags that stand for configuration keys.
protocol ConfigurationFlags: ParsableArguments {
    /// (configuration key, flag text) for every flag given.
    var overrides: [(key: String, text: String)] { get }
}

extension ConfigurationFlags {
    /// A configuration key as the user gave it: its flag when the flag was given, else the key
    /// (from the --config file).
    func displayName(ofSetting setting: String) -> String? {
        overrides.contains { $0.key == setting } ? ConfigurationKey.named(setting)?.flag : nil
    }

    /// Type and choice errors in flags are reported before MPI starts.
    func validateOverrides() throws { try validateKeyFlags(overrides) }
}

/// Type and choice errors in flags that stand for configuration keys, before MPI starts: each
/// (key, text) applied to a scratch configuration.
func validateKeyFlags(_ overrides: [(key: String, text: String)]) throws {
    for (key, text) in overrides {
        var scratch = RunConfiguration()
        _ = try validated { try scratch.override(key, text: text) }
    }
}

/// The flags given, of a list of (configuration key, flag text or nil), as (key, text) pairs.
func keyFlags(_ list: [(String, String?)]) -> [(key: String, text: String)] {
    list.compactMap { key, text in text.map { (key: key, text: $0) } }
}

/// The `[hessian]` keys' flags: for the commands that assemble or decompose an exact Hessian (and
/// train, whose resolved config.toml a spectrum run may reuse). Not on `interpolate`, whose --grid
/// is its plane's grid.
struct HessianKeyOptions: ConfigurationFlags {
    @Option(parsing: .unconditional, help: ArgumentHelp("Hessian process grid, for the spectrum commands. [hessian.grid]", valueName: "auto|PrxPc")) var grid: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Hessian block size, for the spectrum commands. [hessian.block]", valueName: "nb")) var block: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Exact assembly: auto, sample-gemm (MLP fast path) or operator-columns (any model). [hessian.assembly]", valueName: "method")) var assembly: String?

    var overrides: [(key: String, text: String)] {
        let pairs: [(String, String?)] = [("hessian.grid", grid), ("hessian.block", block), ("hessian.assembly", assembly)]
        return keyFlags(pairs)
    }

    func validate() throws { try validateOverrides() }
}

/// Every configuration key's flag: the run keys and the Hessian keys (each group validates its own).
struct ConfigurationOptions: ConfigurationFlags {
    @OptionGroup var run: RunKeyOptions
    @OptionGroup var hessian: HessianKeyOptions

    var overrides: [(key: String, text: String)] { run.overrides + hessian.overrides }
}

struct Train: MPICommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an MLP with GD or SGD on data sharded across ranks; write a run directory.",
        discussion: """
            The run is described by a TOML file (--config) whose every key also has a flag; flags override the file. \
            Writes config.toml (resolved), train.csv, params-<step>.npy checkpoints, params.npy, summary.json and \
            timings.json into --out. --resume DIR continues a run from its last checkpoint (config from DIR/config.toml \
            unless --config is given; flags such as --steps still override). See docs/training.md.
            """)

    @Option(parsing: .unconditional, help: ArgumentHelp("The run configuration (TOML).", valueName: "run.toml")) var config: String?
    @Option(help: "Output directory (created once the inputs are checked).") var out: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Continue the run in this directory from its last checkpoint.", valueName: "DIR")) var resume: String?
    @Option(help: ArgumentHelp("Start from these parameters instead of the seed's initialisation: a new run (step 0, its own train.csv), e.g. with another batch size.",
                               valueName: "params.npy")) var startFrom: String?
    @Flag(help: "No progress lines on standard error.") var quiet = false
    @OptionGroup(title: "Configuration keys") var settings: ConfigurationOptions

    func displayName(ofSetting setting: String) -> String? { settings.displayName(ofSetting: setting) }

    func validate() throws {
        if startFrom != nil && resume != nil {
            throw ValidationError("--start-from begins a new run and --resume continues one; give one of them")
        }
        guard out != nil || resume != nil else { throw ValidationError("give --out DIR (or --resume DIR to continue a run)") }
        if let out, let resume, URL(fileURLWithPath: out).standardizedFileURL != URL(fileURLWithPath: resume).standardizedFileURL {
            throw ValidationError("--resume continues the run in its own directory; drop --out or make it the same as --resume")
        }
    }

    func run(on runtime: MPIRuntime) throws {
        let directory = resume ?? out!
        let path = config ?? (resume.map { ($0 as NSString).appendingPathComponent("config.toml") })
        var job = TrainJob(configuration: try RunConfiguration.load(path: path, overrides: settings.overrides, on: runtime.world),
                           output: RunDirectory(path: directory))
        job.resume = resume != nil
        job.start = startFrom
        job.quiet = quiet
        try job.run(on: runtime.world)
    }
}
