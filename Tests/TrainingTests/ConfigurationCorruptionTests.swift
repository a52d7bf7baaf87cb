import Cluster
import Foundation
@testable import Configuration
import SeededRandom
import Testing

/// Randomly corrupted versions of a valid run configuration: each is either parsed and valid, or
/// refused with an `InputError` — never a trap, never accepted half-read.
@Suite struct ConfigurationCorruptionTests {
    /// The pre-check (TOMLKeyCheck) passes every shipped example and the design's sample, and
    /// refuses the inputs that crashed the parser.
    @Test func theExamplesPassThePreCheck() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let examples = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("examples").path).filter { $0.hasSuffix(".toml") }
        #expect(examples.count >= 5)
        for name in examples {
            let text = try String(contentsOf: root.appendingPathComponent("examples/\(name)"), encoding: .utf8)
            let problem = TOMLKeyCheck.firstProblem(in: text)
            #expect(problem == nil, "examples/\(name): line \(problem?.line ?? 0): \(problem?.message ?? "")")
        }
        #expect(TOMLKeyCheck.firstProblem(in: ConfigurationTests.design) == nil)
        #expect(TOMLKeyCheck.firstProblem(in: "a = { b = 1, c = [1, 2,\n 3], }\n\"x.y\" = '''\n[,\n'''\n") == nil)
        // The crashes found: each is now a line-numbered refusal.
        #expect(TOMLKeyCheck.firstProblem(in: "seed = 1\n[,hessian]\n")?.line == 2)
        #expect(TOMLKeyCheck.firstProblem(in: "[model]\nlayers = [30,}30]\n")?.line == 2)
        #expect(TOMLKeyCheck.firstProblem(in: "seed =\n") != nil)
    }

    @Test func corruptedConfigurations() {
        let valid = Array(ConfigurationTests.design.utf8)
        var random = SplitMix64(seed: 44)
        let alphabet = Array("[]=\"., \n#0123456789-+eEinfatrsu\u{0}{}'\\\t:_".utf8)
        for trial in 0..<400 {
            var bytes = valid
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                let configuration = try RunConfiguration(toml: text, source: "run.toml")
                // Accepted: then its checks either pass or refuse cleanly, and it renders and re-reads.
                do { try configuration.validate() } catch is InputError {}
                let again = try RunConfiguration(toml: configuration.toml, source: "resolved")
                #expect(again == configuration, "trial \(trial): the resolved configuration does not round-trip")
            } catch is InputError {
            } catch {
                Issue.record("trial \(trial): neither accepted nor refused as bad input: \(error)\n\(text)")
            }
        }
    }
}
