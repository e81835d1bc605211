/// Renders `{{ kw://SCOPE/NAME }}` references with values from a
/// ``KeywardenService``: `inject`'s templates and `run --env-file`'s dotenv
/// files. The template stays in the caller's process; only the names it
/// references are asked for, each scope's values in one audited delivery.
public enum TemplateDelivery {
    /// Renders `template`. Every reference is checked first (an unknown one
    /// is an error with its line and column, before any value is asked for);
    /// then each scope's referenced variables are fetched at once.
    ///
    /// - Parameters:
    ///   - file: how messages name the template (`config.yaml.tpl`, `stdin`).
    ///   - lineOffset: added to the line numbers in messages, when `template`
    ///     is one value of a larger file.
    public static func render(_ template: [UInt8], file: String, lineOffset: Int = 0, service: some KeywardenService,
                              action: Delivery.Action, destination: String) async throws -> [UInt8] {
        try await renderWithValues(template, file: file, lineOffset: lineOffset, service: service,
                                   action: action, destination: destination).rendered
    }

    /// ``render(_:file:lineOffset:service:action:destination:)``, also
    /// returning each value the template referenced, on its own: what
    /// `run --mask` must mask, since the rendered text may hold a value
    /// among other text (`Bearer {{ kw://… }}`) that the command can print alone.
    public static func renderWithValues(_ template: [UInt8], file: String, lineOffset: Int = 0, service: some KeywardenService,
                                        action: Delivery.Action, destination: String) async throws -> (rendered: [UInt8], values: [Secret]) {
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
                    available = try await service.variableNames(scope: reference.scope)
                } catch let error as KeywardenError where error.kind == .notFound {
                    // Only "no such scope" is the template's fault; a locked
                    // agent (exit 3) or a lost connection (exit 1) is not.
                    throw KeywardenError(.invalidInput, "\(file):\(reference.line + lineOffset):\(reference.column): unknown scope '\(reference.scope)' in kw://\(reference.scope)/\(reference.name); nothing was written")
                }
                known[reference.scope] = available
            }
            guard available.contains(reference.name) else {
                throw KeywardenError(.invalidInput, "\(file):\(reference.line + lineOffset):\(reference.column): unknown reference kw://\(reference.scope)/\(reference.name) (no active key or config entry \(reference.name) in scope \(reference.scope)); nothing was written")
            }
            byScope[reference.scope, default: []].insert(reference.name)
        }
        var values: [String: [String: Secret]] = [:]
        for (scope, names) in byScope {
            let delivered = try await service.environment(scope: scope, only: names.sorted(), action: action, destination: destination)
            values[scope] = Dictionary(uniqueKeysWithValues: delivered.map { ($0.name, $0.value) })
        }
        let rendered = try TemplateRenderer.render(template, file: file) { scope, name in
            values[scope]![name]!.copyBytes()
        }
        return (rendered, values.values.flatMap(\.values))
    }

    /// `run --env-file`: the variables of a dotenv file whose values are
    /// literal, a whole `kw://SCOPE/NAME` reference, or text with
    /// `{{ kw://SCOPE/NAME }}` inside, in the file's order.
    public static func environmentFile(_ bytes: [UInt8], path: String, service: some KeywardenService,
                                       action: Delivery.Action, destination: String) async throws -> [EnvironmentVariable] {
        try await environmentFileWithValues(bytes, path: path, service: service, action: action, destination: destination).variables
    }

    /// ``environmentFile(_:path:service:action:destination:)``, also
    /// returning every value the file referenced, on its own (for `run --mask`).
    public static func environmentFileWithValues(_ bytes: [UInt8], path: String, service: some KeywardenService,
                                                 action: Delivery.Action, destination: String) async throws -> (variables: [EnvironmentVariable], referenced: [Secret]) {
        let entries: [DotenvEntry]
        do {
            entries = try DotenvParser.parse(bytes, file: path)
        } catch {
            throw KeywardenError(.invalidInput, "\(error.description); nothing was run")
        }
        var result: [EnvironmentVariable] = []
        var referenced: [Secret] = []
        for entry in entries {
            // A whole `kw://…` value is a reference without the braces.
            let whole = entry.value.starts(with: Array("kw://".utf8)) && !entry.value.contains(UInt8(ascii: " "))
            let template = whole ? Array("{{ ".utf8) + entry.value + Array(" }}".utf8) : entry.value
            var (rendered, values) = try await renderWithValues(template, file: "\(path):\(entry.line)", lineOffset: entry.line - 1, service: service,
                                                                action: action, destination: destination)
            defer { Secrets.wipe(&rendered) }
            result.append(EnvironmentVariable(name: entry.name, value: Secrets.secret(copying: rendered)))
            referenced += values
        }
        return (result, referenced)
    }
}
