import Foundation
import Testing

/// docs/architecture.md's module table against Package.swift and against the sources' imports:
/// every module's listed dependencies are exactly its declared ones, and every `import` of a
/// package module (or of a C shim) in a module's sources is a declared dependency — the arrows
/// point one way and the page says which.
@Suite struct ArchitectureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// name → dependencies, from `.target(name:…, dependencies: [...])` and the like in Package.swift.
    static func declared() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        var result: [String: Set<String>] = [:]
        let pattern = try NSRegularExpression(pattern: #"\.(target|executableTarget|systemLibrary)\(name: "([^"]+)"(.*?)\)(,\s*\n|\s*\n\s*\])"#,
                                              options: [.dotMatchesLineSeparators])
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let name = String(text[Range(match.range(at: 2), in: text)!])
            let rest = String(text[Range(match.range(at: 3), in: text)!])
            var dependencies = Set<String>()
            if let open = rest.range(of: "dependencies: [") {
                var depth = 1, index = open.upperBound, body = ""
                while index < rest.endIndex, depth > 0 {
                    let c = rest[index]
                    if c == "[" { depth += 1 } else if c == "]" { depth -= 1 }
                    if depth > 0 { body.append(c) }
                    index = rest.index(after: index)
                }
                // Products by their product name; then the plain names of what is left.
                let products = try NSRegularExpression(pattern: #"\.product\(name: "([^"]+)"[^)]*\)"#)
                for m in products.matches(in: body, range: NSRange(body.startIndex..., in: body)) {
                    dependencies.insert(String(body[Range(m.range(at: 1), in: body)!]))
                }
                let plain = products.stringByReplacingMatches(in: body, range: NSRange(body.startIndex..., in: body), withTemplate: "")
                for m in try NSRegularExpression(pattern: #""([A-Za-z-]+)""#).matches(in: plain, range: NSRange(plain.startIndex..., in: plain)) {
                    dependencies.insert(String(plain[Range(m.range(at: 1), in: plain)!]))
                }
            }
            result[name] = dependencies
        }
        return result
    }

    /// module → dependencies, from the table in docs/architecture.md.
    static func documented() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        var result: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            let name = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let dependencies = cells[1] == "—" ? [] : cells[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            result[name] = Set(dependencies)
        }
        return result
    }

    @Test func theModuleTableMatchesPackageSwift() throws {
        let declared = try Self.declared().filter { !$0.key.hasSuffix("Tests") }
        let documented = try Self.documented()
        #expect(declared.count >= 20, "Package.swift parsed to \(declared.keys.sorted())")
        #expect(Set(declared.keys) == Set(documented.keys),
                "modules only in Package.swift: \(Set(declared.keys).subtracting(documented.keys).sorted()); only in the doc: \(Set(documented.keys).subtracting(declared.keys).sorted())")
        for (name, dependencies) in declared {
            #expect(documented[name] == dependencies,
                    "\(name): Package.swift \(dependencies.sorted()) vs docs/architecture.md \(documented[name]?.sorted() ?? [])")
        }
    }

    @Test func importsAreDeclaredDependencies() throws {
        let declared = try Self.declared()
        let modules = Set(declared.keys)
        for (name, dependencies) in declared where !name.hasSuffix("Tests") {
            let directory = name == "collective-checks" ? "Tests/CollectiveChecks" : "Sources/\(name)"
            // Every source file, in sub-folders too (a module's command families).
            let files = (FileManager.default.enumerator(atPath: Self.root.appendingPathComponent(directory).path)?.allObjects as? [String]) ?? []
            for file in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: Self.root.appendingPathComponent(directory).appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") where line.hasPrefix("import ") || line.hasPrefix("@testable import ") {
                    let imported = String(line.split(separator: " ").last!)
                    guard modules.contains(imported) || imported == "TOMLKit" || imported == "ArgumentParser" else { continue }
                    #expect(dependencies.contains(imported), "\(directory)/\(file) imports \(imported), which \(name) does not declare")
                }
            }
        }
    }

    /// No module holds more than a quarter of the package's source lines: a module that grows past
    /// it does more than one thing (the jobs were 37 % of the source in one module before the job
    /// layer and the command families became modules of their own).
    @Test func noModuleHoldsMoreThanAQuarterOfTheSource() throws {
        let sources = Self.root.appendingPathComponent("Sources")
        var lines: [String: Int] = [:]
        for module in try FileManager.default.contentsOfDirectory(atPath: sources.path) {
            let files = (FileManager.default.enumerator(atPath: sources.appendingPathComponent(module).path)?.allObjects as? [String]) ?? []
            for file in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: sources.appendingPathComponent(module).appendingPathComponent(file), encoding: .utf8)
                lines[module, default: 0] += text.split(separator: "\n", omittingEmptySubsequences: false).count
            }
        }
        let total = lines.values.reduce(0, +)
        #expect(total > 10_000, "counted \(total) lines in \(lines.keys.sorted())")
        for (module, count) in lines {
            #expect(4 * count <= total, "\(module) holds \(count) of \(total) source lines (more than a quarter)")
        }
    }

    /// The arrows the design insists on, spelled out: serial math links no MPI or ScaLAPACK, data
    /// and models do not know each other, the core knows no command line.
    @Test func forbiddenArrows() throws {
        let declared = try Self.declared()
        for serial in ["Networks", "Samples", "SeededRandom", "Support", "NPY", "Reporting"] {
            #expect(declared[serial]?.isDisjoint(with: ["Cluster", "CMPI", "CScaLAPACK", "CELPA", "DistributedLinearAlgebra"]) == true, "\(serial) must not depend on MPI or ScaLAPACK")
        }
        #expect(declared["Datasets"]?.contains("Networks") == false && declared["Networks"]?.contains("Datasets") == false)
        for (name, dependencies) in declared where name != "landscape" {
            #expect(!dependencies.contains("ArgumentParser"), "\(name) must not know the command line")
        }
    }
}
