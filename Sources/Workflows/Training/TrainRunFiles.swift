import Jobs
import Cluster
import Foundation
import Support
import NPY
import Training

/// The files of a training run directory (written by rank 0 only):
/// `config.toml` (resolved), `train.csv`, `params-<step>.npy` (+ `velocity-<step>.npy` with
/// momentum) every checkpoint interval, `params.npy` at the end, `summary.json`.
package struct TrainRunFiles {
    package let directory: RunDirectory

    package init(directory: RunDirectory) { self.directory = directory }

    package static let csvHeader = "step,loss,accuracy,gradient_norm,held_out_loss,held_out_accuracy,held_out_gradient_norm,learning_rate,seconds"

    package func checkpointName(_ step: Int) -> String { "params-\(step).npy" }
    package func velocityName(_ step: Int) -> String { "velocity-\(step).npy" }

    /// Every step with a params-<step>.npy, ascending.
    package func checkpointSteps() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("params-"), name.hasSuffix(".npy") else { return nil }
            return Int(name.dropFirst("params-".count).dropLast(".npy".count))
        }.sorted()
    }

    package func writeCheckpoint(_ state: TrainingState) throws {
        try FaultInjection.check("checkpoint", rank: 0)
        try directory.writeVector(state.parameters, to: checkpointName(state.step))
        if let velocity = state.velocity { try directory.writeVector(velocity, to: velocityName(state.step)) }
    }

    /// Starts train.csv, or — when resuming at `step` — keeps only the rows before it (the row at
    /// `step` and later ones are recomputed identically by the resumed run).
    package func startLog(resumingAt step: Int?) throws {
        try Self.startLog(directory.file("train.csv"), header: Self.csvHeader, resumingAt: step)
    }

    /// A per-step CSV log (first column the step) started anew with `header`, or — resuming at
    /// `step` — cut to its rows before it: train.csv, and track.csv of `--track-top`.
    package static func startLog(_ path: String, header: String, resumingAt step: Int?) throws {
        var lines = [header]
        if let step, let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n").dropFirst() {
                if let first = line.split(separator: ",").first, let s = Int(first), s < step { lines.append(String(line)) }
            }
        }
        try writeAtomically(Data((lines.joined(separator: "\n") + "\n").utf8), to: path)
    }

    /// Appends one row (train.csv is a growing log; each row is written whole and flushed).
    package func append(_ record: TrainingRecord) throws {
        func text(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
        let held = record.heldOut
        let fields = ["\(record.step)", text(record.loss), text(record.accuracy), text(record.gradientNorm),
                      text(held?.loss), text(held?.accuracy), text(held?.gradientNorm),
                      text(record.learningRate), String(format: "%.3f", record.seconds)]
        let line = fields.joined(separator: ",") + "\n"
        // Rank 0 alone writes: a failure here is not a shared verdict, and ends the job through
        // MPI_Abort with this message (the other ranks are in the next step's allreduce).
        try FaultInjection.check("train-log", rank: 0)
        try Self.appendRow(line, to: directory.file("train.csv"))
    }

    /// Appends one whole line to a per-step CSV log (train.csv, track.csv).
    package static func appendRow(_ line: String, to path: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw OutputGuard.cause(of: FileWriteError(path: path, reason: "cannot open it to append a row (\(String(cString: strerror(errno))))"), writing: path)
        }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(line.utf8))
        } catch {
            throw OutputGuard.cause(of: FileWriteError(path: path, reason: "appending a row failed: \((error as NSError).localizedDescription)"), writing: path)
        }
    }
}
