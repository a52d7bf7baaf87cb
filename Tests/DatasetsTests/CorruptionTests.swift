import Cluster
@testable import Datasets
import Foundation
import NPY
import SeededRandom
import Testing

/// Randomly corrupted versions of valid NPY, IDX and CIFAR-10 files go through the validation
/// layer: each is either accepted — and then consistent with its bytes — or refused with an
/// `InputError`; never a trap (a trap would end this test process) and never another error.
@Suite struct CorruptionTests {
    /// Seeded mutations: flipped bytes, a truncation, an inserted run, or a 32-bit field set to
    /// an extreme (0, 2³² − 1, 2³¹) — the corruptions that break size arithmetic.
    static func corrupt(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var b = bytes
        switch random.next() % 4 {
        case 0:
            for _ in 0..<(1 + Int(random.next() % 4)) where !b.isEmpty { b[Int(random.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: random.next()) }
        case 1:
            b = Array(b.prefix(Int(random.next() % UInt64(b.count + 1))))
        case 2:
            let at = Int(random.next() % UInt64(b.count + 1))
            b.insert(contentsOf: (0..<(1 + Int(random.next() % 16))).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
        default:
            let extremes: [[UInt8]] = [[0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], [0x80, 0, 0, 0]]
            let at = 4 * Int(random.next() % UInt64(max(1, min(b.count, 64) / 4)))
            if at + 4 <= b.count { b.replaceSubrange(at..<(at + 4), with: extremes[Int(random.next() % 3)]) }
        }
        return b
    }

    func expectAcceptedOrRefused(_ what: String, _ body: () throws -> Void) {
        do { try body() } catch is InputError {
        } catch let error as NPYError {
            _ = error   // the NPY layer's own refusal, turned into InputError by its callers
        } catch {
            Issue.record("\(what): neither accepted nor refused as bad input: \(error)")
        }
    }

    @Test func corruptedNPYFiles() throws {
        let dir = try DataFiles.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let x = dir.appendingPathComponent("X.npy"), y = dir.appendingPathComponent("y.npy")
        let goodX = [UInt8](try DataFiles.npy((0..<12).map(Double.init), shape: [4, 3]))
        let goodY = [UInt8](try DataFiles.npy([0, 1, 2, 1], shape: [4], descr: "<i8"))
        var random = SplitMix64(seed: 2026)
        for trial in 0..<300 {
            let bx = trial % 2 == 0 ? Self.corrupt(goodX, &random) : goodX
            let by = trial % 2 == 1 ? Self.corrupt(goodY, &random) : goodY
            try Data(bx).write(to: x)
            try Data(by).write(to: y)
            expectAcceptedOrRefused("npy trial \(trial)") {
                let header = try NPYHeader.parse(bx)
                // Accepted: the header's promise is within what the bytes can hold or is caught below.
                _ = header.elementCount
                let description = try NPYData(x: x.path, y: y.path, samples: nil, subset: .first, standardize: false).validate()
                #expect(description.x.shape.count == 2 && description.x.shape.allSatisfy { $0 >= 1 }, "npy trial \(trial)")
                let rows = try NPYData.readRows(x.path, description.x, rows: Array(0..<description.x.shape[0]))
                #expect(rows.count == description.x.shape[0] * description.x.shape[1], "npy trial \(trial)")
            }
        }
    }

    @Test func corruptedIDXFiles() throws {
        let dir = try DataFiles.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = dir.appendingPathComponent("i"), labels = dir.appendingPathComponent("l")
        let goodImages = [UInt8](DataFiles.idxImages(count: 4, rows: 2, columns: 3))
        let goodLabels = [UInt8](DataFiles.idxLabels([0, 1, 2, 3]))
        var random = SplitMix64(seed: 77)
        for trial in 0..<300 {
            let bi = trial % 2 == 0 ? Self.corrupt(goodImages, &random) : goodImages
            let bl = trial % 2 == 1 ? Self.corrupt(goodLabels, &random) : goodLabels
            try Data(bi).write(to: images)
            try Data(bl).write(to: labels)
            expectAcceptedOrRefused("idx trial \(trial)") {
                let header = try IDXData(images: images.path, labels: labels.path, samples: nil, subset: .first, standardize: false).validate()
                #expect(16 + header.count * header.rows * header.columns == bi.count, "idx trial \(trial): accepted a header its bytes do not match")
            }
        }
    }

    @Test func corruptedCIFARFiles() throws {
        let dir = try DataFiles.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("data_batch_1.bin")
        let good = [UInt8](DataFiles.cifar(labels: [1, 9, 0]))
        var random = SplitMix64(seed: 5)
        for trial in 0..<200 {
            let bytes = Self.corrupt(good, &random)
            try Data(bytes).write(to: file)
            expectAcceptedOrRefused("cifar trial \(trial)") {
                let inventory = try CIFAR10Data(path: file.path, samples: nil, subset: .first, standardize: false).validate()
                #expect(inventory.counts.reduce(0, +) * CIFAR10Data.recordSize == bytes.count, "cifar trial \(trial)")
            }
        }
    }
}
