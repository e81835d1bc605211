import Foundation
import KeywardenCrypto

/// What `import` does (or, with `--dry-run`, would do) with each variable.
public struct ImportPlan: Codable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// A provider key, stored under the variable's name.
        case key
        /// A config entry.
        case config
    }

    public struct Item: Codable, Sendable {
        public var name: String
        public var line: Int
        public var kind: Kind
        public var provider: String?
        public var secret: Bool
        /// `add`, `update`, `unchanged`, or `standby` (a key added next to an active one).
        public var change: String
        /// How the provider was recognised (`variable name`, `key format`), or a warning.
        public var note: String?
        public var hint: String?
    }

    public var file: String
    public var scope: String
    public var items: [Item]
}

extension Vault {
    /// Works out what importing `entries` into `scope` would do, without writing.
    /// A name in ``LoaderVariables`` is refused unless `allowLoader` says yes.
    public func planImport(_ entries: [DotenvEntry], scope: String, file: String,
                           allowLoader: (String) -> Bool = { _ in false }) throws(KeywardenError) -> ImportPlan {
        try read { tx in try makeImportPlan(entries, scope: scope, file: file, allowLoader: allowLoader, tx) }
    }

    /// Imports `entries` into `scope` in one transaction: all of them, or none.
    /// A name in ``LoaderVariables`` is refused unless `allowLoader` says yes.
    public func applyImport(_ entries: [DotenvEntry], scope: String, file: String,
                            allowLoader: (String) -> Bool = { _ in false }, progress: ValidationProgress? = nil) throws(KeywardenError) -> ImportPlan {
        try write { tx in
            let plan = try makeImportPlan(entries, scope: scope, file: file, allowLoader: allowLoader, tx)
            let providers = try allProviders(tx)
            for (index, (item, entry)) in zip(plan.items, entries).enumerated() {
                progress?.report(index + 1, plan.items.count)
                guard item.change != "unchanged" else { continue }
                let value = SecureBytes(copying: entry.value)
                switch item.kind {
                case .key:
                    let provider = providers.first { $0.name == item.provider }!
                    _ = try insertKey(provider: provider, scope: scope, label: nil, env: item.name, value: value, activate: false,
                                      auditDetail: "imported from \(file):\(entry.line)", tx)
                case .config:
                    _ = try upsertConfig(scope: scope, name: item.name, value: value, secret: item.secret, auditDetail: "imported from \(file):\(entry.line)", tx)
                }
            }
            let keys = plan.items.filter { $0.kind == .key && $0.change != "unchanged" }.count
            let config = plan.items.filter { $0.kind == .config && $0.change != "unchanged" }.count
            try appendAudit(AuditDraft(action: "import", scope: scope, outcome: "ok",
                                       detail: "\(file): \(keys) key(s), \(config) config entr\(config == 1 ? "y" : "ies"), \(plan.items.count - keys - config) unchanged"), tx)
            return plan
        }
    }

    private func allProviders(_ tx: any StoreReading) throws -> [ProviderDefinition] {
        var result = try BuiltinProviders.all.map { try provider(named: $0.name, tx) }
        for row in try tx.providerRows() where !row.builtin {
            result.append(try Self.decodeDefinition(row))
        }
        return result
    }

    private func makeImportPlan(_ entries: [DotenvEntry], scope: String, file: String, allowLoader: (String) -> Bool, _ tx: any StoreReading) throws -> ImportPlan {
        try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule)
        guard try tx.scopeExists(scope) else { throw KeywardenError.unknownScope(scope) }
        let providers = try allProviders(tx)
        var items: [ImportPlan.Item] = []
        for entry in entries {
            guard Names.isEnvironmentVariable(entry.name) else {
                throw KeywardenError(.invalidInput, "\(file):\(entry.line): '\(entry.name)' is not a valid variable name; nothing was imported")
            }
            // A .env from elsewhere must not decide which binary `run` starts
            // or what code it preloads.
            if LoaderVariables.contains(entry.name), !allowLoader(entry.name) {
                throw KeywardenError(.invalidInput, "\(file):\(entry.line): \(entry.name) changes how programs load (\(LoaderVariables.summary)); nothing was imported. If it belongs in the vault, import with --allow \(entry.name)")
            }
            if entry.value.contains(0) {
                throw KeywardenError(.invalidInput, "\(file):\(entry.line): the value of \(entry.name) contains a NUL byte; nothing was imported")
            }
            let value = SecureBytes(copying: entry.value)
            var provider: ProviderDefinition?
            var note: String?
            if let byName = ProviderRecognizer.provider(forVariable: entry.name, in: providers) {
                provider = byName
                note = "recognised by variable name"
                if let format = byName.keyFormat, !Self.matches(value, format) {
                    note = "warning: does not look like a key for \(byName.displayName) (expected \(format.description)); imported as its key because of the variable name"
                }
            } else if let byValue = ProviderRecognizer.provider(forValue: value, in: providers) ?? ProviderRecognizer.provider(mentionedBy: entry.name, value: value, in: providers) {
                provider = byValue
                note = "recognised by key format"
            }
            if let provider, !entry.value.isEmpty {
                if (try? Self.checkKeyValue(value)) == nil {
                    throw KeywardenError(.invalidInput, "\(file):\(entry.line): the value of \(entry.name) is not a usable \(provider.displayName) key (it contains spaces or control characters); fix the file or rename the variable. Nothing was imported")
                }
                let fingerprint = self.fingerprint(of: value)
                let pool = try tx.keys(.pool(Pool(provider: provider.name, scope: scope)))
                let change: String
                if pool.contains(where: { $0.fingerprint == fingerprint }) {
                    change = "unchanged"
                } else {
                    change = pool.contains { $0.state == .active } ? "standby" : "add"
                }
                items.append(.init(name: entry.name, line: entry.line, kind: .key, provider: provider.name, secret: true, change: change, note: note,
                                   hint: KeyHint.make(for: value, prefixes: provider.keyFormat?.prefixes ?? [])))
            } else {
                let existing = try tx.configEntry(scope: scope, name: entry.name)
                var change = existing == nil ? "add" : "update"
                if let existing {
                    let current = try open(nonce: existing.nonce, ciphertext: existing.ciphertext, for: RowBinding(config: existing))
                    if current.constantTimeEquals(value) { change = "unchanged" }
                }
                let secret = existing?.secret ?? !SecretHeuristics.isClearlyPlain(name: entry.name, value: entry.value)
                items.append(.init(name: entry.name, line: entry.line, kind: .config, provider: nil, secret: secret, change: change, note: nil, hint: nil))
            }
        }
        return ImportPlan(file: file, scope: scope, items: items)
    }
}
