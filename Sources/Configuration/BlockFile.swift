import Cluster
import Foundation
import TOMLKit

/// A file of parameter groups for `spectrum --blocks FILE.toml` (docs/anatomy.md): one `[blocks]`
/// table, each key a group's name and its value the named parameter blocks it unites, e.g.
///
///     [blocks]
///     hidden = ["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias"]
///     weights = ["layer1.weight", "layer2.weight", "layer3.weight"]   # need not be contiguous in θ
///
/// Groups come in name order (TOMLKit's). Which names exist is the model's to say: checked where
/// the model is built (`BlockPartition.blocks(of:)`).
public enum BlockFile {
    public static func read(_ path: String) throws -> [(name: String, members: [String])] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw InputError(setting: "blocks", "'\(path)' cannot be read; give layers, weights-biases or a readable .toml block file")
        }
        let table = try RunConfiguration.parse(toml: text, source: path)
        guard let node = table["blocks"], let blocks = node.table, !blocks.isEmpty else {
            throw InputError(setting: "blocks", "'\(path)' has no [blocks] table of groups, e.g. [blocks] hidden = [\"layer1.weight\", \"layer1.bias\"]")
        }
        return try blocks.map { name, value in
            guard let list = value.array, !list.isEmpty else {
                throw InputError(setting: "blocks", "'\(path)': group '\(name)' must be a non-empty list of parameter block names")
            }
            let members = try list.map { element -> String in
                guard let member = element.string else {
                    throw InputError(setting: "blocks", "'\(path)': group '\(name)' must list parameter block names as strings")
                }
                return member
            }
            return (name, members)
        }
    }
}
