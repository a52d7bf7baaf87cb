import Configuration
import Foundation
import Testing

/// One table of configuration keys (`ConfigurationKey.all`) drives TOML parsing, overrides and the
/// resolved config.toml; the flags are declared in the CLI. These tests fail when a key and its
/// flag, its help text or its documentation drift apart.
@Suite struct ConfigurationKeysAgree {
    /// (flag, abstract) of every option of `command`, from the parser's own JSON description.
    static func options(_ command: String) throws -> [(flag: String, abstract: String)] {
        let text = try MPITestSupport.execute([MPITestSupport.landscape, "--experimental-dump-help"], timeout: 30).stdout
        let root = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let commands = ((root?["command"] as? [String: Any])?["subcommands"] as? [[String: Any]]) ?? []
        let arguments = commands.first { $0["commandName"] as? String == command }?["arguments"] as? [[String: Any]] ?? []
        return arguments.compactMap { argument in
            guard let preferred = argument["preferredName"] as? [String: Any], preferred["kind"] as? String == "long",
                  let name = preferred["name"] as? String else { return nil }
            return ("--" + name, argument["abstract"] as? String ?? "")
        }
    }

    @Test(arguments: ["train", "spectrum", "evaluate", "plan", "top", "density", "trace", "interpolate", "path", "critical"])
    func everyKeyHasItsFlagInTheHelp(command: String) throws {
        let options = try Self.options(command)
        #expect(!options.isEmpty, "no options found for \(command)")
        // The run tables' keys are on every command; [top], [density], [trace] on their own only.
        // interpolate: no [hessian] flags (its --grid is the plane's grid), and top.k for its curvature;
        // path, critical: the run keys and their own table (their curvature takes [hessian] from --config);
        // spectrum: the run keys and [eig].
        let keys = ConfigurationKey.all.filter {
            switch command {
            case "interpolate": ($0.command == nil && !$0.name.hasPrefix("hessian.")) || $0.name == "top.k" || $0.command == "interpolate"
            case "path", "critical": ($0.command == nil && !$0.name.hasPrefix("hessian.")) || $0.command == command
            case "spectrum": $0.command == nil || $0.command == "eig"
            default: $0.command == nil || $0.command == command
            }
        }
        for key in keys {
            let option = options.first { $0.flag == key.flag }
            #expect(option?.abstract.hasSuffix("[\(key.name)]") == true, "\(command): \(key.flag) should exist and say [\(key.name)]")
        }
        // And no flag claims a key the table does not have, or another key's flag.
        for option in options {
            guard option.abstract.hasSuffix("]"), let open = option.abstract.lastIndex(of: "[") else { continue }
            let claimed = String(option.abstract[option.abstract.index(after: open)...].dropLast())
            guard let key = keys.first(where: { $0.name == claimed }) else {
                Issue.record("\(command) \(option.flag) names a key the table does not give this command: [\(claimed)]")
                continue
            }
            #expect(key.flag == option.flag, "\(command): [\(claimed)] is \(key.flag) in the table but \(option.flag) in the parser")
        }
    }

    @Test func everyKeyIsDocumentedWithItsFlag() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/training.md"), encoding: .utf8)
        for key in ConfigurationKey.all {
            let row = doc.split(separator: "\n").first { $0.hasPrefix("|") && $0.contains("`\(key.name)`") }
            #expect(row?.contains("`\(key.flag)`") == true, "docs/training.md: no table row with `\(key.name)` and `\(key.flag)`")
        }
    }
}
