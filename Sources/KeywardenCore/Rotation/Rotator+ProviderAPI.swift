import Foundation
import KeywardenCrypto

/// Rotation through a provider's admin API (`rotate policy … --via`): the
/// create step asks the provider for a new key, a key created but not
/// finished is deleted there again, and at the end of grace the old key is
/// deleted (OpenAI, OpenRouter) or deactivated (Anthropic) there.
///
/// Every call to the provider is audited with the provider-side id, never a
/// value. A call that fails where a key would be left behind at the provider
/// is audited as `failed` and reported as needing a person, naming that id.
extension Rotator {
    /// Why a pool cannot rotate: no standby, and nothing that makes a key.
    static func nothingToRotateTo(_ pool: Pool, _ policy: RotationPolicy?) -> String {
        if policy?.via == .anthropicAdmin {
            return "\(pool) has no healthy standby key; Anthropic's Admin API cannot create keys, so create one in the Console and add it as a standby (`keywarden key add \(pool.provider) --scope \(pool.scope)`)"
        }
        return "\(pool) has no healthy standby key and no rotate command; add a standby key (`keywarden key add \(pool.provider) --scope \(pool.scope)`) or set one (`keywarden rotate policy \(pool.provider) --scope \(pool.scope) --command CMD`)"
    }

    /// Where a new key comes from when there is no standby, for messages.
    static func source(_ policy: RotationPolicy?) -> String {
        if let via = policy?.via, via.creates { return "a key created through \(via.rawValue)" }
        return "a key from the rotate command"
    }

    /// The admin API a policy names, with its admin key opened.
    func adminAPI(_ policy: RotationPolicy, definition: ProviderDefinition) async throws(KeywardenError) -> ProviderAdminAPI {
        guard let via = policy.via, let text = policy.adminKey else {
            throw KeywardenError(.invalidInput, "the rotation policy of \(policy.provider)/\(policy.scope) names no built-in rotator with an admin key")
        }
        let reference = try AdminKeyReference(parsing: text)
        let (_, value) = try await onVault { [vault] in try vault.openAdminKey(reference, provider: via.provider) }
        return ProviderAdminAPI(kind: via, definition: definition, adminKey: value, reference: reference, project: policy.project,
                                client: validator.client, timeout: validator.timeout)
    }

    /// Create and set through the API: the provider makes the key, which is
    /// stored as `pending` with its provider-side id in one transaction. If
    /// it cannot be stored, it is deleted at the provider again.
    func createThroughAPI(_ policy: RotationPolicy, definition: ProviderDefinition, old: KeyRecord,
                          rotation: RotationRecord) async throws(KeywardenError) -> (KeyRecord, RotationRecord) {
        let api = try await adminAPI(policy, definition: definition)
        // Named after the rotation, so a person can tell it apart at the provider.
        let created: CreatedProviderKey
        do throws(KeywardenError) {
            created = try await api.create(name: Self.upstreamName(rotation.id))
        } catch {
            if error.isLockedMeanwhile || error.kind == .invalidInput { throw error }
            // The provider may have made the key although no usable answer came
            // back (a timeout after it acted, a 5xx from a proxy, an answer
            // without an id): look for it by its name and delete it, audited.
            let note = try await sweepUnstored(rotation.id, pool: rotation.pool)
            throw KeywardenError(error.kind, note.map { "\(error.message); \($0)" } ?? error.message)
        }
        checkpoint("created")
        let display = definition.displayName
        do throws(KeywardenError) {
            try Vault.checkKeyValue(created.value)
            if let format = definition.keyFormat, !Vault.matches(created.value, format) {
                throw KeywardenError(.failed, "\(display) answered with a key (\(created.value.count) bytes) that does not look like a \(display) key (expected \(format.description))")
            }
            return try await onVault { [self, rotation] in try vault.write { tx in
                let added = try vault.insertKey(provider: definition, scope: rotation.scope, label: "rotated-\(rotation.id.dropFirst(2))", env: old.env,
                                                value: created.value, activate: false, providerKeyID: created.providerKeyID,
                                                auditDetail: "created through \(api.kind.rawValue) as \(created.providerKeyID) (\(rotation.id))", tx)
                return try setPending(added.key.id, in: rotation, tx)
            } }
        } catch {
            let note = await deleteUpstream(api, providerKeyID: created.providerKeyID, keyID: nil, pool: rotation.pool,
                                            why: "created for \(rotation.id) but not stored")
            throw KeywardenError(error.kind, "\(error.message); \(note.text)")
        }
    }

    /// The name a key created for `rotationID` has at the provider.
    static func upstreamName(_ rotationID: String) -> String { "keywarden-\(rotationID)" }

    /// A rotation rolled back at create, under a rotator that creates keys:
    /// a key made at the provider but never stored (a crash between the
    /// provider's answer and the commit) is found by its name and deleted.
    /// nil when the policy creates no keys or none was found.
    func sweepUnstored(_ rotationID: String, pool: Pool) async throws(KeywardenError) -> String? {
        let (policy, definition) = try await onVault { [vault] in
            (try vault.rotationPolicy(provider: pool.provider, scope: pool.scope), try vault.provider(named: pool.provider))
        }
        guard let policy, policy.via?.creates == true else { return nil }
        let found: [String]
        let api: ProviderAdminAPI
        do throws(KeywardenError) {
            api = try await adminAPI(policy, definition: definition)
            found = try await api.keys(named: Self.upstreamName(rotationID))
        } catch {
            if error.isLockedMeanwhile { throw error }
            let text = "NEEDS A PERSON: could not look for a key named \(Self.upstreamName(rotationID)) left at \(definition.displayName) by the interrupted \(rotationID) (\(error.message)); delete it by hand if there is one"
            _ = try? await onVault { [vault] in
                try vault.recordAudit(AuditDraft(action: "rotate.upstream_delete", provider: pool.provider, scope: pool.scope, outcome: "failed", detail: text))
            }
            return text
        }
        guard !found.isEmpty else { return nil }
        var notes: [String] = []
        for id in found {
            notes.append(await deleteUpstream(api, providerKeyID: id, keyID: nil, pool: pool, why: "created for \(rotationID), never stored").text)
        }
        return notes.joined(separator: "; ")
    }

    /// Deletes at the provider a key created for a rotation that did not
    /// finish, and marks it `revoked` here. Returns the sentence for the report.
    func discardCreated(_ keyID: String, rotationID: String) async throws(KeywardenError) -> String {
        let found: (KeyRecord, RotationPolicy?, ProviderDefinition)? = try await onVault { [vault] in
            guard let key = try vault.read({ tx in try tx.key(id: keyID) }), key.providerKeyId != nil else { return nil }
            return (key, try vault.rotationPolicy(provider: key.provider, scope: key.scope), try vault.provider(named: key.provider))
        }
        guard let (key, policy, definition) = found, let providerKeyID = key.providerKeyId else { return "" }
        let api: ProviderAdminAPI
        do throws(KeywardenError) {
            guard let policy, policy.via?.creates == true else {
                throw KeywardenError(.invalidInput, "the pool's policy no longer names the rotator that created it")
            }
            api = try await adminAPI(policy, definition: definition)
        } catch {
            if error.isLockedMeanwhile { throw error }
            let text = "NEEDS A PERSON: key \(key.id) was created at \(definition.displayName) as \(providerKeyID) and could not be deleted there (\(error.message)); delete it by hand"
            try await onVault { [vault] in
                try vault.recordAudit(AuditDraft(action: "rotate.upstream_delete", provider: key.provider, scope: key.scope, keyID: key.id,
                                                 fingerprint: key.fingerprint, outcome: "failed", detail: text))
            }
            return text
        }
        let note = await deleteUpstream(api, providerKeyID: providerKeyID, keyID: key.id, pool: key.pool, why: "created for \(rotationID), which did not finish")
        if note.ok {
            try await onVault { [vault] in try vault.write { tx in
                guard var current = try tx.key(id: key.id), current.state == .failed || current.state == .pending else { return }
                current.state = .revoked
                current.lastDetail = "deleted at \(definition.displayName) (\(providerKeyID)) after \(rotationID) did not finish"
                current.updatedAt = vault.now
                try tx.update(current)
            } }
        }
        return note.text
    }

    /// One delete at the provider, audited either way.
    func deleteUpstream(_ api: ProviderAdminAPI, providerKeyID: String, keyID: String?, pool: Pool, why: String) async -> (ok: Bool, text: String) {
        let display = api.definition.displayName
        let result: (ok: Bool, text: String)
        do throws(KeywardenError) {
            try await api.delete(providerKeyID: providerKeyID)
            result = (true, "deleted \(providerKeyID) at \(display) again (\(why))")
        } catch {
            result = (false, "NEEDS A PERSON: \(providerKeyID) (\(why)) could not be deleted at \(display): \(error.message); delete it by hand")
        }
        _ = try? await onVault { [vault] in
            try vault.recordAudit(AuditDraft(action: "rotate.upstream_delete", provider: pool.provider, scope: pool.scope, keyID: keyID,
                                             outcome: result.ok ? "ok" : "failed", detail: result.text))
        }
        return result
    }

    /// End of grace through the API: delete the old key (OpenAI, OpenRouter;
    /// only a key Keywarden created has an id there) or deactivate it
    /// (Anthropic, found by its `partial_key_hint`). Audited; returns the
    /// sentence for the report and whether it worked.
    func retireUpstream(_ key: KeyRecord, policy: RotationPolicy) async -> (String, Bool) {
        guard let via = policy.via else { return ("", true) }
        let display: String
        let api: ProviderAdminAPI
        do throws(KeywardenError) {
            let definition = try await onVault { [vault] in try vault.provider(named: key.provider) }
            display = definition.displayName
            api = try await adminAPI(policy, definition: definition)
        } catch {
            let text = "NEEDS A PERSON: could not \(via.retireVerb) \(key.id) at \(key.provider) through \(via.rawValue): \(error.message); do it by hand"
            _ = try? await onVault { [vault] in
                try vault.recordAudit(AuditDraft(action: "rotate.upstream_\(via.retireVerb)", provider: key.provider, scope: key.scope, keyID: key.id,
                                                 fingerprint: key.fingerprint, outcome: "failed", detail: text))
            }
            return (text, false)
        }
        if via.creates {
            guard let providerKeyID = key.providerKeyId else {
                return ("\(key.id) was not created through \(via.rawValue) (no provider-side id): revoke it at \(display) by hand", true)
            }
            let note = await deleteUpstream(api, providerKeyID: providerKeyID, keyID: key.id, pool: key.pool, why: "its grace period ended")
            return (note.text, note.ok)
        }
        // Anthropic: find the key by its hint, compared in guarded memory.
        var text: String
        var ok = true
        do throws(KeywardenError) {
            let value = try await onVault { [vault] in try vault.open(nonce: key.nonce, ciphertext: key.ciphertext, for: RowBinding(key: key)) }
            let id = try await api.findAnthropicKey(matching: value, keyID: key.id)
            try await api.delete(providerKeyID: id)
            text = "set \(key.id) (\(key.hint), \(id) at \(display)) inactive"
        } catch {
            ok = false
            text = "NEEDS A PERSON: could not deactivate \(key.id) (\(key.hint)) at \(display): \(error.message); set it inactive in the Console"
        }
        _ = try? await onVault { [vault, text, ok] in
            try vault.recordAudit(AuditDraft(action: "rotate.upstream_deactivate", provider: key.provider, scope: key.scope, keyID: key.id,
                                             fingerprint: key.fingerprint, outcome: ok ? "ok" : "failed", detail: text))
        }
        return (text, ok)
    }
}
