import Foundation
import Testing

/// Every shell script users run — launch/ (mpirun, install-deps, slurm/*) and bench/*.sh — passes
/// `shellcheck` (Debian's package, installed when missing) at its default severity.
@Suite struct ShellcheckTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Scripts under launch/ (any file starting with a shell `#!`), and bench/*.sh.
    static func scripts() throws -> [String] {
        let fileManager = FileManager.default
        var found: [String] = []
        let launch = repository.appendingPathComponent("launch")
        for case let relative as String in fileManager.enumerator(atPath: launch.path) ?? NSEnumerator() {
            let path = launch.appendingPathComponent(relative).path
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let head = fileManager.contents(atPath: path)?.prefix(64),
                  let line = String(data: head, encoding: .utf8)?.split(separator: "\n").first,
                  line.hasPrefix("#!"), line.hasSuffix("sh") || line.hasSuffix("bash")
            else { continue }
            found.append(path)
        }
        let bench = repository.appendingPathComponent("bench")
        for name in (try? fileManager.contentsOfDirectory(atPath: bench.path)) ?? [] where name.hasSuffix(".sh") {
            found.append(bench.appendingPathComponent(name).path)
        }
        return found.sorted()
    }

    /// `shellcheck` on PATH, installing Debian's package when it is missing.
    static func shellcheck() throws -> String {
        let candidates = ["/usr/bin/shellcheck", "/usr/local/bin/shellcheck"]
        if let path = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) { return path }
        let sudo = getuid() == 0 ? [] : ["sudo"]
        for arguments in [["apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-qq"],
                          ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "shellcheck"]] {
            let run = try MPIJobs.SlurmTests.shell(sudo + arguments, timeout: 600)
            try #require(run.status == 0, "could not install shellcheck (\(arguments.joined(separator: " "))): \(run.stderr)")
        }
        let path = try #require(candidates.first(where: FileManager.default.isExecutableFile(atPath:)), "shellcheck installed but not found")
        return path
    }

    @Test func passShellcheck() throws {
        let scripts = try Self.scripts()
        let names = scripts.map { $0.replacingOccurrences(of: Self.repository.path + "/", with: "") }
        for expected in ["launch/mpirun", "launch/install-deps", "launch/slurm/local-cluster", "launch/slurm/spectrum.sbatch",
                         "launch/slurm/sweep.sbatch", "launch/slurm/submit-sweep-array", "launch/test-hosts", "launch/test-hosts-agent"] {
            #expect(names.contains(expected), "\(expected) not found among \(names)")
        }
        let run = try MPIJobs.SlurmTests.shell([try Self.shellcheck()] + scripts, in: Self.repository, timeout: 120)
        #expect(run.status == 0, "shellcheck \(names.joined(separator: " ")):\n\(run.stdout)\(run.stderr)")
    }
}
