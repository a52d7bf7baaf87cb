import Cluster
import Foundation
import Support

/// A stopped job's progress — critical's finished starts, interpolate's points, density's probes,
/// trace's samples, the path's band and string — in DIR/checkpoint/`file` as {identity, payload},
/// with the run's identity (its configuration, point, inputs), so `--resume` never continues a
/// different run. One type for every job (only the payload differs), written on rank 0 and read
/// by rank 0 for every rank (`agree`), so all ranks resume from the same progress or refuse
/// together. `GroupWorkQueue`'s jobs write it from the queue's checkpoint policy.
package struct ResumableCheckpoint<Payload: Codable> {
    package struct Contents: Codable { var identity: String; var payload: Payload }
    package let file: String
    /// What the payload is, for the refusal ("probes", "samples").
    package let what: String

    package init(file: String, what: String) {
        self.file = file
        self.what = what
    }

    package func write(_ payload: Payload, identity: String, to directory: RunDirectory, on world: Communicator) throws {
        try world.agree {
            try directory.create()
            try directory.writeJSON(Contents(identity: identity, payload: payload), to: file)
        }
    }

    /// The saved payload, or nil when there is none.
    package func read(_ directory: RunDirectory, identity: String, on world: Communicator) throws -> Payload? {
        try world.agree { () throws -> Payload? in
            guard let data = FileManager.default.contents(atPath: directory.file(file)) else { return nil }
            // The strings RunDirectory.writeJSON writes for non-finite values (a far point's loss).
            let contents = try NonFiniteJSON.decoder().decode(Contents.self, from: data)
            guard contents.identity == identity else { throw InputError("--resume: \(directory.path) holds the \(what) of a different run; remove it or run without --resume") }
            return contents.payload
        }
    }
}
