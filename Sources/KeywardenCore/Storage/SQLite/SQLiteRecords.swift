import Foundation
import GRDB

// How each record maps to its SQLite row, column by column. Reading checks
// the row's MAC first when its table is authenticated, then converts every
// column to its type (StoredRowReader: a value that does not convert is an
// integrity error naming the row and column). Writing encodes the same
// column values as before the records were typed — times as fixed-width
// text, booleans as 0/1, JSON with the encoders used since v0.1 — and signs
// authenticated rows with a fresh MAC.

extension VaultHeaderRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "vault"

    init(row: Row) throws {
        let r = try StoredRowReader(authenticated: row, RowAuthentication.vault)
        self.init(vaultId: try r["vault_id"], createdAt: try r["created_at"], auditHeadSeq: try r["audit_head_seq"],
                  auditHeadHash: try r["audit_head_hash"], rowMacsPending: try r["row_macs_pending"], auditV2FromSeq: try r["audit_v2_from_seq"])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["id"] = 1
        container["vault_id"] = vaultId
        container["created_at"] = createdAt
        container["audit_head_seq"] = auditHeadSeq
        container["audit_head_hash"] = auditHeadHash
        container["row_macs_pending"] = rowMacsPending
        container["audit_v2_from_seq"] = auditV2FromSeq
        try SQLiteRowMACs.sign(&container, RowAuthentication.vault)
    }
}

extension KeyslotRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "keyslots"

    init(row: Row) throws {
        let r = try StoredRowReader(authenticated: row, RowAuthentication.keyslots)
        self.init(id: try r["id"], kind: try r["kind"], label: try r["label"], kdfOps: try r["kdf_ops"], kdfMem: try r["kdf_mem"],
                  salt: try r["salt"], nonce: try r["nonce"], wrappedKey: try r["wrapped_key"], createdAt: try r["created_at"])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["kind"] = kind
        container["label"] = label
        container["kdf_ops"] = kdfOps
        container["kdf_mem"] = kdfMem
        container["salt"] = salt
        container["nonce"] = nonce
        container["wrapped_key"] = wrappedKey
        container["created_at"] = createdAt
        try SQLiteRowMACs.sign(&container, RowAuthentication.keyslots)
    }
}

extension ScopeRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "scopes"

    init(row: Row) throws {
        let r = try StoredRowReader(authenticated: row, RowAuthentication.scopes)
        self.init(name: try r["name"], parent: try r["parent"], createdAt: try r["created_at"])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["name"] = name
        container["parent"] = parent
        container["created_at"] = createdAt
        try SQLiteRowMACs.sign(&container, RowAuthentication.scopes)
    }
}

extension ProviderRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "providers"

    init(row: Row) throws {
        let r = try StoredRowReader(authenticated: row, RowAuthentication.providers)
        self.init(name: try r["name"], builtin: try r["builtin"], definition: try r.optionalJSON("definition"), baseUrl: try r["base_url"],
                  env: try r["env"], updatedAt: try r["updated_at"], allowInsecureHttp: try r["allow_insecure_http"])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["name"] = name
        container["builtin"] = builtin
        try container.setJSON("definition", definition, encoder: .sorted)
        container["base_url"] = baseUrl
        container["env"] = env
        container["updated_at"] = updatedAt
        container["allow_insecure_http"] = allowInsecureHttp
        try SQLiteRowMACs.sign(&container, RowAuthentication.providers)
    }
}

extension KeyRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "keys"

    init(row: Row) throws {
        let r = try StoredRowReader(authenticated: row, RowAuthentication.keys)
        self.init(
            id: try r["id"], provider: try r["provider"], scope: try r["scope"], label: try r["label"], env: try r["env"],
            state: try r["state"], version: try r["version"], nonce: try r["nonce"], ciphertext: try r["ciphertext"],
            hint: try r["hint"], fingerprint: try r["fingerprint"], createdAt: try r["created_at"], updatedAt: try r["updated_at"],
            activatedAt: try r["activated_at"], lastOutcome: try r["last_outcome"], lastCheckedAt: try r["last_checked_at"],
            lastDetail: try r["last_detail"], retireAfter: try r["retire_after"], role: try r["role"], providerKeyId: try r["provider_key_id"],
            failedBecause: try r["failed_because"], probeAttempts: try r["probe_attempts"], nextProbeAt: try r["next_probe_at"],
            expiresAt: try r["expires_at"])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["provider"] = provider
        container["scope"] = scope
        container["label"] = label
        container["env"] = env
        container["state"] = state
        container["version"] = version
        container["nonce"] = nonce
        container["ciphertext"] = ciphertext
        container["hint"] = hint
        container["fingerprint"] = fingerprint
        container["created_at"] = createdAt
        container["updated_at"] = updatedAt
        container["activated_at"] = activatedAt
        container["last_outcome"] = lastOutcome
        container["last_checked_at"] = lastCheckedAt
        container["last_detail"] = lastDetail
        container["retire_after"] = retireAfter
        container["role"] = role
        container["provider_key_id"] = providerKeyId
        container["failed_because"] = failedBecause
        container["probe_attempts"] = probeAttempts
        container["next_probe_at"] = nextProbeAt
        container["expires_at"] = expiresAt
        try SQLiteRowMACs.sign(&container, RowAuthentication.keys)
    }
}

extension ConfigEntryRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "config_entries"

    init(row: Row) throws {
        let r = try StoredRowReader(authenticated: row, RowAuthentication.configEntries)
        self.init(id: try r["id"], scope: try r["scope"], name: try r["name"], secret: try r["secret"], version: try r["version"],
                  nonce: try r["nonce"], ciphertext: try r["ciphertext"], createdAt: try r["created_at"], updatedAt: try r["updated_at"])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["scope"] = scope
        container["name"] = name
        container["secret"] = secret
        container["version"] = version
        container["nonce"] = nonce
        container["ciphertext"] = ciphertext
        container["created_at"] = createdAt
        container["updated_at"] = updatedAt
        try SQLiteRowMACs.sign(&container, RowAuthentication.configEntries)
    }
}

extension AgentTokenRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "agent_tokens"

    init(row: Row) throws {
        let r = try StoredRowReader(authenticated: row, RowAuthentication.agentTokens)
        self.init(id: try r["id"], name: try r["name"], hash: try r["hash"], scopes: try r.json("scopes"), providers: try r.json("providers"),
                  config: try r.json("config"), createdAt: try r["created_at"], expiresAt: try r["expires_at"], revokedAt: try r["revoked_at"],
                  lastUsedAt: try r["last_used_at"])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["name"] = name
        container["hash"] = hash
        // Grants were always written by a plain JSONEncoder.
        try container.setJSON("scopes", scopes, encoder: JSONEncoder())
        try container.setJSON("providers", providers, encoder: JSONEncoder())
        try container.setJSON("config", config, encoder: JSONEncoder())
        container["created_at"] = createdAt
        container["expires_at"] = expiresAt
        container["revoked_at"] = revokedAt
        container["last_used_at"] = lastUsedAt
        try SQLiteRowMACs.sign(&container, RowAuthentication.agentTokens)
    }
}

extension RotationPolicyRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "rotation_policies"

    init(row: Row) throws {
        let r = try StoredRowReader(authenticated: row, RowAuthentication.rotationPolicies)
        self.init(provider: try r["provider"], scope: try r["scope"], everySeconds: try r["every_seconds"], graceSeconds: try r["grace_seconds"],
                  command: try r["command"], revokeCommand: try r["revoke_command"], commandTimeoutSeconds: try r["command_timeout_seconds"],
                  failover: try r["failover"], updatedAt: try r["updated_at"], revokeTimeoutSeconds: try r["revoke_timeout_seconds"],
                  spread: try r["spread"], via: try r["via"], adminKey: try r["admin_key"], project: try r["project"])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["provider"] = provider
        container["scope"] = scope
        container["every_seconds"] = everySeconds
        container["grace_seconds"] = graceSeconds
        container["command"] = command
        container["revoke_command"] = revokeCommand
        container["command_timeout_seconds"] = commandTimeoutSeconds
        container["failover"] = failover
        container["updated_at"] = updatedAt
        container["revoke_timeout_seconds"] = revokeTimeoutSeconds
        container["spread"] = spread
        container["via"] = via
        container["admin_key"] = adminKey
        container["project"] = project
        try SQLiteRowMACs.sign(&container, RowAuthentication.rotationPolicies)
    }
}

extension ExportedFileRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "exported_files"

    init(row: Row) throws {
        let r = try StoredRowReader(authenticated: row, RowAuthentication.exportedFiles)
        let only: String? = try r["only"]
        self.init(path: try r["path"], scope: try r["scope"], format: try r["format"],
                  only: only.map { $0.split(separator: ",").map(String.init) }, updatedAt: try r["updated_at"])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["path"] = path
        container["scope"] = scope
        container["format"] = format
        container["only"] = only.map { $0.joined(separator: ",") }
        container["updated_at"] = updatedAt
        try SQLiteRowMACs.sign(&container, RowAuthentication.exportedFiles)
    }
}

// Not authenticated: the audit chain protects its events, and `Rotator`
// checks what a rotations row names before acting on it.

extension AuditEventRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "audit_events"

    init(row: Row) throws {
        let r = StoredRowReader(row, table: Self.databaseTableName)
        self.init(
            seq: try r["seq"], at: try r.exactTimestamp("at"), actorUid: try r["actor_uid"], actorPid: try r["actor_pid"], actor: try r["actor"],
            action: try r["action"], provider: try r["provider"], scope: try r["scope"], keyId: try r["key_id"], fingerprint: try r["fingerprint"],
            outcome: try r["outcome"], detail: try r["detail"], hash: try r["hash"], recordedLocked: try r["recorded_locked"])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["seq"] = seq
        container["at"] = at
        container["actor_uid"] = actorUid
        container["actor_pid"] = actorPid
        container["actor"] = actor
        container["action"] = action
        container["provider"] = provider
        container["scope"] = scope
        container["key_id"] = keyId
        container["fingerprint"] = fingerprint
        container["outcome"] = outcome
        container["detail"] = detail
        container["hash"] = hash
        container["recorded_locked"] = recordedLocked
    }
}

extension RotationRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "rotations"

    init(row: Row) throws {
        let r = StoredRowReader(row, table: Self.databaseTableName)
        self.init(id: try r["id"], provider: try r["provider"], scope: try r["scope"], oldKeyId: try r["old_key_id"], newKeyId: try r["new_key_id"],
                  trigger: try r["trigger"], step: try r["step"], startedAt: try r["started_at"], updatedAt: try r["updated_at"], detail: try r["detail"])
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["provider"] = provider
        container["scope"] = scope
        container["old_key_id"] = oldKeyId
        container["new_key_id"] = newKeyId
        container["trigger"] = trigger
        container["step"] = step
        container["started_at"] = startedAt
        container["updated_at"] = updatedAt
        container["detail"] = detail
    }
}
