/// A pre-check of TOML text before it reaches TOMLKit's parser (toml++), which *asserts* —
/// aborting the process (exit 134, release builds included) — on some malformed keys, e.g. a
/// table header `[,hessian]` or a line starting with `,`. Found by the corrupted-configuration
/// property test. This scanner walks the text with just enough state (strings, multi-line
/// strings, the arrays and inline tables open, comments) to find every place where a key, a
/// `[table]` header or a value begins, and refuses a key that does not start like a TOML key (a
/// bare-key character A–Z a–z 0–9 _ - or a quote), a missing value (`x =`, `[1,,2]`, `[30,}30]`)
/// and an unbalanced bracket. Everything else is left to the real parser.
enum TOMLKeyCheck {
    /// nil when every key position looks like a key; else the 1-based line and what is wrong.
    static func firstProblem(in text: String) -> (line: Int, message: String)? {
        let bytes = Array(text.utf8)
        var i = 0, line = 1
        var atKey = true         // at the start of a key (line start outside values, or after '{' / ',' in an inline table)
        func isBare(_ c: UInt8) -> Bool {
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D
        }
        func skipString(_ quote: UInt8) -> Bool {   // at an opening quote; false if unterminated
            let triple = i + 2 < bytes.count && bytes[i + 1] == quote && bytes[i + 2] == quote
            i += triple ? 3 : 1
            while i < bytes.count {
                let c = bytes[i]
                if c == 0x0A { if !triple { return false }; line += 1 }
                if c == 0x5C && quote == 0x22 { i += 2; continue }   // escape in a basic string
                if c == quote {
                    if !triple { i += 1; return true }
                    if i + 2 < bytes.count && bytes[i + 1] == quote && bytes[i + 2] == quote { i += 3; return true }
                }
                i += 1
            }
            return false
        }
        func checkKey(header: Bool) -> String? {    // at the first non-blank character of a key
            var j = i
            if header {
                while j < bytes.count && bytes[j] == 0x5B { j += 1 }   // [ or [[
                while j < bytes.count && (bytes[j] == 0x20 || bytes[j] == 0x09) { j += 1 }
            }
            guard j < bytes.count else { return header ? "a table header without a name" : nil }
            let c = bytes[j]
            if isBare(c) || c == 0x22 || c == 0x27 { return nil }
            let shown = c < 0x20 || c > 0x7E ? "byte 0x\(String(c, radix: 16))" : "'\(Character(Unicode.Scalar(c)))'"
            return header ? "a table name cannot start with \(shown)" : "a key cannot start with \(shown)"
        }
        var containers: [UInt8] = []   // '[' (array) or '{' (inline table), innermost last
        var expectValue = false         // after '=' or at an array element
        while i < bytes.count {
            let c = bytes[i]
            let inArray = containers.last == 0x5B
            if c == 0x0A {
                if expectValue && !inArray { return (line, "a value is missing after '='") }
                line += 1; i += 1
                if containers.isEmpty { atKey = true }
                continue
            }
            if c == 0x20 || c == 0x09 || c == 0x0D { i += 1; continue }
            if c == 0x23 {   // comment
                if expectValue && !inArray { return (line, "a value is missing after '='") }
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }
                continue
            }
            if atKey {
                atKey = false
                if containers.isEmpty && c == 0x5B {
                    if let problem = checkKey(header: true) { return (line, problem) }
                    while i < bytes.count && bytes[i] != 0x0A && bytes[i] != 0x23 {   // the header's own quotes
                        if bytes[i] == 0x22 || bytes[i] == 0x27 { if !skipString(bytes[i]) { return nil } } else { i += 1 }
                    }
                    continue
                }
                if c == 0x7D && containers.last == 0x7B { containers.removeLast(); i += 1; continue }   // '{ }'
                if let problem = checkKey(header: false) { return (line, problem) }
            }
            if expectValue {
                expectValue = false
                if c == 0x2C || c == 0x7D || (c == 0x5D && !inArray) {
                    return (line, "a value is missing before '\(Character(Unicode.Scalar(c)))'")
                }
            }
            switch c {
            case 0x22, 0x27: if !skipString(c) { return nil }; continue   // the parser reports it
            case 0x3D: expectValue = true
            case 0x5B: containers.append(c); expectValue = true
            case 0x7B: containers.append(c); i += 1; atKey = true; continue
            case 0x5D, 0x7D:
                guard let open = containers.popLast(), open == (c == 0x5D ? 0x5B : 0x7B) else {
                    return (line, "'\(Character(Unicode.Scalar(c)))' closes nothing that is open")
                }
            case 0x2C:
                if containers.last == 0x7B { i += 1; atKey = true; continue }
                if containers.last == 0x5B { expectValue = true } else { return (line, "',' outside an array or inline table") }
            default: break
            }
            i += 1
        }
        return nil
    }
}
