#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KeywardenCrypto

/// A way to unlock: a keyfile or a passphrase.
public enum UnlockCredential: Sendable {
    case keyfile(path: String)
    case passphrase(SecureBytes)
}

/// A keyslot to create with a new vault or on `keyslot add`.
public enum NewKeyslot: Sendable {
    /// Creates a new keyfile at `path` (0600, never overwriting).
    case keyfile(path: String)
    case passphrase(SecureBytes, PasswordHashParameters)
}

extension Vault {
    /// Creates a new vault with a random master key wrapped in each of `slots`.
    public static func create(at location: VaultLocation, slots: [NewKeyslot], scopes: [String], context: VaultContext) throws(KeywardenError) -> Vault {
        try create(in: .file(location), slots: slots, scopes: scopes, context: context)
    }

    /// Creates a new vault at `address`: a new SQLite file, or the tables of
    /// an empty PostgreSQL database.
    public static func create(in address: VaultAddress, slots: [NewKeyslot], scopes: [String], context: VaultContext) throws(KeywardenError) -> Vault {
        guard !slots.isEmpty else {
            throw KeywardenError(.invalidInput, "a vault needs a way to unlock it: pass --keyfile PATH, set KEYWARDEN_PASSPHRASE, or run in a terminal to type a passphrase")
        }
        let store: any VaultStore = switch address {
        case .file(let location): try VaultDatabase.create(at: location)
        case .postgres(let url): try PostgresStore.create(url)
        }
        let vaultID = randomBytes(16).hexString
        let master = SymmetricKey.random()
        let vault = Vault(store: store, vaultID: vaultID, masterKey: master, context: context)
        var createdKeyfiles: [String] = []
        do {
            var records: [KeyslotRecord] = []
            for slot in slots {
                let record = try vault.makeKeyslot(slot, existing: records.map(\.label))
                if case .keyfile(let path) = slot { createdKeyfiles.append(path) }
                records.append(record)
            }
            try vault.write { tx in
                try tx.insert(VaultHeaderRecord(vaultId: vaultID, createdAt: vault.now, auditHeadSeq: 0, auditHeadHash: AuditTrail.genesisHash))
                for record in records { _ = try tx.insert(record) }
                for scope in scopes {
                    try tx.insert(ScopeRecord(name: scope, parent: nil, createdAt: vault.now))
                }
                let kinds = records.map { "\($0.kind.rawValue) slot '\($0.label)'" }.joined(separator: ", ")
                try vault.appendAudit(AuditDraft(action: "vault.init", outcome: "ok", detail: "created with \(kinds)"), tx)
            }
        } catch {
            for path in createdKeyfiles { unlink(path) }
            switch address {
            case .file(let location):
                for suffix in ["", "-wal", "-shm"] { unlink(location.databasePath + suffix) }
            case .postgres:
                // The tables stay (empty, migrated): dropping them could
                // race another host's `init` on the same database.
                break
            }
            throw error
        }
        return vault
    }

    /// Unlocks with a keyfile or passphrase. A failure is recorded in the audit
    /// trail (unsealed until the next successful unlock) and thrown as `.locked`.
    public static func unlock(_ database: VaultDatabase, with credential: UnlockCredential, context: VaultContext) throws(KeywardenError) -> Vault {
        try unlock(OpenedStore(database), with: credential, context: context)
    }

    /// Unlocks an opened store (SQLite or PostgreSQL).
    public static func unlock(_ opened: OpenedStore, with credential: UnlockCredential, context: VaultContext) throws(KeywardenError) -> Vault {
        let database = opened.store
        // Read before the key is known; verified right after unlock.
        let (header, slots): (VaultHeaderRecord, [KeyslotRecord]) = try database.read(.beforeUnlock) { tx in
            guard let header = try tx.header() else {
                throw KeywardenError.notAVault(database.displayLocation, "the vault header is missing")
            }
            return (header, try tx.keyslots())
        }
        let ad = keyslotAssociatedData(vaultID: header.vaultId)
        var master: SymmetricKey?
        let failure: String
        switch credential {
        case .keyfile(let path):
            let kek = try readKeyfileAuditingFailure(path, store: database, context: context)
            for slot in slots where slot.kind == .keyfile {
                if let key = try? KeyWrapping.unwrap(SealedBox(nonce: Array(slot.nonce), ciphertext: Array(slot.wrappedKey)), with: kek, associatedData: ad) {
                    master = key
                    break
                }
            }
            failure = "keyfile \(path) does not open any keyfile slot of this vault"
        case .passphrase(let passphrase):
            for slot in slots where slot.kind == .passphrase {
                guard let salt = slot.salt, let ops = slot.kdfOps, let mem = slot.kdfMem else { continue }
                let parameters = PasswordHashParameters(opsLimit: UInt64(ops), memLimit: UInt64(mem))
                guard let kek = try? PasswordHashing.deriveKey(passphrase: passphrase, salt: Array(salt), parameters: parameters) else { continue }
                if let key = try? KeyWrapping.unwrap(SealedBox(nonce: Array(slot.nonce), ciphertext: Array(slot.wrappedKey)), with: kek, associatedData: ad) {
                    master = key
                    break
                }
            }
            failure = slots.contains { $0.kind == .passphrase }
                ? "wrong passphrase"
                : "this vault has no passphrase slot; unlock it with its keyfile (--keyfile or KEYWARDEN_KEYFILE)"
        }
        guard let master else {
            AuditTrail.appendUnsealed(AuditDraft(action: "vault.unlock", outcome: "denied", detail: failure), store: database, context: context)
            throw KeywardenError.wrongCredentials(failure)
        }
        let vault = Vault(store: database, vaultID: header.vaultId, masterKey: master, context: context)
        do {
            try vault.checkStoredIntegrity()
        } catch {
            if error.kind == .integrity {
                AuditTrail.appendUnsealed(AuditDraft(action: "vault.unlock", outcome: "integrity", detail: error.message), store: database, context: context)
            }
            throw error
        }
        return vault
    }

    private static func readKeyfileAuditingFailure(_ path: String, store: any VaultStore, context: VaultContext) throws(KeywardenError) -> SymmetricKey {
        do {
            return try Keyfile.read(at: path)
        } catch {
            AuditTrail.appendUnsealed(AuditDraft(action: "vault.unlock", outcome: "denied", detail: error.unlockReason), store: store, context: context)
            throw error
        }
    }

    static func keyslotAssociatedData(vaultID: String) -> [UInt8] {
        BoundFields(["keywarden/keyslot/v1", vaultID]).bytes
    }

    /// A new slot's record; `label` (checked by the caller) replaces the
    /// generated `keyfile-N` / `passphrase-N`.
    func makeKeyslot(_ slot: NewKeyslot, existing labels: [String], label: String? = nil) throws(KeywardenError) -> KeyslotRecord {
        let ad = Self.keyslotAssociatedData(vaultID: vaultID)
        func uniqueLabel(_ base: String) -> String {
            var n = 1
            while labels.contains("\(base)-\(n)") { n += 1 }
            return "\(base)-\(n)"
        }
        do {
            switch slot {
            case .keyfile(let path):
                let kek = try Keyfile.create(at: path)
                let box = try KeyWrapping.wrap(masterKey, with: kek, associatedData: ad)
                return KeyslotRecord(
                    id: nil, kind: .keyfile, label: label ?? uniqueLabel("keyfile"), kdfOps: nil, kdfMem: nil, salt: nil,
                    nonce: Data(box.nonce), wrappedKey: Data(box.ciphertext), createdAt: now)
            case .passphrase(let passphrase, let parameters):
                guard passphrase.count > 0 else { throw KeywardenError(.invalidInput, "the passphrase is empty") }
                let salt = PasswordHashing.randomSalt()
                let kek = try PasswordHashing.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
                let box = try KeyWrapping.wrap(masterKey, with: kek, associatedData: ad)
                return KeyslotRecord(
                    id: nil, kind: .passphrase, label: label ?? uniqueLabel("passphrase"),
                    kdfOps: Int64(parameters.opsLimit), kdfMem: Int64(parameters.memLimit), salt: Data(salt),
                    nonce: Data(box.nonce), wrappedKey: Data(box.ciphertext), createdAt: now)
            }
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw KeywardenError(.failed, "cannot create the keyslot: \(error)")
        }
    }
}
