import Foundation
import KeywardenCore
import KeywardenCrypto

/// `run --env-file`: a dotenv file whose values are literal, a whole
/// `kw://SCOPE/NAME` reference, or text with `{{ kw://SCOPE/NAME }}` inside.
enum EnvFileTemplate {
    static func resolve(path: String, source: any ValueSource, destination: String) throws -> [(name: String, value: SecureBytes)] {
        let bytes = try InputFile.read(path)
        let entries: [DotenvEntry]
        do {
            entries = try DotenvParser.parse(bytes, file: path)
        } catch {
            throw KeywardenError(.invalidInput, "\(error.description); nothing was run")
        }
        var result: [(String, SecureBytes)] = []
        for entry in entries {
            let whole = Array("kw://".utf8)
            var value = entry.value
            if value.starts(with: whole), !value.contains(UInt8(ascii: " ")) {
                value = Array("{{ ".utf8) + value + Array(" }}".utf8)
            }
            let rendered = try References.render(value, file: "\(path):\(entry.line)", source: source, destination: destination, lineOffset: entry.line - 1)
            result.append((entry.name, SecureBytes(copying: rendered)))
        }
        return result
    }
}

/// Resolving `{{ kw://SCOPE/NAME }}` references (inject, run --env-file).
enum References {
    /// Checks every reference first (an unknown one is an error with its line
    /// and column, before any value is decrypted), then renders.
    static func render(_ template: [UInt8], file: String, source: any ValueSource, destination: String, lineOffset: Int = 0) throws -> [UInt8] {
        let references: [TemplateReference]
        do {
            references = try TemplateRenderer.references(in: template, file: file)
        } catch {
            throw KeywardenError(.invalidInput, "\(error.description); nothing was written")
        }
        var byScope: [String: Set<String>] = [:]
        var known: [String: Set<String>] = [:]
        for reference in references {
            let available: Set<String>
            if let cached = known[reference.scope] {
                available = cached
            } else {
                do {
                    available = try source.names(scope: reference.scope)
                } catch {
                    throw KeywardenError(.invalidInput, "\(file):\(reference.line + lineOffset):\(reference.column): unknown scope '\(reference.scope)' in kw://\(reference.scope)/\(reference.name); nothing was written")
                }
                known[reference.scope] = available
            }
            guard available.contains(reference.name) else {
                throw KeywardenError(.invalidInput, "\(file):\(reference.line + lineOffset):\(reference.column): unknown reference kw://\(reference.scope)/\(reference.name) (no active key or config entry \(reference.name) in scope \(reference.scope)); nothing was written")
            }
            byScope[reference.scope, default: []].insert(reference.name)
        }
        var values: [String: [String: SecureBytes]] = [:]
        for (scope, names) in byScope {
            let resolved = try source.environment(scope: scope, only: names.sorted(), purpose: destination)
            values[scope] = Dictionary(uniqueKeysWithValues: resolved.map { ($0.name, $0.value) })
        }
        return try TemplateRenderer.render(template, file: file) { scope, name in
            values[scope]![name]!.copyBytes()
        }
    }
}

/// Reading an input file (or `-` for stdin) with a clear error.
enum InputFile {
    static func read(_ path: String) throws(KeywardenError) -> [UInt8] {
        if path == "-" { return try SecretInput.readAllStandardInput(stripOneNewline: false).copyBytes() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeywardenError(.notFound, "cannot read \(path): no such file, or not readable")
        }
        return Array(data)
    }
}
