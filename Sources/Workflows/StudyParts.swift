import Cluster
import Configuration
import Foundation
import Support

/// What the studies (`study lb-sb`, `study connectivity`) share: a study is existing jobs, each in
/// its own directory; a part whose summary.json exists is finished and reused — if it was run with
/// this study's settings — and a training part stopped inside continues from its checkpoint.
struct StudyParts {
    var quiet: Bool

    func finished(_ directory: RunDirectory, on world: Communicator) throws -> Bool {
        try world.agree { FileManager.default.fileExists(atPath: directory.file("summary.json")) }
    }

    /// A part's directory that already exists must hold the part of *this* study: the same
    /// resolved configuration (config.toml, written before any work), else its results would be
    /// reported under other settings.
    func requireSameSettings(_ directory: RunDirectory, _ configuration: RunConfiguration, on world: Communicator) throws {
        try world.agree {
            guard let text = try? String(contentsOfFile: directory.file("config.toml"), encoding: .utf8) else { return }
            guard text == configuration.toml else {
                throw InputError("study: \(directory.path) was run with other settings (its config.toml differs from this study's); use another --out, or remove \(directory.path) to redo that part")
            }
        }
    }

    /// Runs a training part, continuing it from its last checkpoint when an earlier run of the
    /// study was stopped inside it.
    func train(_ configuration: RunConfiguration, into directory: RunDirectory, from start: String?, on world: Communicator) throws {
        let resume = try world.agree { () throws -> Bool in
            guard FileManager.default.fileExists(atPath: directory.file("train.csv")) else { return false }
            guard !TrainRunFiles(directory: directory).checkpointSteps().isEmpty else {
                throw InputError("study: \(directory.path) holds a training part stopped before its first checkpoint; remove \(directory.path) to run it again")
            }
            return true
        }
        var job = TrainJob(configuration: configuration, output: directory)
        job.continuation = "repeat the same study command to continue"
        job.resume = resume
        job.start = resume ? nil : start
        job.quiet = quiet
        job.announce = false
        try job.run(on: world)
    }

}
