import Foundation
import Support

/// The first entry of every summary.json, under the key `header`, with the same keys for every
/// command — `null` where a command has no such thing (`eig` has no model, `plan`-like reports no
/// point) — so that a script reading runs of several commands needs one parser for what they share.
/// Filled by `JobRun` as the inputs become known; the seconds and the peaks are taken when the
/// summary is written.
public struct RunHeader: Codable, Sendable, Equatable {
    /// The `landscape` subcommand ("train", "spectrum", "top", …; a study's parts name their own).
    public var command: String
    public var version: String
    /// `Model.summary`, e.g. "MLP 64-30-10, tanh, cross-entropy".
    public var model: String?
    /// `Dataset.description` (kind, N, d, k), or what `eig` decomposed.
    public var data: String?
    /// M, the parameter count (the operator's dimension for `eig`).
    public var parameters: Int?
    /// N, the training samples.
    public var samples: Int?
    public var ranks: Int
    /// The BLACS process grid ("2 × 1"), where the job has one.
    public var grid: String?
    /// Where the job evaluated the loss: a params.npy, the initialisation, the end points of a path.
    public var point: String?
    /// Wall-clock seconds from the job's start to its summary.
    public var seconds: Double
    /// Each rank's peak resident memory, in bytes, when the summary was written.
    public var peakResidentBytesPerRank: [Int]

    public init(command: String, ranks: Int) {
        self.command = command
        self.version = landscapeVersion
        self.ranks = ranks
        self.seconds = 0
        self.peakResidentBytesPerRank = []
    }

    package enum CodingKeys: String, CodingKey {
        case command, version, model, data, parameters, samples, ranks, grid, point, seconds, peakResidentBytesPerRank
    }

    /// Every key, always: absent values are written as null (the synthesised encoder would drop them).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(command, forKey: .command)
        try c.encode(version, forKey: .version)
        try c.encode(model, forKey: .model)
        try c.encode(data, forKey: .data)
        try c.encode(parameters, forKey: .parameters)
        try c.encode(samples, forKey: .samples)
        try c.encode(ranks, forKey: .ranks)
        try c.encode(grid, forKey: .grid)
        try c.encode(point, forKey: .point)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(peakResidentBytesPerRank, forKey: .peakResidentBytesPerRank)
    }
}

/// A command's own summary with the run header in front: one JSON object whose `header` key is
/// the `RunHeader` and whose other keys are the summary's (the two encode into the same container).
package struct HeadedSummary<Summary: Encodable>: Encodable {
    package let header: RunHeader
    package let summary: Summary

    package init(header: RunHeader, summary: Summary) {
        self.header = header
        self.summary = summary
    }

    package enum CodingKeys: String, CodingKey { case header }

    package func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(header, forKey: .header)
        try summary.encode(to: encoder)
    }
}
