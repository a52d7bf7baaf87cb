import Cluster
import TOMLKit

/// Sagun et al.'s large-batch → small-batch study (GEOMETRY.md §2, docs/lb-sb.md): a run
/// configuration (data, model, the constant learning rate, record-every) plus a `[study]` table:
///
/// ```toml
/// [study]
/// large-batch = 500      # Part I: B₁ for S₁ steps from the seed's initialisation
/// large-steps = 1000
/// small-batch = 10       # Part II: B₂ for S₂ steps from Part I's end point, the same η
/// small-steps = 1000
/// range = "-0.5:1.5:41"  # the line from the end of Part I (α = 0) to the end of Part II (α = 1)
/// spectrum = "exact"     # at both end points: "exact" (landscape spectrum), "top" (landscape top) or "none"
/// ```
public struct LargeSmallBatchStudy: Sendable {
    public enum SpectrumKind: String, Sendable, CaseIterable { case exact, top, none }

    public var base: RunConfiguration
    public var largeBatch = 500
    public var largeSteps = 1000
    public var smallBatch = 10
    public var smallSteps = 1000
    public var range = "-0.5:1.5:41"
    public var spectrum = SpectrumKind.exact

    static let keys = ["large-batch", "large-steps", "small-batch", "small-steps", "range", "spectrum"]

    public init(toml text: String, source: String) throws {
        let table = try RunConfiguration.parse(toml: text, source: source)
        base = try RunConfiguration(table: table, source: source, excluding: ["study"])
        guard let node = table["study"] else { return }
        guard let study = node.table else { throw InputError("\(source): 'study' must be a table: [study]") }
        for key in study.keys {
            let value = study[key]!
            func integer() throws -> Int {
                guard let v = value.int, v >= 1 else { throw InputError("\(source): study.\(key) must be a whole number ≥ 1") }
                return v
            }
            switch key {
            case "large-batch": largeBatch = try integer()
            case "large-steps": largeSteps = try integer()
            case "small-batch": smallBatch = try integer()
            case "small-steps": smallSteps = try integer()
            case "range":
                guard let v = value.string else { throw InputError("\(source): study.range must be a string \"start:end:count\"") }
                range = v
            case "spectrum":
                guard let v = value.string, let kind = SpectrumKind(rawValue: v) else {
                    throw InputError("\(source): study.spectrum must be \"exact\", \"top\" or \"none\"")
                }
                spectrum = kind
            default:
                throw InputError("\(source): unknown key study.\(key); the [study] keys are \(Self.keys.joined(separator: ", "))")
            }
        }
    }

    public init(base: RunConfiguration) { self.base = base }

    /// Every refusal of the study's own settings, before anything runs.
    public func validate(samples: Int?) throws {
        if let samples, largeBatch > samples {
            throw InputError("study.large-batch = \(largeBatch) (--large-batch) exceeds the \(samples) training samples; give a batch ≤ \(samples), or more data.samples")
        }
        guard smallBatch < largeBatch else {
            throw InputError("study.small-batch = \(smallBatch) (--small-batch) must be smaller than study.large-batch = \(largeBatch) (--large-batch)")
        }
    }
}

/// Mode connectivity of the reference MLP (docs/connectivity.md): minima from several
/// initialisations of one dataset, for several widths, connected pairwise by `landscape path`. A
/// run configuration (data, model, training to the minima) plus a `[study]` table:
///
/// ```toml
/// [study]
/// seeds = [1, 2, 3]            # initialisations (the data stay those of data.seed, or of seed)
/// widths = [[30, 30], [60, 60]]  # hidden widths: each width's minima are connected
///
/// [path]                       # the paths' settings: every key of `landscape path` (docs/path.md)
/// method = "autoneb"           # neb, autoneb or string (then level = λ)
/// pivots = 4
/// group-size = 1
/// ```
public struct ConnectivityStudy: Sendable {
    public var base: RunConfiguration
    public var seeds: [UInt64] = [1, 2, 3]
    public var widths: [[Int]] = [[30, 30]]
    static let keys = ["seeds", "widths"]

    public init(toml text: String, source: String) throws {
        let table = try RunConfiguration.parse(toml: text, source: source)
        base = try RunConfiguration(table: table, source: source, excluding: ["study"])
        guard let node = table["study"] else { return }
        guard let study = node.table else { throw InputError("\(source): 'study' must be a table: [study]") }
        for key in study.keys.sorted() {
            let value = study[key]!
            switch key {
            case "seeds":
                guard let list = value.array, !list.isEmpty else { throw InputError("\(source): study.seeds must be a list of integers ≥ 0, e.g. [1, 2, 3]") }
                seeds = try list.map {
                    guard let v = $0.int, v >= 0 else { throw InputError("\(source): study.seeds must be a list of integers ≥ 0, e.g. [1, 2, 3]") }
                    return UInt64(v)
                }
            case "widths":
                guard let list = value.array, !list.isEmpty else { throw InputError("\(source): study.widths must be a list of width lists, e.g. [[30, 30], [60, 60]]") }
                widths = try list.map { entry in
                    guard let inner = entry.array, !inner.isEmpty, inner.allSatisfy({ ($0.int ?? 0) >= 1 }) else {
                        throw InputError("\(source): study.widths must be a list of width lists of integers ≥ 1, e.g. [[30, 30], [60, 60]]")
                    }
                    return inner.map { $0.int! }
                }
            case _ where ConfigurationKey.named("path.\(key)") != nil:
                // Before the [path] table, a study's path settings were [study] keys.
                throw InputError("\(source): study.\(key) is now path.\(key): move it from [study] to the [path] table")
            default:
                throw InputError("\(source): unknown key study.\(key); the [study] keys are \(Self.keys.joined(separator: ", "))")
            }
        }
    }

    /// Every refusal of the study's own settings, before anything runs.
    public func validate() throws {
        guard seeds.count >= 2 else { throw InputError("study.seeds needs at least two initialisations to connect (e.g. [1, 2, 3])") }
        guard Set(seeds).count == seeds.count else { throw InputError("study.seeds \(seeds) repeats a seed: two runs from one initialisation end in one minimum") }
        guard Set(widths).count == widths.count else { throw InputError("study.widths \(widths) repeats a width") }
    }
}
