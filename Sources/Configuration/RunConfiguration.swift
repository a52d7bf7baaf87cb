import Curvature
import Cluster
import Datasets
import Networks
import TOMLKit
import Training

/// A run's full configuration: `seed`, and the `[data]`, `[model]`, `[train]` (and `[hessian]`)
/// tables of a TOML file, each key also settable by a command-line flag that overrides the file.
///
/// Parsing is strict: an unknown table or key, or a value of the wrong type, is an `InputError`
/// naming it — a misspelt key must never be silently ignored. `toml` renders the resolved
/// configuration (defaults filled in) in the same syntax, so a run directory's `config.toml` can
/// be fed back to `--config` to reproduce the run.
public struct RunConfiguration: Sendable, Equatable {
    public var seed: UInt64 = 0
    public var data = DataSpecification()
    public var model = ModelSpecification()
    public var train = TrainingSpecification()
    /// Read and echoed for the spectrum commands that share the file; training does not use them.
    public var hessianGrid = "auto"
    public var hessianBlock = 64
    public var hessianAssembly: AssemblyMethod = .auto
    /// The matrix-free estimators' settings (`landscape top`, `density`, `trace`).
    public var top = TopSpecification()
    public var density = DensitySpecification()
    public var trace = TraceSpecification()
    /// `landscape path`'s settings (and the connectivity study's paths).
    public var path = PathSpecification()
    /// `landscape critical`'s search.
    public var critical = CriticalSpecification()
    /// `landscape interpolate`'s grid, directions and curvature.
    public var interpolate = InterpolateSpecification()
    /// The eigensolver and zero tolerance of exact spectra.
    public var eig = EigenSpecification()

    public init() {}

    /// Parses TOML text; `source` names the file in messages.
    public init(toml text: String, source: String) throws {
        try self.init(table: try Self.parse(toml: text, source: source), source: source)
    }

    /// TOML text as a table, with syntax errors reported as `InputError`s naming the place.
    static func parse(toml text: String, source: String) throws -> TOMLTable {
        // The parser stops at a NUL byte and would silently ignore the rest of the file.
        if let nul = text.utf8.firstIndex(of: 0) {
            let offset = text.utf8.distance(from: text.utf8.startIndex, to: nul)
            throw InputError("\(source): a NUL byte at byte \(offset); a TOML file is text (is this the right file?)")
        }
        if let problem = TOMLKeyCheck.firstProblem(in: text) {
            throw InputError("\(source): TOML syntax error at line \(problem.line): \(problem.message)")
        }
        do { return try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw InputError("\(source): TOML syntax error at line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        }
    }

    /// A parsed TOML table; keys in `excluding` (a sweep file's `[sweep]`) belong to the caller.
    init(table: TOMLTable, source: String, excluding: Set<String> = []) throws {
        for key in table.keys where !excluding.contains(key) {
            let value = table[key]!
            if let sub = value.table, ConfigurationKey.tables.contains(key) {
                for subkey in sub.keys {
                    try apply("\(key).\(subkey)", Self.value(sub[subkey]!, of: "\(key).\(subkey)", source: source), source: source)
                }
            } else if value.table != nil {
                throw InputError("\(source): unknown configuration table [\(key)]; the tables are \(ConfigurationKey.tables.map { "[\($0)]" }.joined(separator: ", "))")
            } else {
                try apply(key, Self.value(value, of: key, source: source), source: source)
            }
        }
    }

    /// A TOML value as a configuration value; a type error names the file and the key.
    static func value(_ toml: TOMLValueConvertible, of name: String, source: String) throws -> ConfigurationValue {
        do { return try ConfigurationValue(toml: toml) } catch let error as InputError {
            throw InputError("\(source): \(name): \(error.message)")
        }
    }

    /// Sets `name` (e.g. "data.samples") from a parsed value.
    public mutating func apply(_ name: String, _ value: ConfigurationValue, source: String) throws {
        guard let key = ConfigurationKey.named(name) else {
            let tables = ConfigurationKey.tables.joined(separator: ", ")
            let hint = ConfigurationKey.tables.contains(name) ? " ([\(name)] must be a table)" : ""
            throw InputError("\(source): unknown configuration key '\(name)'\(hint); known keys are seed and those of the tables \(tables) (see docs/training.md)")
        }
        do { try key.set(&self, value) } catch let error as InputError {
            throw InputError("\(source): \(name): \(error.message)")
        }
    }

    /// Sets `name` from a command-line flag's text.
    public mutating func override(_ name: String, text: String) throws {
        let key = ConfigurationKey.named(name)!
        try apply(name, try ConfigurationValue(text: text, kind: key.kind, flag: key.flag), source: key.flag)
    }

    /// Every check that needs no data (replicated on every rank: the same verdict everywhere).
    public func validate() throws {
        try data.validate()
        if let problem = model.problem() { throw InputError(setting: problem.setting, problem.detail) }
        try train.validate()
        guard hessianBlock >= 1 else { throw InputError(setting: "hessian.block", "must be ≥ 1 (got \(hessianBlock))") }
        try top.validate()
        try density.validate()
        try trace.validate()
        try path.validate()
        try critical.validate()
        try interpolate.validate()
        try eig.validate()
    }

    /// The resolved configuration as TOML.
    public var toml: String {
        var lines: [String] = []
        var table = ""
        for key in ConfigurationKey.all {
            guard let rendered = key.render(self) else { continue }
            let parts = key.name.split(separator: ".", maxSplits: 1).map(String.init)
            if parts.count == 2 {
                if parts[0] != table {
                    table = parts[0]
                    lines.append("")
                    lines.append("[\(table)]")
                }
                lines.append("\(parts[1]) = \(rendered)")
            } else {
                lines.append("\(key.name) = \(rendered)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A configuration value, from TOML or from a flag's text.
public enum ConfigurationValue: Sendable {
    case integer(Int), real(Double), text(String), boolean(Bool), integers([Int]), reals([Double]), texts([String])

    init(toml value: TOMLValueConvertible) throws {
        if let v = value.int { self = .integer(v) }
        else if let v = value.double { self = .real(v) }
        else if let v = value.string { self = .text(v) }
        else if let v = value.bool { self = .boolean(v) }
        else if let array = value.array {
            // Integers stay integers (widths); an array with a real in it is a list of reals (scales).
            if let values = Optional(array.compactMap(\.int)), values.count == array.count {
                self = .integers(values)
            } else if let values = Optional(array.compactMap(\.string)), values.count == array.count {
                self = .texts(values)   // layer strings (model.convolution)
            } else {
                var values: [Double] = []
                for element in array {
                    guard let v = element.double ?? element.int.map(Double.init) else {
                        throw InputError("an array must hold numbers (got \(element.debugDescription))")
                    }
                    values.append(v)
                }
                self = .reals(values)
            }
        } else {
            throw InputError("unsupported value \(value.debugDescription)")
        }
    }

    init(text: String, kind: ConfigurationKey.Kind, flag: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch kind {
        case .integer:
            guard let v = Int(trimmed) else { throw InputError("\(flag) '\(text)' is not an integer") }
            self = .integer(v)
        case .real:
            guard let v = Double(trimmed) else { throw InputError("\(flag) '\(text)' is not a number") }
            self = .real(v)
        case .text: self = .text(text)
        case .boolean:
            guard let v = Bool(trimmed) else { throw InputError("\(flag) '\(text)' is not true or false") }
            self = .boolean(v)
        case .integers:
            let body = trimmed.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            let parts = body.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            var values: [Int] = []
            for part in parts where !part.isEmpty {
                guard let v = Int(part) else { throw InputError("\(flag) '\(text)' is not a list of integers such as 30,30") }
                values.append(v)
            }
            self = .integers(values)
        case .texts:
            // A flag's list: comma-separated ("conv 8 5x5,maxpool 2"), no quoting needed.
            self = .texts(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        case .reals:
            let body = trimmed.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            var values: [Double] = []
            for part in body.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let v = Double(part) else { throw InputError("\(flag) '\(text)' is not a list of numbers such as 0.5,1,2") }
                values.append(v)
            }
            self = .reals(values)
        }
    }

    var integer: Int? { if case .integer(let v) = self { v } else { nil } }
    /// Integers are accepted where reals are expected (TOML `1` for 1.0).
    var real: Double? {
        switch self { case .real(let v): v; case .integer(let v): Double(v); default: nil }
    }
    var text: String? { if case .text(let v) = self { v } else { nil } }
    var boolean: Bool? { if case .boolean(let v) = self { v } else { nil } }
    var integers: [Int]? { if case .integers(let v) = self { v } else { nil } }
    /// An empty TOML array `[]` reads as integers; as a list of strings it is empty too.
    var texts: [String]? {
        switch self { case .texts(let v): v; case .integers(let v) where v.isEmpty: []; default: nil }
    }
    /// A list of integers is a list of reals too (TOML `[1, 2]` for [1.0, 2.0]).
    var reals: [Double]? {
        switch self { case .reals(let v): v; case .integers(let v): v.map(Double.init); default: nil }
    }
}

import Foundation

/// One configuration key: its dotted name, its flag, its type, how to set and render it.
public struct ConfigurationKey: Sendable {
    public enum Kind: String, Sendable { case integer, real, text, boolean, integers, reals, texts }

    public let name: String
    public let flag: String
    public let kind: Kind
    let set: @Sendable (inout RunConfiguration, ConfigurationValue) throws -> Void
    let render: @Sendable (RunConfiguration) -> String?

    static let tables = ["data", "model", "train", "hessian", "top", "density", "trace", "path", "critical", "interpolate", "eig"]

    /// The key called `name` (e.g. "data.samples"), nil for an unknown one.
    public static func named(_ name: String) -> ConfigurationKey? { all.first { $0.name == name } }

    /// The tables of one command only: their flags belong to `landscape top`, `density`, `trace`
    /// (each has an --operator), `path`, `critical` or `interpolate`, and `[eig]`'s on `spectrum`
    /// (the exact spectrum's solver); the other tables' flags are on every command.
    public static let commandTables: Set<String> = ["top", "density", "trace", "path", "critical", "interpolate", "eig"]

    /// The command whose flags include this key's, or nil for every command.
    public var command: String? {
        let table = String(name.split(separator: ".").first ?? "")
        return Self.commandTables.contains(table) ? table : nil
    }

    static func integer(_ name: String, _ flag: String, _ path: WritableKeyPath<RunConfiguration, Int> & Sendable) -> ConfigurationKey {
        ConfigurationKey(name: name, flag: flag, kind: .integer, set: { c, v in
            guard let x = v.integer else { throw InputError("expected an integer") }
            c[keyPath: path] = x
        }, render: { "\($0[keyPath: path])" })
    }
    static func optionalInteger(_ name: String, _ flag: String, _ path: WritableKeyPath<RunConfiguration, Int?> & Sendable) -> ConfigurationKey {
        ConfigurationKey(name: name, flag: flag, kind: .integer, set: { c, v in
            guard let x = v.integer else { throw InputError("expected an integer") }
            c[keyPath: path] = x
        }, render: { $0[keyPath: path].map { "\($0)" } })
    }
    /// A boolean; `omitted`, when given, is a value config.toml leaves out (the key's default).
    static func boolean(_ name: String, _ flag: String, _ path: WritableKeyPath<RunConfiguration, Bool> & Sendable,
                        omitted: Bool? = nil) -> ConfigurationKey {
        ConfigurationKey(name: name, flag: flag, kind: .boolean, set: { c, v in
            guard let x = v.boolean else { throw InputError("expected true or false") }
            c[keyPath: path] = x
        }, render: { c in c[keyPath: path] == omitted ? nil : "\(c[keyPath: path])" })
    }
    /// A number; `omitted`, when given, is a value config.toml leaves out (as `boolean`'s).
    static func real(_ name: String, _ flag: String, _ path: WritableKeyPath<RunConfiguration, Double> & Sendable,
                     omitted: Double? = nil) -> ConfigurationKey {
        ConfigurationKey(name: name, flag: flag, kind: .real, set: { c, v in
            guard let x = v.real else { throw InputError("expected a number") }
            c[keyPath: path] = x
        }, render: { c in c[keyPath: path] == omitted ? nil : renderReal(c[keyPath: path]) })
    }
    static func optionalReal(_ name: String, _ flag: String, _ path: WritableKeyPath<RunConfiguration, Double?> & Sendable) -> ConfigurationKey {
        ConfigurationKey(name: name, flag: flag, kind: .real, set: { c, v in
            guard let x = v.real else { throw InputError("expected a number") }
            c[keyPath: path] = x
        }, render: { $0[keyPath: path].map(renderReal) })
    }
    static func optionalText(_ name: String, _ flag: String, _ path: WritableKeyPath<RunConfiguration, String?> & Sendable) -> ConfigurationKey {
        ConfigurationKey(name: name, flag: flag, kind: .text, set: { c, v in
            guard let x = v.text else { throw InputError("expected a string") }
            c[keyPath: path] = x
        }, render: { $0[keyPath: path].map(renderText) })
    }
    /// A list of numbers; `omitted`, when given, is a value config.toml leaves out (as `boolean`'s).
    static func reals(_ name: String, _ flag: String, _ path: WritableKeyPath<RunConfiguration, [Double]> & Sendable,
                      omitted: [Double]? = nil) -> ConfigurationKey {
        ConfigurationKey(name: name, flag: flag, kind: .reals, set: { c, v in
            guard let x = v.reals else { throw InputError("expected a list of numbers such as [0.5, 1, 2]") }
            c[keyPath: path] = x
        }, render: { c in c[keyPath: path] == omitted ? nil : ConfigurationValue.reals(c[keyPath: path]).rendered })
    }
    static func optionalIntegers(_ name: String, _ flag: String, _ path: WritableKeyPath<RunConfiguration, [Int]?> & Sendable) -> ConfigurationKey {
        ConfigurationKey(name: name, flag: flag, kind: .integers, set: { c, v in
            guard let x = v.integers else { throw InputError("expected a list of integers such as [0, 1]") }
            c[keyPath: path] = x
        }, render: { $0[keyPath: path].map { ConfigurationValue.integers($0).rendered } })
    }
    static func optionalReals(_ name: String, _ flag: String, _ path: WritableKeyPath<RunConfiguration, [Double]?> & Sendable) -> ConfigurationKey {
        ConfigurationKey(name: name, flag: flag, kind: .reals, set: { c, v in
            guard let x = v.reals else { throw InputError("expected a list of numbers such as [0, 0.5, 1]") }
            c[keyPath: path] = x
        }, render: { $0[keyPath: path].map { ConfigurationValue.reals($0).rendered } })
    }
    /// A string restricted to the raw values of `T`, or unset.
    static func optionalChoice<T: RawRepresentable & CaseIterable & Sendable>(_ name: String, _ flag: String, _ path: WritableKeyPath<RunConfiguration, T?> & Sendable) -> ConfigurationKey where T.RawValue == String {
        ConfigurationKey(name: name, flag: flag, kind: .text, set: { c, v in c[keyPath: path] = try chosen(v) },
                         render: { $0[keyPath: path].map { renderText($0.rawValue) } })
    }
    /// A string restricted to the raw values of `T` (activation, loss, kinds…).
    /// One of `T`'s raw values; `omitted`, when given, is a value config.toml leaves out (as `boolean`'s).
    static func choice<T: RawRepresentable & CaseIterable & Sendable & Equatable>(_ name: String, _ flag: String, _ path: WritableKeyPath<RunConfiguration, T> & Sendable,
                                                                                 omitted: T? = nil) -> ConfigurationKey where T.RawValue == String {
        ConfigurationKey(name: name, flag: flag, kind: .text, set: { c, v in c[keyPath: path] = try chosen(v) },
                         render: { c in c[keyPath: path] == omitted ? nil : renderText(c[keyPath: path].rawValue) })
    }
    /// One of the raw values of `T`, or a refusal listing them.
    static func chosen<T: RawRepresentable & CaseIterable>(_ v: ConfigurationValue) throws -> T where T.RawValue == String {
        guard let x = v.text else { throw InputError("expected a string") }
        guard let choice = T(rawValue: x) else {
            throw InputError("'\(x)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }

    /// Every key, in the order `toml` renders them.
    public static let all: [ConfigurationKey] = [
        ConfigurationKey(name: "seed", flag: "--seed", kind: .integer, set: { c, v in
            guard let x = v.integer, x >= 0 else { throw InputError("expected an integer ≥ 0") }
            c.seed = UInt64(x)
        }, render: { "\($0.seed)" }),
        choice("data.kind", "--data", \.data.kind),
        ConfigurationKey(name: "data.seed", flag: "--data-seed", kind: .integer, set: { c, v in
            guard let x = v.integer, x >= 0 else { throw InputError("expected an integer ≥ 0") }
            c.data.seed = UInt64(x)
        }, render: { $0.data.seed.map { "\($0)" } }),
        optionalInteger("data.samples", "--samples", \.data.samples),
        integer("data.classes", "--classes", \.data.classes),
        integer("data.dimension", "--dimension", \.data.dimension),
        real("data.covariance", "--covariance", \.data.covariance),
        optionalText("data.x", "--x", \.data.x),
        optionalText("data.y", "--y", \.data.y),
        optionalText("data.images", "--images", \.data.images),
        optionalText("data.labels", "--labels", \.data.labels),
        optionalText("data.path", "--cifar", \.data.path),
        choice("data.subset", "--subset", \.data.subset),
        integer("data.held-out", "--held-out", \.data.heldOut),
        optionalIntegers("data.shape", "--shape", \.data.imageShape),
        ConfigurationKey(name: "data.standardize", flag: "--standardize", kind: .boolean, set: { c, v in
            guard let x = v.boolean else { throw InputError("expected true or false") }
            c.data.standardize = x
        }, render: { "\($0.data.standardize)" }),
        ConfigurationKey(name: "model.layers", flag: "--layers", kind: .integers, set: { c, v in
            guard let x = v.integers else { throw InputError("expected a list of widths such as [30, 30]") }
            c.model.layers = x
        }, render: { ConfigurationValue.integers($0.model.layers).rendered }),
        // model.kind and model.convolution are rendered only for a convnet: the config.toml, and so
        // the checkpoint identity, of every MLP run stays what it was before the keys existed.
        ConfigurationKey(name: "model.kind", flag: "--model", kind: .text, set: { c, v in c.model.kind = try chosen(v) },
                         render: { $0.model.kind == .mlp ? nil : renderText($0.model.kind.rawValue) }),
        ConfigurationKey(name: "model.convolution", flag: "--convolution", kind: .texts, set: { c, v in
            guard let x = v.texts else { throw InputError("expected a list of layers such as [\"conv 8 5x5\", \"maxpool 2\", \"dense 32\"]") }
            c.model.convolution = x
        }, render: { $0.model.kind == .convnet ? ConfigurationValue.texts($0.model.convolution).rendered : nil }),
        // Rendered only when set (as every optional text): identities of runs without it are unchanged.
        optionalText("model.onnx", "--onnx", \.model.onnx),
        choice("model.activation", "--activation", \.model.activation),
        choice("model.loss", "--loss", \.model.loss),
        choice("model.init", "--init", \.model.initialization),
        // Rendered only when false: the config.toml, and so the checkpoint identity, of every run
        // with biases stays what it was before the key existed (their resumes still match), while a
        // bias-free run's identity differs from any run with biases (its M differs too).
        boolean("model.bias", "--bias", \.model.bias, omitted: true),
        choice("train.algorithm", "--algorithm", \.train.algorithm),
        optionalInteger("train.batch", "--batch", \.train.batch),
        real("train.learning-rate", "--learning-rate", \.train.learningRate),
        optionalInteger("train.steps", "--steps", \.train.steps),
        optionalInteger("train.epochs", "--epochs", \.train.epochs),
        real("train.momentum", "--momentum", \.train.momentum),
        // Rendered only when > 0, as model.bias: the identities of runs without it stay what they were.
        real("train.weight-decay", "--weight-decay", \.train.weightDecay, omitted: 0),
        integer("train.decay-every", "--decay-every", \.train.decayEvery),
        real("train.decay-factor", "--decay-factor", \.train.decayFactor),
        optionalReal("train.target-loss", "--target-loss", \.train.targetLoss),
        optionalReal("train.target-gradient-norm", "--target-gradient-norm", \.train.targetGradientNorm),
        integer("train.record-every", "--record-every", \.train.recordEvery),
        // Rendered only when set: the identities of runs without tracking stay what they were.
        optionalInteger("train.track-top", "--track-top", \.train.trackTop),
        optionalInteger("train.track-every", "--track-every", \.train.trackEvery),
        integer("train.checkpoint-every", "--checkpoint-every", \.train.checkpointEvery),
        ConfigurationKey(name: "hessian.grid", flag: "--grid", kind: .text, set: { c, v in
            guard let x = v.text else { throw InputError("expected a string such as \"auto\" or \"2x2\"") }
            c.hessianGrid = x
        }, render: { renderText($0.hessianGrid) }),
        integer("hessian.block", "--block", \.hessianBlock),
        choice("hessian.assembly", "--assembly", \.hessianAssembly),
        choice("top.operator", "--operator", \.top.curvature),
        integer("top.k", "--k", \.top.count),
        choice("top.which", "--which", \.top.which),
        real("top.tolerance", "--tolerance", \.top.tolerance),
        integer("top.block-size", "--block-size", \.top.blockSize),
        integer("top.basis", "--basis", \.top.basis),
        integer("top.max-matvecs", "--max-matvecs", \.top.maxMatvecs),
        boolean("top.check-multiplicity", "--check-multiplicity", \.top.checkMultiplicity),
        choice("density.operator", "--operator", \.density.curvature),
        integer("density.probes", "--probes", \.density.probes),
        integer("density.steps", "--lanczos-steps", \.density.steps),
        choice("density.distribution", "--distribution", \.density.distribution),
        real("density.sigma", "--sigma", \.density.sigma),
        integer("density.grid-points", "--grid-points", \.density.gridPoints),
        integer("density.group-size", "--group-size", \.density.groupSize),
        // The *.group-placement keys render only when "any": the identities of runs from before
        // they existed stay what they were.
        choice("density.group-placement", "--group-placement", \.density.groupPlacement, omitted: .node),
        integer("density.block-size", "--block-size", \.density.blockSize),
        choice("trace.operator", "--operator", \.trace.curvature),
        choice("trace.method", "--method", \.trace.method),
        integer("trace.power", "--power", \.trace.power),
        choice("trace.distribution", "--distribution", \.trace.distribution),
        real("trace.tolerance", "--tolerance", \.trace.tolerance),
        integer("trace.max-matvecs", "--max-matvecs", \.trace.maxMatvecs),
        integer("trace.min-samples", "--min-samples", \.trace.minimumSamples),
        integer("trace.block-size", "--block-size", \.trace.blockSize),
        choice("path.method", "--method", \.path.method),
        integer("path.pivots", "--pivots", \.path.pivots),
        integer("path.max-pivots", "--max-pivots", \.path.maxPivots),
        real("path.spring", "--spring", \.path.spring),
        boolean("path.climb", "--climb", \.path.climb),
        real("path.tolerance", "--tolerance", \.path.tolerance),
        integer("path.iterations", "--iterations", \.path.iterations),
        integer("path.cycle-iterations", "--cycle-iterations", \.path.cycleIterations),
        integer("path.cycles", "--cycles", \.path.cycles),
        real("path.insert-threshold", "--insert-threshold", \.path.insertThreshold),
        integer("path.segment-points", "--segment-points", \.path.segmentPoints),
        choice("path.optimizer", "--optimizer", \.path.optimizer),
        real("path.step-size", "--step-size", \.path.stepSize),
        real("path.momentum", "--band-momentum", \.path.momentum),
        real("path.max-step", "--max-step", \.path.maximumStep),
        optionalReal("path.level", "--level", \.path.level),
        choice("path.split", "--split", \.path.split),
        integer("path.string-steps", "--string-steps", \.path.stringSteps),
        integer("path.string-points", "--string-points", \.path.stringPoints),
        integer("path.checkpoint-every", "--band-checkpoint-every", \.path.checkpointEvery),
        optionalInteger("path.index-every", "--index-every", \.path.indexEvery),
        choice("path.curvature", "--curvature", \.path.curvature),
        integer("path.group-size", "--group-size", \.path.groupSize),
        choice("path.group-placement", "--group-placement", \.path.groupPlacement, omitted: .node),
        // Keys added after runs existed render only when set, so the identities of those runs (and
        // their --resume) stay what they were: path.polish, path.l2, eig.bulk-tolerances.
        boolean("path.polish", "--polish", \.path.polish, omitted: false),
        real("path.l2", "--l2", \.path.l2, omitted: 0),
        choice("critical.method", "--method", \.critical.method),
        choice("critical.start", "--start", \.critical.start),
        integer("critical.starts", "--starts", \.critical.starts),
        reals("critical.scales", "--scales", \.critical.scales),
        integer("critical.trajectory-every", "--trajectory-every", \.critical.trajectoryEvery),
        real("critical.tolerance", "--tolerance", \.critical.tolerance),
        integer("critical.iterations", "--iterations", \.critical.iterations),
        optionalInteger("critical.inner-iterations", "--inner-iterations", \.critical.innerIterations),
        real("critical.max-step", "--max-step", \.critical.maximumStep),
        real("critical.duplicate-tolerance", "--duplicate-tolerance", \.critical.duplicateTolerance),
        real("critical.near-critical", "--near-critical", \.critical.nearCriticalTolerance),
        choice("critical.curvature", "--curvature", \.critical.curvature),
        integer("critical.group-size", "--group-size", \.critical.groupSize),
        choice("critical.group-placement", "--group-placement", \.critical.groupPlacement, omitted: .node),
        optionalInteger("critical.index", "--index", \.critical.index),
        real("critical.trust-radius", "--trust-radius", \.critical.trustRadius),
        real("critical.l2", "--l2", \.critical.l2),
        boolean("critical.project-symmetries", "--project-symmetries", \.critical.projectSymmetries),
        optionalReal("critical.polish", "--polish", \.critical.polish),
        optionalText("interpolate.range", "--range", \.interpolate.range),
        optionalText("interpolate.grid", "--grid", \.interpolate.grid),
        optionalChoice("interpolate.normalize", "--normalize", \.interpolate.normalize),
        optionalIntegers("interpolate.columns", "--columns", \.interpolate.columns),
        optionalReals("interpolate.spectrum-at", "--spectrum-at", \.interpolate.spectrumAt),
        optionalInteger("interpolate.every", "--every", \.interpolate.every),
        choice("interpolate.curvature", "--curvature", \.interpolate.curvature),
        integer("interpolate.group-size", "--group-size", \.interpolate.groupSize),
        choice("interpolate.group-placement", "--group-placement", \.interpolate.groupPlacement, omitted: .node),
        choice("eig.solver", "--solver", \.eig.solver),
        optionalReal("eig.zero-tolerance", "--zero-tolerance", \.eig.zeroTolerance),
        reals("eig.bulk-tolerances", "--bulk-tolerances", \.eig.bulkTolerances, omitted: EigenSpecification().bulkTolerances),
    ]
}

func renderReal(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    return "\(x)"
}

func renderText(_ s: String) -> String {
    "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

extension RunConfiguration {
    /// The configuration of a job: the TOML file (read on rank 0, its text broadcast, parsed on
    /// every rank — so every rank reaches the same verdict), then the flags' overrides in order.
    public static func load(path: String?, overrides: [(key: String, text: String)],
                            on communicator: Communicator) throws -> RunConfiguration {
        let text = try path.map { path in try communicator.agree { try readText(path) } }
        return try resolve(text: text, path: path, overrides: overrides)
    }

    /// The same without MPI, for commands that run on one process (`plan`).
    public static func load(path: String?, overrides: [(key: String, text: String)]) throws -> RunConfiguration {
        try resolve(text: try path.map(readText), path: path, overrides: overrides)
    }

    private static func readText(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw InputError("--config: no such file '\(path)'") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw InputError("--config: cannot read '\(path)' as UTF-8 text")
        }
        return text
    }

    private static func resolve(text: String?, path: String?, overrides: [(key: String, text: String)]) throws -> RunConfiguration {
        var configuration = RunConfiguration()
        if let text, let path { configuration = try RunConfiguration(toml: text, source: path) }
        for (key, text) in overrides { try configuration.override(key, text: text) }
        return configuration
    }
}
