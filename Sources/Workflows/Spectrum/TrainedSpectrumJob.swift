import Jobs
import Cluster
import Foundation

/// Sagun et al.'s Figure 1 as one job: train (as `landscape train` would, into DIR/train), then
/// the Hessian spectrum after training (DIR/final) and, optionally, at the initial point
/// (DIR/init), overlaid in DIR/spectra.svg. `landscape spectrum` without a point runs this; every
/// sweep point is one.
public struct TrainedSpectrumJob {
    /// The spectrum settings (solver, --ggn, vectors…); its `point` and `output` are set per phase.
    public var spectrum: SpectrumJob
    public var output: RunDirectory
    public var includeInitialization = true

    public init(spectrum: SpectrumJob, output: RunDirectory) {
        self.spectrum = spectrum
        self.output = output
    }

    public var trainDirectory: RunDirectory { output.subdirectory("train") }
    public var initialDirectory: RunDirectory { output.subdirectory("init") }
    public var finalDirectory: RunDirectory { output.subdirectory("final") }

    /// With `spectrum.resume`, every phase that finished is skipped (training with params.npy, a
    /// spectrum with summary.json), training continues from its last checkpoint, and a spectrum
    /// from its matrices checkpoint — the continuation of a run stopped by SIGTERM/SIGUSR1.
    public func run(on world: Communicator) throws {
        try world.agree { try output.validate() }
        let resume = spectrum.resume
        func finished(_ file: String) throws -> Bool {
            try world.agree { resume && FileManager.default.fileExists(atPath: file) }
        }
        if try !finished(trainDirectory.file("params.npy")) {
            var train = TrainJob(configuration: spectrum.configuration, output: trainDirectory)
            train.continuation = "repeat the command with --resume"
            train.quiet = spectrum.quiet
            train.announce = spectrum.announce
            train.resume = try world.agree { resume && !TrainRunFiles(directory: trainDirectory).checkpointSteps().isEmpty }
            try train.run(on: world)
        }
        if includeInitialization, try !finished(initialDirectory.file("summary.json")) {
            try phase(.initialization, initialDirectory).run(on: world)
        }
        if try !finished(finalDirectory.file("summary.json")) {
            try phase(.checkpoint(trainDirectory.file("params.npy")), finalDirectory).run(on: world)
        }
        if includeInitialization, world.isRoot {
            try SpectrumJob.writeComparison(initial: initialDirectory, final: finalDirectory, to: output,
                                            bulkTolerance: spectrum.configuration.eig.bulkTolerances.min() ?? 1e-4)
            if spectrum.announce { print("spectra before and after training: \(output.file("spectra.svg"))") }
        }
    }

    private func phase(_ point: SpectrumJob.Point, _ directory: RunDirectory) -> SpectrumJob {
        var job = spectrum
        job.point = point
        job.output = directory
        return job
    }
}
