import Foundation
import GRDB
import KeywardenCrypto

/// `exported_files`
struct ExportedFileRecord: SnakeCaseRecord {
    static let databaseTableName = "exported_files"
    var path: String
    var scope: String
    var format: String
    var only: String?
    var updatedAt: String
}

extension Vault {
    /// Remembers a file `export --output` wrote, so a rotation can rewrite it.
    public func rememberExport(path: String, scope: String, format: ExportFormat, only: [String]?) throws(KeywardenError) {
        try write { db in
            try ExportedFileRecord(path: path, scope: scope, format: format.rawValue,
                                   only: only.map { $0.joined(separator: ",") }, updatedAt: now).save(db)
        }
    }

    /// Rewrites (atomically, 0600) every remembered file of `scope` or of a
    /// scope that inherits from it, with the current values.
    public func reexport(after scope: String) throws(KeywardenError) -> [String] {
        let files: [ExportedFileRecord] = try read { db in
            try ExportedFileRecord.fetchAll(db).filter { file in (try? scopeChain(file.scope, db).contains(scope)) ?? false }
        }
        var written: [String] = []
        for file in files {
            guard let format = ExportFormat(rawValue: file.format) else { continue }
            let variables = try resolveEnvironment(scope: file.scope, only: file.only.map { $0.split(separator: ",").map(String.init) })
            var plain = variables.map { (name: $0.name, value: $0.value!.copyBytes()) }
            defer { for i in plain.indices { wipe(&plain[i].value) } }
            var bytes: [UInt8]
            do {
                bytes = try EnvironmentEncoder.encode(plain, as: format)
            } catch {
                throw KeywardenError(.invalidInput, "cannot re-export \(file.path): \(error.description)")
            }
            defer { wipe(&bytes) }
            try SecureFiles.writeAtomically(file.path, bytes: bytes)
            try recordDelivery(variables, action: "export", scope: file.scope, destination: "\(file.path) (\(format.rawValue), re-export after rotation)")
            written.append(file.path)
        }
        return written
    }
}
