import Cluster
import Foundation
import TOMLKit
import Networks

/// A sweep: a base run configuration (the same keys as `landscape spectrum --config`) and the
/// points to vary it at, from the `[sweep]` table of the same TOML file:
///
/// ```toml
/// [sweep]
/// "data.classes" = [2, 5, 10]            # an axis: dotted key = list of values
/// "model.layers" = [[10, 10], [30, 30]]
/// seed = [0, 1]
/// at-init = false                        # options: also the spectrum at initialisation
/// ggn = false                            #          the Gauss–Newton split (G) at every point
/// residual = false                       #          and R = H − G's spectrum too
///
/// [[sweep.points]]                       # explicit points (each one combined with the axes)
/// "train.algorithm" = "sgd"
/// "train.batch" = 100
/// ```
///
/// Axes combine as a Cartesian product (first axis slowest, axes in the file's key order as
/// TOMLKit reports it: sorted by name); explicit points, when given, are each crossed with it.
public struct SweepDefinition: Sendable {
    public var base: RunConfiguration
    public var axes: [(key: String, values: [ConfigurationValue])]
    public var points: [SweepPoint]
    /// Per-point options (the same at every point): the spectrum at initialisation too, the split.
    public var includeInitialization = false
    public var gaussNewtonSplit = false
    /// With the split, R = H − G's spectrum too (a third eigensolve per point).
    public var residualSpectrum = false

    static let options = ["at-init", "ggn", "residual", "points"]

    public init(toml text: String, source: String) throws {
        let table = try RunConfiguration.parse(toml: text, source: source)
        guard let sweepNode = table["sweep"] else {
            throw InputError("\(source): no [sweep] table; a sweep file is a run configuration plus a [sweep] table of axes, e.g. \"data.classes\" = [2, 5, 10] (see docs/sweeps.md)")
        }
        guard let sweep = sweepNode.table else { throw InputError("\(source): 'sweep' must be a table: [sweep]") }
        base = try RunConfiguration(table: table, source: source, excluding: ["sweep"])

        var axes: [(String, [ConfigurationValue])] = []
        var explicit: [[(String, ConfigurationValue)]] = []
        for (key, value) in Self.flatten(sweep) {
            switch key {
            case "at-init":
                guard let flag = value.bool else { throw InputError("\(source): sweep.at-init must be true or false") }
                includeInitialization = flag
            case "ggn":
                guard let flag = value.bool else { throw InputError("\(source): sweep.ggn must be true or false") }
                gaussNewtonSplit = flag
            case "residual":
                guard let flag = value.bool else { throw InputError("\(source): sweep.residual must be true or false") }
                residualSpectrum = flag
            case "points":
                guard let list = value.array else { throw InputError("\(source): sweep.points must be an array of tables: [[sweep.points]]") }
                for (k, element) in list.enumerated() {
                    guard let point = element.table else { throw InputError("\(source): sweep.points[\(k)] must be a table") }
                    var settings: [(String, ConfigurationValue)] = []
                    for (name, v) in Self.flatten(point) {
                        settings.append((name, try Self.value(v, for: name, source: "\(source): sweep.points[\(k)]")))
                    }
                    explicit.append(settings)
                }
            default:
                guard let list = value.array, !list.isEmpty else {
                    throw InputError("\(source): sweep axis '\(key)' must be a non-empty list of values, e.g. \"\(key)\" = [a, b]")
                }
                axes.append((key, try list.map { try Self.value($0, for: key, source: "\(source): sweep axis '\(key)'") }))
            }
        }
        self.axes = axes
        guard !axes.isEmpty || !explicit.isEmpty else {
            throw InputError("\(source): [sweep] has no axes and no [[sweep.points]]; add e.g. \"data.classes\" = [2, 5, 10]")
        }

        // Cartesian product of the axes, crossed with the explicit points.
        var combinations: [[(String, ConfigurationValue)]] = [[]]
        for (key, values) in axes {
            combinations = combinations.flatMap { prefix in values.map { prefix + [(key, $0)] } }
        }
        let rows = explicit.isEmpty ? combinations : explicit.flatMap { e in combinations.map { e + $0 } }
        var points: [SweepPoint] = []
        var seen: [String: Int] = [:]
        for settings in rows {
            var configuration = base
            for (key, value) in settings { try configuration.apply(key, value, source: "\(source): sweep") }
            let point = SweepPoint(settings: settings.map { .init(key: $0.0, value: $0.1) }, configuration: configuration,
                                   includeInitialization: includeInitialization, gaussNewtonSplit: gaussNewtonSplit || residualSpectrum,
                                   residualSpectrum: residualSpectrum)
            if let earlier = seen[point.id] {
                throw InputError("\(source): sweep points \(earlier + 1) and \(points.count + 1) are the same run (\(point.label)); remove the duplicate")
            }
            seen[point.id] = points.count
            points.append(point)
        }
        self.points = points
    }

    /// Keys of nested tables joined with dots, so `data.classes = […]` inside [sweep] (a nested
    /// table in TOML) and `"data.classes" = […]` (one quoted key) mean the same; the points array
    /// and the options are left whole.
    static func flatten(_ table: TOMLTable, prefix: String = "") -> [(String, TOMLValueConvertible)] {
        table.keys.flatMap { key -> [(String, TOMLValueConvertible)] in
            let value = table[key]!
            let name = prefix.isEmpty ? key : prefix + "." + key
            if let nested = value.table, name != "points" { return flatten(nested, prefix: name) }
            return [(name, value)]
        }
    }

    static func value(_ value: TOMLValueConvertible, for key: String, source: String) throws -> ConfigurationValue {
        do { return try ConfigurationValue(toml: value) } catch let error as InputError {
            throw InputError("\(source): \(error.message)")
        }
    }

    /// The points an array task (or any `--slice I/N` run) owns: the points dealt into `count`
    /// slices by estimated cost (largest first, each to the least-loaded slice), so slices take
    /// about equally long. It depends only on the definition, never on what is already done, so
    /// tasks that start at different times agree on it.
    public func slice(_ index: Int, of count: Int) -> [SweepPoint] {
        Self.balance(points, into: count)[index]
    }

    /// Longest-processing-time-first: a 4/3-approximation of the best makespan.
    public static func balance(_ points: [SweepPoint], into bins: Int) -> [[SweepPoint]] {
        var result = [[SweepPoint]](repeating: [], count: bins)
        var load = [Double](repeating: 0, count: bins)
        let order = points.indices.sorted { (points[$0].estimatedCost, $1) > (points[$1].estimatedCost, $0) }
        for k in order {
            let bin = load.indices.min { (load[$0], $0) < (load[$1], $1) }!
            result[bin].append(points[k])
            load[bin] += points[k].estimatedCost
        }
        return result
    }
}

/// One run of a sweep: its settings (the axis values that make it differ from the base), the
/// resolved configuration, and a stable id.
public struct SweepPoint: Sendable {
    public struct Setting: Sendable {
        public var key: String
        public var value: ConfigurationValue
    }
    public var settings: [Setting]
    public var configuration: RunConfiguration
    public var includeInitialization: Bool
    public var gaussNewtonSplit: Bool
    public var residualSpectrum = false

    /// `<readable settings>-<hash>`: the hash (FNV-1a, 64 bits) is of the full resolved
    /// configuration and the per-point options, so a re-run finds the same directory, and a
    /// point whose base changed (another learning rate, say) is a new point, never a stale reuse.
    /// The rank count and grid are not part of it: results do not depend on them.
    public var id: String {
        // " residual=true" only when set: points of sweeps written before the option keep their ids.
        let identity = configuration.toml + "at-init=\(includeInitialization) ggn=\(gaussNewtonSplit)" + (residualSpectrum ? " residual=true" : "") + "\n"
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in identity.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let readable = settings.map { Self.slug($0.value.rendered) }.joined(separator: "_")
        let prefix = readable.isEmpty ? "point" : String(readable.prefix(64))
        return prefix + "-" + String(String(hash, radix: 16).suffix(8))
    }

    /// "data.classes=10, model.activation=relu".
    public var label: String {
        settings.map { "\($0.key)=\($0.value.rendered)" }.joined(separator: ", ")
    }

    static func slug(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "." ? $0 : "-" })
            .split(separator: "-", omittingEmptySubsequences: true).joined(separator: "-")
    }

    /// A relative cost for scheduling only (never for results): the eigensolves, M³ each, plus
    /// assembly ∝ N·M² and training ∝ steps·N·M, in one unit. M is computed from the model and
    /// the data keys (input dimension and classes; 784/3072 for MNIST/CIFAR-10).
    public var estimatedCost: Double {
        let c = configuration
        let inputs: Int, outputs: Int
        switch c.data.kind.rawValue {
        case "mnist": (inputs, outputs) = (784, 10)
        case "cifar10": (inputs, outputs) = (3072, 10)
        default: (inputs, outputs) = (c.data.dimension, c.data.classes)
        }
        let shape = (try? c.data.inputShape()) ?? nil
        let m = Double(c.model.parameterCount(inputs: inputs, shape: shape, outputs: outputs) ?? Int.max)
        let n = Double(c.data.samples ?? 1000)
        let steps = Double(c.train.steps ?? 1000)
        let spectra = (gaussNewtonSplit ? (residualSpectrum ? 3.0 : 2.0) : 1.0) * (includeInitialization ? 2 : 1)
        return spectra * (m * m * m / 8 + n * m * m / 20) + steps * n * m * 6 / 20
    }
}

extension ConfigurationValue: CustomStringConvertible {
    /// The value as a user wrote it in TOML.
    public var rendered: String {
        switch self {
        case .integer(let v): "\(v)"
        case .real(let v): renderReal(v)
        case .text(let v): v
        case .boolean(let v): "\(v)"
        case .integers(let v): "[" + v.map(String.init).joined(separator: ", ") + "]"
        case .reals(let v): "[" + v.map(renderReal).joined(separator: ", ") + "]"
        case .texts(let v): "[" + v.map(renderText).joined(separator: ", ") + "]"
        }
    }
    public var description: String { rendered }
}
