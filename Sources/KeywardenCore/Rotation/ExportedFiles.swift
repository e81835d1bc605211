import Foundation
import KeywardenCrypto

extension Vault {
    /// Remembers a file `export --output` wrote (directly or through the
    /// agent), so a rotation can rewrite it. `path` must be absolute: it is
    /// where later rotations write keys, whoever runs them.
    public func rememberExport(path: String, scope: String, format: ExportFormat, only: [String]?) throws(KeywardenError) {
        guard path.hasPrefix("/"), !path.utf8.contains(0), path.utf8.count <= 4096 else {
            throw KeywardenError(.invalidInput, "an exported file is remembered by its absolute path, not '\(path.prefix(200))'")
        }
        try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule)
        for name in only ?? [] {
            try Names.require(Names.isEnvironmentVariable(name), "variable name", name, Names.envRule)
        }
        try write { tx in
            guard try tx.scopeExists(scope) else { throw KeywardenError.unknownScope(scope) }
            let known = try tx.exportedFile(path: path) != nil
            try tx.save(ExportedFileRecord(path: path, scope: scope, format: format, only: only, updatedAt: now))
            if !known {
                try appendAudit(AuditDraft(action: "export.remember", scope: scope, outcome: "ok",
                                           detail: "\(path) (\(format.rawValue)) will be rewritten by `rotate --reexport`"), tx)
            }
        }
    }

    /// Rewrites (atomically, 0600) one remembered file with the current
    /// values of its scope, in its format and selection. `reason` goes to the
    /// delivery's audit event (`after the rotation of anthropic/prod`).
    public func reexport(path: String, reason: String) throws(KeywardenError) {
        let found: ExportedFileRecord? = try read { tx in try tx.exportedFile(path: path) }
        guard let file = found else { throw KeywardenError(.notFound, "\(path) is not a remembered export") }
        let format = file.format
        let variables = try resolveEnvironment(scope: file.scope, only: file.only)
        var plain = variables.map { (name: $0.name, value: $0.value!.copyBytes()) }
        defer { for i in plain.indices { wipe(&plain[i].value) } }
        var bytes: [UInt8]
        do {
            bytes = try EnvironmentEncoder.encode(plain, as: format)
        } catch {
            throw KeywardenError(.invalidInput, "cannot re-export \(file.path): \(error.description)")
        }
        defer { wipe(&bytes) }
        // Audited before the values are written, like every delivery.
        try recordDelivery(variables, action: "export", scope: file.scope, destination: "\(file.path) (\(format.rawValue), re-export \(reason))")
        try SecureFiles.writeAtomically(file.path, bytes: bytes)
    }
}
