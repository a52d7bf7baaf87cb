import Cluster
import Datasets
import Configuration
import Networks
import Testing
import Training

@Suite struct ConfigurationTests {
    static let design = """
        seed = 7
        [data]
        kind = "clusters"      # clusters | mnist | cifar10 | npy | random
        samples = 1000
        classes = 10
        dimension = 100
        covariance = 1.0
        [model]
        layers = [30, 30]
        activation = "relu"
        loss = "cross-entropy"
        [train]
        algorithm = "gd"
        batch = 1000
        learning-rate = 0.1
        steps = 5000
        [hessian]
        grid = "auto"
        block = 64
        """

    /// The example of DESIGN §4 parses to the values it spells out.
    @Test func designExampleParses() throws {
        let c = try RunConfiguration(toml: Self.design, source: "run.toml")
        #expect(c.seed == 7)
        #expect(c.data.kind == .clusters && c.data.samples == 1000 && c.data.classes == 10 && c.data.dimension == 100)
        #expect(c.model.layers == [30, 30] && c.model.activation == .relu && c.model.loss == .crossEntropy)
        #expect(c.train.algorithm == .gd && c.train.batch == 1000 && c.train.learningRate == 0.1 && c.train.steps == 5000)
        try c.validate()
    }

    /// The resolved TOML parses back to the same configuration.
    @Test func resolvedConfigurationRoundTrips() throws {
        var c = try RunConfiguration(toml: Self.design, source: "run.toml")
        try c.override("train.target-loss", text: "1e-5")
        try c.override("data.x", text: "some \"quoted\" path")
        let again = try RunConfiguration(toml: c.toml, source: "config.toml")
        #expect(again == c)
    }

    @Test func flagsOverrideTheFile() throws {
        var c = try RunConfiguration(toml: Self.design, source: "run.toml")
        try c.override("model.layers", text: "50,20,10")
        try c.override("train.learning-rate", text: "0.01")
        try c.override("model.activation", text: "tanh")
        #expect(c.model.layers == [50, 20, 10] && c.train.learningRate == 0.01 && c.model.activation == .tanh)
    }

    func message(_ toml: String) -> String? {
        do { _ = try RunConfiguration(toml: toml, source: "run.toml"); return nil } catch let error as InputError { return error.message } catch { return "\(error)" }
    }

    @Test func mistakesAreNamed() {
        #expect(message("[data]\nsampels = 10")?.contains("unknown configuration key 'data.sampels'") == true)
        #expect(message("sead = 1")?.contains("unknown configuration key 'sead'") == true)
        #expect(message("[optimizer]\nlr = 1")?.contains("unknown configuration table [optimizer]") == true)
        #expect(message("[model]\nactivation = \"gelu\"")?.contains("'gelu' is not one of relu, tanh, sigmoid, linear, softplus") == true)
        #expect(message("[model]\nloss = \"hinge\"")?.contains("model.loss") == true)
        #expect(message("[data]\nkind = \"imagenet\"")?.contains("'imagenet' is not one of clusters, mnist, cifar10, npy, random") == true)
        #expect(message("[train]\nsteps = \"many\"")?.contains("train.steps: expected an integer") == true)
        #expect(message("[data\nkind = 1")?.contains("TOML syntax error at line 1") == true)
        #expect(message("seed = -1")?.contains("seed") == true)
    }

    @Test func numericChecksNameTheKey() throws {
        var c = RunConfiguration()
        try c.override("model.layers", text: "30,0")
        #expect(throws: InputError.self) { try c.validate() }
        c = RunConfiguration()
        try c.override("data.samples", text: "0")
        #expect(throws: InputError.self) { try c.validate() }
    }

    /// `[model] bias = false` (or `--bias false`): a model of M = Σ n_l n_{l−1}. config.toml says
    /// `bias = false` and leaves the default out, so the rendered configuration — and the checkpoint
    /// identity built from it — of a run with biases is what it was before the key existed.
    @Test func biasKey() throws {
        let c = try RunConfiguration(toml: "[model]\nlayers = [16]\nbias = false", source: "run.toml")
        #expect(!c.model.bias && c.model.parameterCount(inputs: 16, outputs: 16) == 512)
        #expect(c.toml.contains("[model]\nlayers = [16]\nactivation = \"relu\"\nloss = \"cross-entropy\"\ninit = \"he-normal\"\nbias = false\n"))
        #expect(try RunConfiguration(toml: c.toml, source: "config.toml") == c)
        var d = RunConfiguration()
        #expect(d.model.bias && !d.toml.contains("bias"))
        try d.override("model.bias", text: "false")
        var expected = c
        expected.model.layers = [30, 30]
        #expect(d == expected)
        try d.override("model.bias", text: "true")
        #expect(d == RunConfiguration())
        #expect(message("[model]\nbias = \"no\"")?.contains("model.bias: expected true or false") == true)
        #expect(throws: InputError.self) { try d.override("model.bias", text: "no") }
    }

    /// `train.weight-decay`: rendered only when > 0 (the identities of runs without it unchanged),
    /// refused below 0 naming the key.
    @Test func weightDecayKey() throws {
        let c = try RunConfiguration(toml: "[train]\nweight-decay = 1e-3", source: "run.toml")
        #expect(c.train.weightDecay == 1e-3 && c.toml.contains("weight-decay = 0.001"))
        #expect(try RunConfiguration(toml: c.toml, source: "config.toml") == c)
        #expect(!RunConfiguration().toml.contains("weight-decay"))
        var d = RunConfiguration()
        try d.override("train.weight-decay", text: "-1")
        #expect(throws: InputError.self) { try d.validate() }
        #expect((try? d.train.validate()) == nil)
    }
}
