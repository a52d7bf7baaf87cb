import Cluster
import Configuration
import Jobs
import PathJobs
import Workflows
import Foundation
import Support

/// What the studies (`study lb-sb`, `study connectivity`) share: a study is existing jobs, each in
/// its own directory (a part) inside the study's directory. The study owns that directory as every
/// job owns its own (RunDirectoryLock: the kind marker `study` and the lock while it runs), and
/// `study.json` there says which study it is and records the settings identity of every part it
/// started. Re-running the study reuses a part only when it finished — its summary.json says so (a
/// training run stopped by a signal writes one too) — under the same identity; a stopped part
/// continues (training from its last checkpoint, the others with their own --resume); a part run
/// with other settings is refused, never silently kept under a report that claims the new ones.
package struct StudyParts {
    /// The study's name: "lb-sb" or "connectivity".
    package let study: String
    package let output: RunDirectory
    package var quiet: Bool

    /// One part: its directory inside the study's, named relative to it ("large",
    /// "30-30/minimum-1"), what it is run with, and everything its results depend on.
    package struct Part {
        package let name: String
        package let configuration: RunConfiguration
        package let identity: SettingsIdentity
        /// The part's identity is its configuration plus `more` (a part's own settings, the parts it
        /// starts from).
        package init(_ name: String, _ configuration: RunConfiguration, _ more: (inout SettingsIdentity) -> Void = { _ in }) {
            self.name = name
            self.configuration = configuration
            var identity = SettingsIdentity(configuration: configuration)
            // Only a path part reads [path] (its `more` adds the path's settings): the minima it
            // connects stay the same parts whatever the path's settings.
            identity.remove(table: "path")
            more(&identity)
            self.identity = identity
        }
    }

    /// DIR/study.json.
    package struct Record: Codable {
        package var study: String
        package var parts: [String: SettingsIdentity] = [:]
    }
    package static let recordName = "study.json"

    package func directory(_ part: Part) -> RunDirectory { output.subdirectory(part.name) }

    /// Takes the study directory (collective), refusing one that holds another command's run or
    /// another study: their parts and report.md would mix with this study's.
    package func lock(on world: Communicator) throws -> RunDirectoryLock {
        try RunDirectoryLock.acquire(output, command: "study", on: world, progress: JobProgress(communicator: world, quiet: quiet)) {
            // Both studies share the kind "study" (a kind is one word in the lock file); the record says which.
            if let record = try readRecord(), record.study != study {
                throw InputError("\(output.named) holds a `landscape study \(record.study)` run; `landscape study \(study)` would mix its parts with it — choose another --out")
            }
        }
    }

    /// The record (rank 0), nil before the study's first part started.
    package func readRecord() throws -> Record? {
        guard let data = FileManager.default.contents(atPath: output.file(Self.recordName)) else { return nil }
        guard let record = try? JSONDecoder().decode(Record.self, from: data) else {
            throw InputError("\(output.named): \(Self.recordName) is not a study's record; choose another --out")
        }
        return record
    }

    /// Refuses, before any part runs, every existing part that was started with other settings
    /// (one line naming what differs and every part to redo). A part without an entry in the record
    /// (a study written before parts recorded their identity) is compared by its config.toml.
    package func requireSameSettings(_ parts: [Part], on world: Communicator) throws {
        try world.agree {
            let record = try readRecord()
            var stale: [(part: Part, differences: [String])] = []
            for part in parts where FileManager.default.fileExists(atPath: directory(part).path) {
                if let then = record?.parts[part.name] {
                    if then != part.identity { stale.append((part, part.identity.differences(from: then))) }
                } else if let text = try? String(contentsOfFile: directory(part).file("config.toml"), encoding: .utf8), text != part.configuration.toml {
                    stale.append((part, SettingsIdentity(configuration: part.configuration).differences(from: SettingsIdentity(toml: text))))
                }
            }
            guard let first = stale.first else { return }
            let names = stale.map { "'\(directory($0.part).path)'" }
            throw InputError("study: \(directory(first.part).named) was run with other settings (\(first.differences.prefix(3).joined(separator: "; "))); "
                             + "use another --out, or remove \(names.joined(separator: ", ")) to redo \(names.count == 1 ? "that part" : "those parts")")
        }
    }

    /// Runs a part unless it finished: its identity is recorded first, so that the next run of the
    /// study can tell whether what the part left (finished, stopped or killed) is this study's.
    package func run(_ part: Part, on world: Communicator, _ body: () throws -> Void) throws {
        guard try !finished(directory(part), on: world) else { return }
        try world.agree { try updateRecord { $0.parts[part.name] = part.identity } }
        do {
            try body()
        } catch {
            // A part refused before it wrote anything leaves no entry (and the first part no record),
            // so a study refused on bad input leaves nothing behind. Rank 0 alone: no collective here.
            if world.isRoot && !FileManager.default.fileExists(atPath: directory(part).path) {
                try? updateRecord { $0.parts[part.name] = nil }
            }
            throw error
        }
    }

    /// Changes the record (rank 0); a record of no parts is removed.
    package func updateRecord(_ change: (inout Record) -> Void) throws {
        var record = try readRecord() ?? Record(study: study)
        change(&record)
        if record.parts.isEmpty {
            unlink(output.file(Self.recordName))
        } else {
            try output.writeJSON(record, to: Self.recordName)
        }
    }

    /// Whether the part in `directory` finished: its summary.json exists and does not say it was
    /// stopped (only training writes a summary when stopped; the other jobs write none then).
    package func finished(_ directory: RunDirectory, on world: Communicator) throws -> Bool {
        try world.agree {
            guard let data = FileManager.default.contents(atPath: directory.file("summary.json")) else { return false }
            struct Status: Decodable {
                var finished: Bool?
                var stopReason: String?
            }
            let status = try? NonFiniteJSON.decoder().decode(Status.self, from: data)
            // A training summary written before summaries said so: a signal was the one way to stop unfinished.
            return status?.finished ?? (status?.stopReason != "signal")
        }
    }

    /// Runs a training part, continuing it from its last checkpoint when an earlier run of the
    /// study was stopped inside it.
    package func train(_ part: Part, from start: String?, on world: Communicator) throws {
        let directory = directory(part)
        let resume = try world.agree { () throws -> Bool in
            guard FileManager.default.fileExists(atPath: directory.file("train.csv")) else { return false }
            guard !TrainRunFiles(directory: directory).checkpointSteps().isEmpty else {
                throw InputError("study: \(directory.named) holds a training part stopped before its first checkpoint; remove '\(directory.path)' to run it again")
            }
            return true
        }
        var job = TrainJob(configuration: part.configuration, output: directory)
        job.continuation = "repeat the same study command to continue"
        job.resume = resume
        job.start = resume ? nil : start
        job.quiet = quiet
        job.announce = false
        try job.run(on: world)
    }
}
