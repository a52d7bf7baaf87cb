import Foundation
import NPY
import Testing

/// Outputs on a full disk (a small tmpfs): the job fails, and no file under a final name is
/// truncated — every NPY there has exactly the size its header promises — and no temporary
/// (`.partial`) is left behind.
extension MPIJobs {
@Suite struct DiskFull {
    static let cases: [(name: String, size: String, args: [String])] = [
        ("train checkpoints", "400k", ["train", "--samples", "50", "--classes", "3", "--dimension", "20", "--layers", "300",
                                       "--steps", "40", "--checkpoint-every", "2"]),
        ("spectrum --save-hessian", "300k", ["spectrum", "--at", "init", "--samples", "50", "--classes", "3", "--dimension", "20",
                                             "--layers", "10", "--save-hessian"]),
        ("eig --vectors all", "600k", ["eig", "--test-matrix", "householder:400", "--vectors", "all"]),
    ]

    @Test(arguments: cases.indices)
    func nothingTruncatedUnderAFinalName(index: Int) throws {
        let (name, size, args) = Self.cases[index]
        let directory = try MPITestSupport.temporaryDirectory("full")
        defer { try? FileManager.default.removeItem(at: directory) }
        let mount = try MPITestSupport.execute(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", directory.path], timeout: 30)
        try #require(mount.status == 0, "cannot mount a tmpfs (needs root): \(mount.stderr)")
        defer { _ = try? MPITestSupport.execute(["umount", directory.path], timeout: 30) }
        let out = directory.appendingPathComponent("out").path
        let run = try MPITestSupport.run(np: 2, args + ["--out", out, "--quiet"], timeout: 120)
        #expect(run.status != 0 && run.status != -1, "\(name): exit \(run.status) on a full disk")
        #expect(run.stderr.contains("cannot write"), "\(name): \(run.stderr)")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        #expect(!files.contains { $0.hasSuffix(".partial") }, "\(name): temporaries left: \(files)")
        for file in files where file.hasSuffix(".npy") {
            let path = out + "/" + file
            let header = try NPYHeader.read(contentsOf: path)
            let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
            #expect(bytes == header.dataOffset + (header.elementCount ?? 0) * header.dataType.itemSize,
                    "\(name): \(file) is \(bytes) bytes, its header promises \(header.dataOffset + (header.elementCount ?? 0) * header.dataType.itemSize)")
        }
    }
}
}
