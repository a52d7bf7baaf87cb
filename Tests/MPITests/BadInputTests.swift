import Foundation
import NPY
import Testing

/// Every bad input: exit code 2, one `error:` line (printed by rank 0 only) naming the problem,
/// and no output directory. Run with 2 ranks.
extension MPIJobs {
@Suite struct BadInput {
    enum Input: CustomStringConvertible {
        case file([UInt8])
        case none
        var description: String { if case .file(let b) = self { "file of \(b.count) bytes" } else { "no file" } }
    }

    static func npy(_ dict: String, payload: Int) -> Input {
        var text = dict
        text += String(repeating: " ", count: (64 - (10 + text.utf8.count + 1) % 64) % 64) + "\n"
        let n = text.utf8.count
        return .file([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xff), UInt8(n >> 8)] + Array(text.utf8)
                     + [UInt8](repeating: 0, count: payload))
    }

    static let cases: [(String, Input, [String], String)] = [
        ("missing file", .none, [], "no such file"),
        ("not NPY", .file(Array("hello, world, this is text".utf8)), [], "not an NPY file"),
        ("version 9", .file([0x93] + Array("NUMPY".utf8) + [9, 0, 4, 0] + Array("{}  ".utf8)), [], "format version 9"),
        ("int dtype", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (4, 4), }", payload: 128), [], "dtype int64"),
        ("complex dtype", npy("{'descr': '<c16', 'fortran_order': False, 'shape': (2, 2), }", payload: 64), [], "dtype complex128"),
        ("object dtype", npy("{'descr': '|O', 'fortran_order': False, 'shape': (2, 2), }", payload: 32), [], "dtype"),
        ("non-square", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", payload: 96), [], "square"),
        ("1-D", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (9,), }", payload: 72), [], "2-D"),
        ("truncated", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100, 100), }", payload: 800), [], "truncated"),
        ("absurd size", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3000000000, 3000000000), }", payload: 8), [], "absurdly large"),
        ("grid mismatch", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", payload: 32), ["--grid", "2x2"], "--grid 2x2 needs 4 ranks"),
        ("bad grid", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", payload: 32), ["--grid", "two"], "PrxPc"),
        ("block 0", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", payload: 32), ["--block", "0"], "--block must be ≥ 1"),
        ("bad vectors", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", payload: 32), ["--vectors", "some"], "--vectors 'some'"),
        ("pdsyevd regime", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", payload: 32), ["--vectors", "all", "--solver", "pdsyevd"], "unreliable"),
        ("elpa layout", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", payload: 32), ["--solver", "elpa"], "every process owns a block"),
        ("memory", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", payload: 32), ["--memory-per-rank", "1K"], "not enough memory"),
    ]

    @Test(arguments: cases.indices)
    func refusedWithExitCode2(index: Int) throws {
        let (name, input, extra, message) = Self.cases[index]
        let directory = try MPITestSupport.temporaryDirectory("bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("M.npy").path
        if case .file(let bytes) = input { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["eig", "--matrix", path, "--out", out] + extra)
        expectRefusal(run, name: name, message: message, out: out)
    }

    func expectRefusal(_ run: MPIRun, name: String, message: String, out: String) {
        #expect(run.status == 2, "\(name): exit \(run.status), stderr: \(run.stderr)")
        let errors = run.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1, "\(name): expected one error line, got \(run.stderr)")
        #expect(errors.first?.contains(message) == true, "\(name): \(errors)")
        #expect(!FileManager.default.fileExists(atPath: out), "\(name): output directory was created")
    }

    @Test func asymmetricMatrixIsRefusedWithoutSymmetrize() throws {
        let directory = try MPITestSupport.temporaryDirectory("asym")
        defer { try? FileManager.default.removeItem(at: directory) }
        let a = SymmetricTestMatrix(n: 20, seed: 1)
        var skewed = a.entries
        skewed[1] += 0.5
        let path = directory.appendingPathComponent("A.npy").path
        try a.write(to: path, entries: skewed)
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["eig", "--matrix", path, "--out", out])
        expectRefusal(run, name: "asymmetric", message: "not symmetric", out: out)
    }

    @Test func oversizeTestMatrixIsRefusedByTheMemoryPlan() throws {
        let directory = try MPITestSupport.temporaryDirectory("big")
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, ["eig", "--test-matrix", "householder:400000", "--out", out])
        expectRefusal(run, name: "oversize", message: "run on ≥", out: out)
    }

    @Test(arguments: ["/proc/landscape-out", "FILE/out"])
    func unwritableOutput(target: String) throws {
        let directory = try MPITestSupport.temporaryDirectory("unwritable")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("plain.txt").path
        FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let out = target.replacingOccurrences(of: "FILE", with: file)
        let run = try MPITestSupport.run(np: 2, ["eig", "--test-matrix", "householder:10", "--out", out])
        expectRefusal(run, name: "unwritable \(target)", message: "--out", out: out)
    }
}
}
