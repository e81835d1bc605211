import Foundation
import KeywardenCrypto

/// The result of `addKey`: the stored key and any warnings worth showing.
public struct AddedKey: Codable, Sendable {
    public var key: KeyInfo
    public var warnings: [String]
    /// The key that was active before and is now `standby` (with `activate`).
    public var demoted: String?
}

/// Which keys to list.
public struct KeyFilter: Codable, Sendable {
    public var provider: String?
    public var scope: String?
    public var state: KeyState?
    public init(provider: String? = nil, scope: String? = nil, state: KeyState? = nil) {
        self.provider = provider
        self.scope = scope
        self.state = state
    }
}

extension Vault {
    /// Stores a new key for `provider` in `scope`. The first key of a pool
    /// becomes `active`; later ones `standby` unless `activate` is set, which
    /// demotes the current active key to `standby` in the same transaction.
    public func addKey(
        provider providerName: String, scope: String, label: String?, env: String?,
        value: SecureBytes, activate: Bool, force: Bool, role: KeyRole? = nil, expires: String? = nil
    ) throws(KeywardenError) -> AddedKey {
        try Names.require(Names.isProvider(providerName), "provider name", providerName, Names.providerRule)
        try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule)
        if let label { try Names.require(Names.isLabel(label), "label", label, "use 1 to 128 printable characters") }
        if let env { try Names.require(Names.isEnvironmentVariable(env), "variable name", env, Names.envRule) }
        let expiresAt = try expires.map { text throws(KeywardenError) in try KeyExpiry.parse(text, now: now) }
        let provider = try self.provider(named: providerName)
        try Self.checkKeyValue(value)
        var warnings: [String] = []
        if let format = provider.keyFormat, !Self.matches(value, format) {
            let message = "the value does not look like a key for \(provider.displayName) (expected \(format.description))"
            guard force else {
                throw KeywardenError(.invalidInput, "\(message); check that you pasted the right key, or store it anyway with --force. Nothing was stored")
            }
            warnings.append(message + "; stored anyway (--force)")
        }
        let forced = force && !warnings.isEmpty
        return try write { tx in
            var added = try insertKey(provider: provider, scope: scope, label: label, env: env, value: value, activate: activate, role: role,
                                      expiresAt: expiresAt, auditDetail: forced ? "format check overridden" : nil, tx)
            added.warnings = warnings + added.warnings
            return added
        }
    }

    /// Adds a key inside the caller's transaction (shared by `addKey` and
    /// `import`): checks the scope, duplicates and the variable name, demotes
    /// the current active key when activating, seals, inserts and audits.
    func insertKey(
        provider: ProviderDefinition, scope: String, label: String?, env: String?,
        value: SecureBytes, activate: Bool, role: KeyRole? = nil, providerKeyID: String? = nil, expiresAt: Timestamp? = nil, auditDetail: String? = nil, _ tx: any StoreWriting
    ) throws -> AddedKey {
        let fingerprint = self.fingerprint(of: value)
        let hint = KeyHint.make(for: value, prefixes: provider.keyFormat?.prefixes ?? [])
        let envName = env ?? provider.env
        guard try tx.scopeExists(scope) else { throw KeywardenError.unknownScope(scope) }
        try ensureProviderRow(provider.name, tx)
        let pool = try tx.keys(.pool(Pool(provider: provider.name, scope: scope)))
        if let twin = pool.first(where: { $0.fingerprint == fingerprint }) {
            throw KeywardenError(.conflict, "this value is already stored as key \(twin.id) ('\(twin.label)') in \(provider.name)/\(scope); nothing was stored")
        }
        if let other = pool.first(where: { $0.role != role && $0.state != .revoked }) {
            throw KeywardenError(.conflict, role == .admin
                ? "\(provider.name)/\(scope) holds ordinary keys (\(other.id)); keep admin keys in a scope of their own (e.g. --scope admin); nothing was stored"
                : "\(provider.name)/\(scope) holds admin keys (\(other.id)), which live in a scope of their own; store this key in another scope; nothing was stored")
        }
        let finalLabel = label ?? Self.defaultLabel(provider: provider.name, taken: Set(pool.map(\.label)))
        if let clash = pool.first(where: { $0.label == finalLabel }) {
            throw KeywardenError(.conflict, "label '\(finalLabel)' is already used by key \(clash.id) in \(provider.name)/\(scope); choose another with --label")
        }
        try checkVariableIsFree(envName, scope: scope, exceptProvider: provider.name, tx)
        let current = pool.first { $0.state == .active }
        let state: KeyState = (current == nil || activate) ? .active : .standby
        var demoted: String?
        if state == .active, var old = current {
            old.state = .standby
            old.updatedAt = now
            try tx.update(old)
            demoted = old.id
        }
        var record = KeyRecord(
            id: Self.newIdentifier(prefix: "k_"), provider: provider.name, scope: scope, label: finalLabel, env: envName,
            state: state, version: 1, nonce: Data(), ciphertext: Data(), hint: hint, fingerprint: fingerprint,
            createdAt: now, updatedAt: now, activatedAt: state == .active ? now : nil,
            lastOutcome: nil, lastCheckedAt: nil, lastDetail: nil, retireAfter: nil, role: role, providerKeyId: providerKeyID)
        let box = try seal(value, for: RowBinding(key: record))
        record.nonce = Data(box.nonce)
        record.ciphertext = Data(box.ciphertext)
        record.expiresAt = expiresAt
        try tx.insert(record)
        var detail = "label '\(finalLabel)', state \(state.rawValue)\(role == .admin ? ", admin key (never delivered unless asked)" : "")"
        if let demoted { detail += ", replaced \(demoted) (now standby)" }
        if let expiresAt { detail += ", expires \(expiresAt.iso8601)" }
        if let auditDetail { detail += ", \(auditDetail)" }
        try appendAudit(AuditDraft(action: "key.add", provider: provider.name, scope: scope, keyID: record.id, fingerprint: fingerprint, outcome: "ok", detail: detail), tx)
        return AddedKey(key: KeyInfo(record), warnings: [], demoted: demoted)
    }

    /// Keys matching `filter`, each with its gateway traffic of the last 24
    /// hours. With a scope, the active keys its parents pass down (for
    /// providers the scope does not override) are included and marked
    /// `inherited_by`.
    public func listKeys(_ filter: KeyFilter) throws(KeywardenError) -> [KeyInfo] {
        if let scope = filter.scope { try Names.require(Names.isScope(scope), "scope", scope, Names.scopeRule) }
        return try read { tx in
            var keys = try listKeys(filter, tx)
            try attachHeadroom(&keys, tx)
            let traffic = try gatewayTrafficByKey24h(tx)
            guard !traffic.isEmpty else { return keys }
            for i in keys.indices { keys[i].traffic24h = traffic[keys[i].id] }
            return keys
        }
    }

    private func listKeys(_ filter: KeyFilter, _ tx: any StoreReading) throws -> [KeyInfo] {
        if let p = filter.provider { _ = try provider(named: p, tx) }
        let states = filter.state.map { [$0] }
        guard let scope = filter.scope else {
            return try tx.keys(KeyQuery(provider: filter.provider, states: states, order: .providerScopeCreatedAt)).map(KeyInfo.init)
        }
        let chain = try scopeChain(scope, tx)
        var result = try tx.keys(KeyQuery(provider: filter.provider, scope: scope, states: states, order: .providerCreatedAt)).map(KeyInfo.init)
        if filter.state == nil || filter.state == .active {
            var covered = Set(result.filter { $0.state == .active }.map(\.provider))
            for ancestor in chain.dropFirst() {
                let inherited = try tx.keys(KeyQuery(provider: filter.provider, scope: ancestor, states: [.active], order: .provider))
                for record in inherited where !covered.contains(record.provider) {
                    var info = KeyInfo(record)
                    info.inheritedBy = scope
                    result.append(info)
                    covered.insert(record.provider)
                }
            }
        }
        return result
    }

    /// One key's metadata.
    public func key(id: String) throws(KeywardenError) -> KeyInfo {
        try read { tx in
            guard let record = try tx.key(id: id) else { throw KeywardenError.unknownKey(id) }
            var keys = [KeyInfo(record)]
            try attachHeadroom(&keys, tx)
            return keys[0]
        }
    }

    /// Decrypts a key's value and records the read (`key.reveal`, with the
    /// caller's purpose as `detail`) in the audit trail before returning it.
    /// The event names the operation's caller (``AuditActor/current``).
    public func revealKey(id: String, detail: String? = nil) throws(KeywardenError) -> (KeyInfo, SecureBytes) {
        let record: KeyRecord = try read { tx in
            guard let record = try tx.key(id: id) else { throw KeywardenError.unknownKey(id) }
            return record
        }
        let value: SecureBytes
        do {
            value = try open(nonce: record.nonce, ciphertext: record.ciphertext, for: RowBinding(key: record))
        } catch {
            try? recordAudit(AuditDraft(action: "key.reveal", provider: record.provider, scope: record.scope, keyID: id, fingerprint: record.fingerprint, outcome: "integrity_error", detail: [detail, error.message].compactMap { $0 }.joined(separator: ": ")))
            throw error
        }
        try recordAudit(AuditDraft(action: "key.reveal", provider: record.provider, scope: record.scope, keyID: id, fingerprint: record.fingerprint, outcome: "ok", detail: detail))
        return (KeyInfo(record), value)
    }

    /// Deletes a key and its sealed value. Removing the active key promotes
    /// the pool's oldest healthy standby in the same transaction, so the pool
    /// is never without an active key while one could serve; with no such
    /// standby it is refused unless `force`. Returns the removed key and the
    /// promoted one.
    public func removeKey(id: String, force: Bool = false) throws(KeywardenError) -> (removed: KeyInfo, promoted: KeyInfo?) {
        try write { tx in
            guard let record = try tx.key(id: id) else { throw KeywardenError.unknownKey(id) }
            var promoted: KeyRecord?
            if record.state == .active {
                promoted = try healthyStandby(record.pool, tx)
                if promoted == nil && !force {
                    throw KeywardenError(.conflict, "\(id) is the active \(record.provider) key of \(record.scope) and no healthy standby key can take over; add one first (`keywarden key add \(record.provider) --scope \(record.scope)`), or remove it anyway with --force and leave \(record.provider)/\(record.scope) without an active key. Nothing was removed")
                }
            }
            try tx.delete(record)
            var detail = "was \(record.state.rawValue)"
            if var standby = promoted {
                standby.state = .active
                standby.activatedAt = now
                standby.updatedAt = now
                try tx.update(standby)
                promoted = standby
                detail += "; \(standby.id) promoted from standby to active"
                try appendAudit(AuditDraft(action: "key.activate", provider: standby.provider, scope: standby.scope, keyID: standby.id, fingerprint: standby.fingerprint,
                                           outcome: "ok", detail: "promoted: the active key \(id) was removed"), tx)
            } else if record.state == .active {
                detail += "; removed with --force, the pool has no active key"
            }
            try appendAudit(AuditDraft(action: "key.remove", provider: record.provider, scope: record.scope, keyID: id, fingerprint: record.fingerprint, outcome: "ok", detail: detail), tx)
            return (KeyInfo(record), promoted.map(KeyInfo.init))
        }
    }

    /// Makes a key the active one of its pool; the previous active key becomes
    /// `standby`, in the same transaction. Revoked keys cannot come back.
    public func activateKey(id: String) throws(KeywardenError) -> (key: KeyInfo, demoted: String?) {
        try write { tx in
            guard var record = try tx.key(id: id) else { throw KeywardenError.unknownKey(id) }
            if record.state == .active { return (KeyInfo(record), nil) }
            guard record.state != .revoked else {
                throw KeywardenError(.conflict, "key \(id) is revoked and cannot be activated again; add a new key instead")
            }
            var demoted: String?
            if var current = try tx.keys(.pool(record.pool, states: [.active])).first {
                current.state = .standby
                current.updatedAt = now
                try tx.update(current)
                demoted = current.id
            }
            record.state = .active
            record.activatedAt = now
            record.updatedAt = now
            record.clearRecovery()
            try tx.update(record)
            try appendAudit(AuditDraft(action: "key.activate", provider: record.provider, scope: record.scope, keyID: id, fingerprint: record.fingerprint, outcome: "ok", detail: demoted.map { "replaced \($0) (now standby)" }), tx)
            return (KeyInfo(record), demoted)
        }
    }

    // MARK: - Helpers

    /// Keys are printable, single-line tokens: whitespace or control bytes in a
    /// value are always a paste mistake (a trailing newline is stripped before).
    static func checkKeyValue(_ value: SecureBytes) throws(KeywardenError) {
        guard value.count > 0 else { throw KeywardenError(.invalidInput, "the value is empty; nothing was stored") }
        guard value.count <= 8192 else { throw KeywardenError(.invalidInput, "the value is longer than 8 KiB; that is not an API key. Nothing was stored") }
        let position: Int? = value.withUnsafeBytes { bytes in bytes.firstIndex { $0 <= 0x20 || $0 == 0x7f } }
        if let position {
            throw KeywardenError(.invalidInput, "the value contains a space or control character at byte \(position + 1); API keys never do. Nothing was stored")
        }
        guard value.isValidUTF8 else { throw KeywardenError(.invalidInput, "the value is not valid UTF-8; nothing was stored") }
    }

    static func matches(_ value: SecureBytes, _ format: KeyFormat) -> Bool {
        guard let regex = try? Regex("^(?:" + format.pattern + ")$") else { return true }
        // A short-lived String is needed for Regex; it is dropped at once.
        let text = value.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        return text.wholeMatch(of: regex) != nil
    }

    static func defaultLabel(provider: String, taken: Set<String>) -> String {
        var n = taken.count + 1
        while taken.contains("\(provider)-\(n)") { n += 1 }
        return "\(provider)-\(n)"
    }

    /// A variable name means one thing per scope: one provider's key or one
    /// config entry, never both (an export would have to pick one silently).
    func checkVariableIsFree(_ name: String, scope: String, exceptProvider: String?, _ tx: any StoreReading) throws {
        let live: [KeyState] = [.active, .standby, .pending, .retiring]
        if let other = try tx.keys(KeyQuery(scope: scope, states: live, env: name)).first(where: { $0.provider != exceptProvider }) {
            throw KeywardenError(.conflict, "\(name) is already the variable of \(other.provider) key \(other.id) in scope \(scope); pick another with --env")
        }
        if exceptProvider != nil, try tx.configEntryExists(scope: scope, name: name) {
            throw KeywardenError(.conflict, "\(name) is already a config entry in scope \(scope); unset it first or pick another variable with --env")
        }
    }
}
