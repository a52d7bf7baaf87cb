import Configuration
import Foundation
import Networks
import Support

/// What a resumable unit's results depend on (a study's part, a path), as canonical `key = value`
/// entries: written out sorted by key, so the identity is the same text on every build — never a
/// Swift description of a struct, whose layout changes with the type — and a refusal can name the
/// settings that differ. `digest` condenses it (bitDigest over the text's bytes) where only
/// "the same or not" is needed: a later unit depends on an earlier one through its digest.
package struct SettingsIdentity: Codable, Equatable, Sendable {
    private(set) var entries: [String: String] = [:]

    package init() {}

    /// Written as a plain object of its entries (sorted, with RunDirectory.writeJSON).
    package init(from decoder: Decoder) throws { entries = try decoder.singleValueContainer().decode([String: String].self) }

    package func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(entries)
    }

    /// The resolved configuration's keys as `table.key` entries.
    package init(configuration: RunConfiguration) { self.init(toml: configuration.toml) }

    /// A run's identity in its checkpoint: the configuration's keys as rendered but those in
    /// `ignoring` (settings that change no result beyond rounding: a group size, a checkpoint
    /// interval), the summary of a library caller's model (which the `[model]` keys then do not
    /// describe), and `entries` — what else the results depend on (the point, the job's own
    /// choices), each a rendered value.
    package init(run configuration: RunConfiguration, model: (any Model)?, ignoring: [String] = [],
                 _ entries: KeyValuePairs<String, String> = [:]) {
        self.init(configuration: configuration)
        for key in ignoring { self.entries[key] = nil }
        if let model { self.entries["model.given"] = model.summary }
        for (key, value) in entries { self.entries[key] = value }
    }

    /// A config.toml's `[table]` and `key = value` lines (as `RunConfiguration.toml` writes them)
    /// as `table.key` entries.
    package init(toml: String) {
        var table = ""
        for line in toml.split(separator: "\n") {
            if line.hasPrefix("[") && line.hasSuffix("]") {
                table = String(line.dropFirst().dropLast()) + "."
            } else if let equals = line.range(of: " = ") {
                entries[table + line[..<equals.lowerBound]] = String(line[equals.upperBound...])
            }
        }
    }

    package subscript(key: String) -> String? {
        get { entries[key] }
        set { entries[key] = newValue }
    }

    /// Every field of `value` as `prefix.field` entries: its Codable form with sorted keys, so a
    /// setting is named as the type codes it and rendered the same on every build.
    package mutating func add<T: Encodable>(fields value: T, prefix: String) {
        let encoder = NonFiniteJSON.encoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value),
              let fields = try? JSONDecoder().decode([String: Scalar].self, from: data) else {
            preconditionFailure("\(T.self) encodes as a flat record of scalars")
        }
        for (key, field) in fields { entries["\(prefix).\(key)"] = field.text }
    }

    /// The entries of one configuration table (`path`: "path.pivots", …).
    package func only(table: String) -> SettingsIdentity {
        var identity = SettingsIdentity()
        identity.entries = entries.filter { $0.key.hasPrefix(table + ".") }
        return identity
    }

    /// Without the entries of one configuration table.
    package mutating func remove(table: String) {
        entries = entries.filter { !$0.key.hasPrefix(table + ".") }
    }

    /// Another identity's entries (they win over this one's of the same key).
    package mutating func add(_ other: SettingsIdentity) { entries.merge(other.entries) { $1 } }

    /// This unit starts from another's results (`name`, e.g. "large/"): their identity is part of this one's.
    package mutating func depend(on name: String, _ other: SettingsIdentity) { depend(on: name, digest: other.digest) }

    /// This unit starts from inputs with this digest (e.g. the end points' bits).
    package mutating func depend(on name: String, digest: String) { entries["\(Self.dependencyPrefix)\(name)"] = digest }

    package static let dependencyPrefix = "from "

    /// The entries as sorted `key = value` lines.
    package var text: String {
        entries.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: "\n")
    }

    package var digest: String { bitDigest(Array(text.utf8).map(Double.init)) }

    /// How `other` (the earlier run's) differs from this one, in words: "study.range.count was 3,
    /// now 5", or "large/ changed" for what this unit starts from.
    package func differences(from other: SettingsIdentity) -> [String] {
        Set(entries.keys).union(other.entries.keys).sorted().compactMap { key in
            let then = other.entries[key], now = entries[key]
            guard then != now else { return nil }
            if key.hasPrefix(Self.dependencyPrefix) { return "\(key.dropFirst(Self.dependencyPrefix.count)) changed" }
            return "\(key) was \(then ?? "unset"), now \(now ?? "unset")"
        }
    }

    /// One JSON scalar as text (a string without quotes, a number as JSON wrote it, null as "none").
    private struct Scalar: Decodable {
        package let text: String
        package init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { text = "none" }
            else if let v = try? c.decode(Bool.self) { text = "\(v)" }
            else if let v = try? c.decode(Int.self) { text = "\(v)" }
            else if let v = try? c.decode(Double.self) { text = "\(v)" }
            else { text = try c.decode(String.self) }
        }
    }
}
