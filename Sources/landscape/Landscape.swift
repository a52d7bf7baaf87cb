import ArgumentParser
import Cluster
import Foundation
import Support

/// A subcommand that runs inside an MPI job. Parsing happens before MPI starts (so a typo costs
/// no MPI start-up and is reported once); `run(on:)` then runs under `MPIRuntime.run`'s contract:
/// bad input → exit 2 with one line on rank 0; any other failure → `MPI_Abort` of the whole job.
protocol MPICommand: NamingSettings {
    func run(on runtime: MPIRuntime) throws
}

/// A command whose errors name settings the way the user wrote them.
protocol NamingSettings: ParsableCommand {
    /// How this command shows a library setting (a config key or option name) in an error: the
    /// flag or key the user wrote; nil to show the setting's own name.
    func displayName(ofSetting setting: String) -> String?
}

extension NamingSettings {
    func displayName(ofSetting setting: String) -> String? { nil }

    /// `body` with library errors rephrased in this command's terms.
    func namingSettings<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as InputError {
            guard let setting = error.setting, let name = displayName(ofSetting: setting) else { throw error }
            throw error.naming(name)
        }
    }
}

@main
struct Landscape: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "landscape",
        abstract: "Exact Hessians of neural-network losses and their spectra on MPI clusters.",
        discussion: """
            Run under MPI, e.g. `mpirun -np 2 landscape eig --test-matrix householder:2000 --out results/eig`
            or through launch/mpirun. Every command that produces results writes a run directory (--out).
            """,
        version: landscapeVersion,
        subcommands: [Eig.self, Info.self, Train.self, Evaluate.self, Spectrum.self, Top.self, Density.self, Trace.self, Interpolate.self, Path.self, Critical.self, Study.self, Plan.self, DataCommand.self, Export.self, Compare.self, Sweep.self, Bench.self])

    static func main() {
        keepFreedMemoryForReuse()
        let command: ParsableCommand
        let isRankZero = Launcher.announcedRank == 0
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success {
                if isRankZero { print(fullMessage(for: error)) }
                Foundation.exit(0)
            }
            if isRankZero { standardError("error: \(message(for: error)) (see 'landscape help')") }
            Foundation.exit(2)
        }
        guard let job = command as? MPICommand else {
            // Commands that need no MPI (plan, help): run as ordinary commands, with the MPI
            // commands' contract for bad input — one line, exit 2 (an NPY file of strings given to
            // `plan` is bad input as it is to `train`).
            var plain = command
            do {
                if let naming = plain as? any NamingSettings { try naming.namingSettings { try plain.run() } } else { try plain.run() }
            } catch let error as InputError {
                standardError("error: \(error.message)")
                Foundation.exit(2)
            } catch {
                exit(withError: error)
            }
            Foundation.exit(0)
        }
        let runtime: MPIRuntime
        do { runtime = try MPIRuntime() } catch {
            standardError("error: MPI did not start: \(error)")
            Foundation.exit(1)
        }
        runtime.run { runtime in try job.namingSettings { try job.run(on: runtime) } }
    }
}

