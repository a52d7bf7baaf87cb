import Cluster
@testable import Datasets
import Foundation
import NPY
import SeededRandom
import Testing

/// The file loaders' checks and row readers, on tiny files written in the real formats. (Loading
/// through MPI, sharding across ranks and standardisation are tested under mpirun in MPITests.)
@Suite struct LoaderTests {
    func expectInputError(_ fragment: String, _ body: () throws -> Void) {
        do { try body(); Issue.record("expected an error containing '\(fragment)'") } catch let error as InputError {
            #expect(error.message.contains(fragment), "\(error.message)")
        } catch { Issue.record("unexpected error \(error)") }
    }

    @Test func shardsPartitionTheSamples() throws {
        for n in [1, 2, 5, 17, 100] { for p in 1...min(n, 6) {
            let shards = try (0..<p).map { try Shard(globalCount: n, rank: $0, ranks: p) }
            #expect(shards.first!.start == 0 && shards.last!.end == n)
            for r in 1..<p { #expect(shards[r].start == shards[r - 1].end) }
            #expect(shards.map(\.count).max()! - shards.map(\.count).min()! <= 1)
        } }
        expectInputError("3 ranks for 2 samples") { _ = try Shard(globalCount: 2, rank: 0, ranks: 3) }
    }

    @Test func subsetsAreSeededPermutations() throws {
        let random = SplitMix64(seed: 5)
        #expect(try selectSamples(3, of: 10, subset: .first, random: random, source: "f") == [0, 1, 2])
        let a = try selectSamples(6, of: 10, subset: .random, random: random, source: "f")
        #expect(a == (try selectSamples(6, of: 10, subset: .random, random: random, source: "f")))
        #expect(Set(a).count == 6 && a.allSatisfy { (0..<10).contains($0) } && a != [0, 1, 2, 3, 4, 5])
        let split = try selectSamples(6, heldOut: 3, of: 10, subset: .random, random: random, source: "f")
        #expect(split.count == 9 && Set(split).count == 9)
        #expect(try selectSamples(nil, heldOut: 3, of: 10, subset: .first, random: random, source: "f") == Array(0..<10))
        expectInputError("with data.held-out = 5") { _ = try selectSamples(6, heldOut: 5, of: 10, subset: .first, random: random, source: "f") }
        expectInputError("holds only 10; lower data.samples") { _ = try selectSamples(11, of: 10, subset: .first, random: random, source: "f") }
    }

    @Test func idxPlainAndGzippedAreRead() throws {
        let dir = try DataFiles.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = dir.appendingPathComponent("train-images-idx3-ubyte"), labels = dir.appendingPathComponent("train-labels-idx1-ubyte")
        try DataFiles.idxImages(count: 5, rows: 2, columns: 3).write(to: images)
        try DataFiles.idxLabels([3, 1, 4, 1, 5]).write(to: labels)
        try DataFiles.gzip(images)
        try DataFiles.gzip(labels)
        for suffix in ["", ".gz"] {
            let data = IDXData(images: images.path + suffix, labels: labels.path + suffix, samples: nil, subset: .first, standardize: false)
            let header = try data.validate()
            #expect(header.count == 5 && header.rows == 2 && header.columns == 3)
            let source = try ByteSource(path: images.path + suffix)
            #expect(source.compressed == (suffix == ".gz"))
            let pixel: [UInt8] = try source.read(16 + 6 * 2 + 4, 1)   // image 2, row 1, column 1
            #expect(pixel == [UInt8(18)])
        }
    }

    @Test func idxDefectsAreRefused() throws {
        let dir = try DataFiles.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = dir.appendingPathComponent("i"), labels = dir.appendingPathComponent("l")
        let good = DataFiles.idxImages(count: 4, rows: 2, columns: 2)
        func check(_ imageData: Data, _ labelData: Data, _ fragment: String) throws {
            try imageData.write(to: images)
            try labelData.write(to: labels)
            expectInputError(fragment) { _ = try IDXData(images: images.path, labels: labels.path, samples: nil, subset: .first, standardize: false).validate() }
        }
        try check(DataFiles.idxImages(count: 4, rows: 2, columns: 2, magic: [0, 0, 8, 1]), DataFiles.idxLabels([0, 1, 2, 3]), "not an IDX image file")
        try check(DataFiles.idxImages(count: 4, rows: 2, columns: 2, truncate: 3), DataFiles.idxLabels([0, 1, 2, 3]), "truncated")
        try check(good, DataFiles.idxLabels([0, 1, 2, 3], magic: [0, 0, 8, 3]), "not an IDX label file")
        try check(good, DataFiles.idxLabels([0, 1, 2]), "holds 3 labels but")
        try check(good, DataFiles.idxLabels([0, 1, 2], claimedCount: 4), "truncated")
        try check(good, DataFiles.idxLabels([0, 1, 12, 3]), "label 12 of sample 2 is out of range")
        try check(Data([0x1f, 0x8b, 1, 2, 3]), DataFiles.idxLabels([0]), "not a valid gzip file")
        // A header whose counts are all 2³² − 1: the size is computed in checked arithmetic.
        var huge = [UInt8](DataFiles.idxImages(count: 4, rows: 2, columns: 2))
        for i in 4..<16 { huge[i] = 0xFF }
        try check(Data(huge), DataFiles.idxLabels([0, 1, 2, 3]), "the header is corrupt or the file truncated")
        // Headers written little-endian by a converter: the magic reversed, or only the counts swapped.
        var reversed = [UInt8](good)
        reversed[0..<4] = [3, 8, 0, 0]
        try check(Data(reversed), DataFiles.idxLabels([0, 1, 2, 3]), "the header was written little-endian, but IDX is big-endian")
        try check(good, Data([1, 8, 0, 0] + DataFiles.bigEndian(4) + [0, 1, 2, 3]), "the header was written little-endian")
        var swapped = [UInt8](DataFiles.idxImages(count: 4, rows: 2, columns: 3))
        for field in 1...3 { swapped[(4 * field)..<(4 * field + 4)].reverse() }
        try check(Data(swapped), DataFiles.idxLabels([0, 1, 2, 3]), "its counts read little-endian (4 × 2 × 3) fit the file exactly")
        try check(good, Data([0, 0, 8, 1] + DataFiles.bigEndian(4).reversed() + [0, 1, 2, 3]), "its count read little-endian is 4")
        try good.write(to: images)
        try FileManager.default.removeItem(at: labels)
        expectInputError("no such file") { _ = try IDXData(images: images.path, labels: labels.path, samples: nil, subset: .first, standardize: false).validate() }
    }

    @Test func cifarBatchesAreValidated() throws {
        let dir = try DataFiles.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try DataFiles.cifar(labels: [1, 9, 0]).write(to: dir.appendingPathComponent("data_batch_1.bin"))
        try DataFiles.cifar(labels: [2, 2]).write(to: dir.appendingPathComponent("data_batch_2.bin"))
        let inventory = try CIFAR10Data(path: dir.path, samples: nil, subset: .first, standardize: false).validate()
        #expect(inventory.counts == [3, 2])
        #expect(inventory.files.map { ($0 as NSString).lastPathComponent } == ["data_batch_1.bin", "data_batch_2.bin"])
        let truncated = dir.appendingPathComponent("short.bin")
        try DataFiles.cifar(labels: [1, 2]).dropLast(5).write(to: truncated)
        expectInputError("not a whole number of 3073-byte records") { _ = try CIFAR10Data(path: truncated.path, samples: nil, subset: .first, standardize: false).validate() }
        let badLabel = dir.appendingPathComponent("bad.bin")
        try DataFiles.cifar(labels: [1, 10]).write(to: badLabel)
        expectInputError("label 10 of record 1") { _ = try CIFAR10Data(path: badLabel.path, samples: nil, subset: .first, standardize: false).validate() }
        let empty = try DataFiles.directory()
        defer { try? FileManager.default.removeItem(at: empty) }
        expectInputError("no data_batch_") { _ = try CIFAR10Data(path: empty.path, samples: nil, subset: .first, standardize: false).validate() }
    }

    @Test(arguments: ["<f8", ">f8", "<f4", ">f4"], [false, true])
    func npyRowsAreReadInAnyDtypeAndOrder(descr: String, fortranOrder: Bool) throws {
        let dir = try DataFiles.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let values = (0..<15).map { Double($0) * 0.5 }   // 5 × 3
        let file = dir.appendingPathComponent("X.npy")
        try DataFiles.npy(values, shape: [5, 3], descr: descr, fortranOrder: fortranOrder).write(to: file)
        let header = try NPYHeader.read(contentsOf: file.path)
        let rows = try NPYData.readRows(file.path, header, rows: [1, 2, 4])
        #expect(rows == [1.5, 2, 2.5, 3, 3.5, 4, 6, 6.5, 7])
    }

    @Test func npyDefectsAreRefused() throws {
        let dir = try DataFiles.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let x = dir.appendingPathComponent("X.npy"), y = dir.appendingPathComponent("y.npy")
        func check(_ xData: Data, _ yData: Data, _ fragment: String) throws {
            try xData.write(to: x)
            try yData.write(to: y)
            expectInputError(fragment) { _ = try NPYData(x: x.path, y: y.path, samples: nil, subset: .first, standardize: false).validate() }
        }
        let goodX = try DataFiles.npy((0..<8).map(Double.init), shape: [4, 2])
        try check(goodX, try DataFiles.npy([0, 1, 2], shape: [3], descr: "<i8"), "data.x holds 4 samples but data.y holds 3")
        try check(goodX, try DataFiles.npy([0, 1, 2.5, 1], shape: [4]), "label 2.5 of sample 2")
        try check(goodX, try DataFiles.npy([0, -1, 2, 1], shape: [4], descr: "<i8"), "label -1.0 of sample 1")
        try check(try DataFiles.npy((0..<8).map(Double.init), shape: [8]), try DataFiles.npy([0, 1, 0, 1, 0, 1, 0, 1], shape: [8], descr: "<i8"), "it must be N × d or N × C × H × W")
        try check(goodX.dropLast(8), try DataFiles.npy([0, 1, 0, 1], shape: [4], descr: "<i8"), "truncated")
        // Images N × C × H × W are rows of C·H·W in C order; a Fortran-order 4-D array is not.
        try check(try DataFiles.npy((0..<8).map(Double.init), shape: [4, 1, 1, 2], fortranOrder: true),
                  try DataFiles.npy([0, 1, 0, 1], shape: [4], descr: "<i8"), "4-D array in Fortran order")
        try goodX.write(to: x)
        try DataFiles.npy([0, 2, 0, 1], shape: [4], descr: "<i8").write(to: y)
        #expect(try NPYData(x: x.path, y: y.path, samples: nil, subset: .first, standardize: false).validate().classes == 3)
    }
}
