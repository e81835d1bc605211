import Foundation
import GRDB
import KeywardenCrypto
import Logging

/// An unlocked vault: the database plus the master key and the subkeys derived
/// from it. Every operation that changes the vault writes its audit event in
/// the same transaction, so a change without its event cannot be committed.
public final class Vault: Sendable {
    public let database: VaultDatabase
    /// Random identity of this vault, bound into every ciphertext.
    public let vaultID: String
    public let context: VaultContext
    let masterKey: SymmetricKey
    let sealingKey: SymmetricKey
    let fingerprintKey: SymmetricKey
    let auditKey: SymmetricKey
    /// MACs of security-relevant rows, the audit head and its anchor (RowAuthentication.swift).
    let rowKey: SymmetricKey
    /// When this process writes the audit anchor (every commit, or paced in the agent).
    let anchorPacer: AnchorPacer

    init(database: VaultDatabase, vaultID: String, masterKey: SymmetricKey, context: VaultContext) {
        self.database = database
        self.vaultID = vaultID
        self.context = context
        self.masterKey = masterKey
        self.sealingKey = masterKey.derive(.valueSealing)
        self.fingerprintKey = masterKey.derive(.fingerprint)
        self.auditKey = masterKey.derive(.auditChain)
        self.rowKey = masterKey.derive(.rowAuthentication)
        self.anchorPacer = AnchorPacer(interval: context.anchorInterval)
    }

    var writer: DatabasePool { database.writer }
    var now: String { context.clock().iso8601 }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction, mapping database
    /// errors to messages a user can act on.
    /// Row MACs are checked on every fetch and set on every write inside it;
    /// once committed, the new audit head is anchored outside the file.
    func write<T>(_ body: (Database) throws -> T) throws(KeywardenError) -> T {
        try write(mode: .verify, body)
    }

    func write<T>(mode: RowAuthenticator.Mode, observer: CommitObserver? = nil, _ body: (Database) throws -> T) throws(KeywardenError) -> T {
        let authenticator = RowAuthenticator(key: rowKey, vaultID: vaultID, mode: mode)
        let anchorDue = anchorPacer.isDue()
        // Task-locals do not reach GRDB's writer queue: bound again inside.
        let caller = AuditActor.current
        do {
            let (result, anchor): (T, AuditAnchor.Head?)
            if let observer {
                (result, anchor) = try writer.writeWithoutTransaction { db in
                    // `PRAGMA data_version` changes only when another connection
                    // (another process) commits: read it inside the transaction
                    // and again after COMMIT, still on the writer, to tell the
                    // observer whether this commit was the only one in between.
                    var outcome: (T, AuditAnchor.Head?)?
                    var versionBefore: Int?
                    try db.inTransaction(.immediate) {
                        versionBefore = try Int.fetchOne(db, sql: "PRAGMA data_version")
                        observer.inTransaction()
                        outcome = try AuditActor.$current.withValue(caller) {
                            try RowAuthenticator.$current.withValue(authenticator) { (try body(db), anchorDue ? try anchorUpdate(db) : nil) }
                        }
                        return .commit
                    }
                    observer.afterCommit()
                    let versionAfter = try Int.fetchOne(db, sql: "PRAGMA data_version")
                    observer.confirm(versionBefore != nil && versionBefore == versionAfter)
                    return outcome!
                }
            } else {
                (result, anchor) = try writer.write { db in
                    try AuditActor.$current.withValue(caller) {
                    try RowAuthenticator.$current.withValue(authenticator) {
                        let result = try body(db)
                        return (result, anchorDue ? try anchorUpdate(db) : nil)
                    }
                    }
                }
            }
            if let anchor {
                anchorPacer.write(seq: anchor.seq) { writeAnchor(anchor) }
            } else if !anchorDue {
                anchorPacer.scheduleFlush { [self] in flushAnchor() }
            }
            return result
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw Self.mapStorageError(error)
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(KeywardenError) -> T {
        let authenticator = RowAuthenticator(key: rowKey, vaultID: vaultID, mode: .verify)
        do {
            return try writer.read { db in try RowAuthenticator.$current.withValue(authenticator) { try body(db) } }
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw Self.mapStorageError(error)
        }
    }

    static func mapStorageError(_ error: any Error) -> KeywardenError {
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return KeywardenError(.failed, "the vault is busy (another keywarden process is writing); try again")
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return KeywardenError(.integrity, "the vault file is damaged: \(error.message ?? "corrupt"); restore it from a backup")
            case .SQLITE_FULL:
                return KeywardenError(.failed, "the disk is full; nothing was changed")
            case .SQLITE_CONSTRAINT:
                return KeywardenError(.conflict, "the vault refused the change (\(error.message ?? "constraint")); nothing was changed")
            default:
                return KeywardenError(.failed, "storage error: \(error.message ?? "\(error.resultCode)")")
            }
        }
        return KeywardenError(.failed, "storage error: \(error)")
    }
}

/// Watches one commit from inside the writer, for a cache that must notice
/// other processes' commits but not its own process's audit writes (the
/// agent's active-key cache). `inTransaction` runs after `BEGIN IMMEDIATE`,
/// when no other process can commit; `afterCommit` right after `COMMIT`;
/// then `confirm(true)` when no other connection committed in between, which
/// makes what `afterCommit` saw the result of this commit alone.
public struct CommitObserver {
    public var inTransaction: () -> Void
    public var afterCommit: () -> Void
    public var confirm: (_ onlyThisCommit: Bool) -> Void

    public init(inTransaction: @escaping () -> Void, afterCommit: @escaping () -> Void, confirm: @escaping (_ onlyThisCommit: Bool) -> Void) {
        self.inTransaction = inTransaction
        self.afterCommit = afterCommit
        self.confirm = confirm
    }
}

// MARK: - Creating and unlocking

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
        guard !slots.isEmpty else {
            throw KeywardenError(.invalidInput, "a vault needs a way to unlock it: pass --keyfile PATH, set KEYWARDEN_PASSPHRASE, or run in a terminal to type a passphrase")
        }
        let database = try VaultDatabase.create(at: location)
        let vaultID = randomBytes(16).hexString
        let master = SymmetricKey.random()
        let vault = Vault(database: database, vaultID: vaultID, masterKey: master, context: context)
        var createdKeyfiles: [String] = []
        do {
            var records: [KeyslotRecord] = []
            for slot in slots {
                let record = try vault.makeKeyslot(slot, existing: records.map(\.label))
                if case .keyfile(let path) = slot { createdKeyfiles.append(path) }
                records.append(record)
            }
            try vault.write { db in
                try VaultHeaderRecord(vaultId: vaultID, createdAt: vault.now, auditHeadSeq: 0, auditHeadHash: AuditTrail.genesisHash).insert(db)
                for var record in records { try record.insert(db) }
                for scope in scopes {
                    try ScopeRecord(name: scope, parent: nil, createdAt: vault.now).insert(db)
                }
                let kinds = records.map { "\($0.kind) slot '\($0.label)'" }.joined(separator: ", ")
                try vault.appendAudit(AuditDraft(action: "vault.init", outcome: "ok", detail: "created with \(kinds)"), db)
            }
        } catch {
            for path in createdKeyfiles { unlink(path) }
            for suffix in ["", "-wal", "-shm"] { unlink(location.databasePath + suffix) }
            throw error
        }
        return vault
    }

    /// Unlocks with a keyfile or passphrase. A failure is recorded in the audit
    /// trail (unsealed until the next successful unlock) and thrown as `.locked`.
    public static func unlock(_ database: VaultDatabase, with credential: UnlockCredential, context: VaultContext) throws(KeywardenError) -> Vault {
        let (header, slots): (VaultHeaderRecord, [KeyslotRecord])
        do {
            // Read before the key is known; verified right after unlock.
            let beforeUnlock = RowAuthenticator(key: nil, vaultID: "", mode: .beforeUnlock)
            (header, slots) = try database.writer.read { db in
                try RowAuthenticator.$current.withValue(beforeUnlock) {
                    guard let header = try VaultHeaderRecord.fetchOne(db) else {
                        throw KeywardenError.notAVault(database.location.databasePath, "the vault header is missing")
                    }
                    return (header, try KeyslotRecord.order(Column("id")).fetchAll(db))
                }
            }
        } catch let error as KeywardenError {
            throw error
        } catch {
            throw mapStorageError(error)
        }
        let ad = keyslotAssociatedData(vaultID: header.vaultId)
        var master: SymmetricKey?
        let failure: String
        switch credential {
        case .keyfile(let path):
            let kek = try readKeyfileAuditingFailure(path, database: database, context: context)
            for slot in slots where slot.kind == "keyfile" {
                if let key = try? KeyWrapping.unwrap(SealedBox(nonce: Array(slot.nonce), ciphertext: Array(slot.wrappedKey)), with: kek, associatedData: ad) {
                    master = key
                    break
                }
            }
            failure = "keyfile \(path) does not open any keyfile slot of this vault"
        case .passphrase(let passphrase):
            for slot in slots where slot.kind == "passphrase" {
                guard let salt = slot.salt, let ops = slot.kdfOps, let mem = slot.kdfMem else { continue }
                let parameters = PasswordHashParameters(opsLimit: UInt64(ops), memLimit: UInt64(mem))
                guard let kek = try? PasswordHashing.deriveKey(passphrase: passphrase, salt: Array(salt), parameters: parameters) else { continue }
                if let key = try? KeyWrapping.unwrap(SealedBox(nonce: Array(slot.nonce), ciphertext: Array(slot.wrappedKey)), with: kek, associatedData: ad) {
                    master = key
                    break
                }
            }
            failure = slots.contains { $0.kind == "passphrase" }
                ? "wrong passphrase"
                : "this vault has no passphrase slot; unlock it with its keyfile (--keyfile or KEYWARDEN_KEYFILE)"
        }
        guard let master else {
            AuditTrail.appendUnsealed(AuditDraft(action: "vault.unlock", outcome: "denied", detail: failure), database: database, context: context)
            throw KeywardenError.wrongCredentials(failure)
        }
        let vault = Vault(database: database, vaultID: header.vaultId, masterKey: master, context: context)
        do {
            try vault.checkStoredIntegrity()
        } catch {
            if error.kind == .integrity {
                AuditTrail.appendUnsealed(AuditDraft(action: "vault.unlock", outcome: "integrity", detail: error.message), database: database, context: context)
            }
            throw error
        }
        return vault
    }

    private static func readKeyfileAuditingFailure(_ path: String, database: VaultDatabase, context: VaultContext) throws(KeywardenError) -> SymmetricKey {
        do {
            return try Keyfile.read(at: path)
        } catch {
            AuditTrail.appendUnsealed(AuditDraft(action: "vault.unlock", outcome: "denied", detail: error.unlockReason), database: database, context: context)
            throw error
        }
    }

    static func keyslotAssociatedData(vaultID: String) -> [UInt8] {
        BoundFields(["keywarden/keyslot/v1", vaultID]).bytes
    }

    func makeKeyslot(_ slot: NewKeyslot, existing labels: [String]) throws(KeywardenError) -> KeyslotRecord {
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
                    id: nil, kind: "keyfile", label: uniqueLabel("keyfile"), kdfOps: nil, kdfMem: nil, salt: nil,
                    nonce: Data(box.nonce), wrappedKey: Data(box.ciphertext), createdAt: now)
            case .passphrase(let passphrase, let parameters):
                guard passphrase.count > 0 else { throw KeywardenError(.invalidInput, "the passphrase is empty") }
                let salt = PasswordHashing.randomSalt()
                let kek = try PasswordHashing.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
                let box = try KeyWrapping.wrap(masterKey, with: kek, associatedData: ad)
                return KeyslotRecord(
                    id: nil, kind: "passphrase", label: uniqueLabel("passphrase"),
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

/// Length-prefixed concatenation of fields, so that no two different field
/// lists encode to the same bytes (`"a|b","c"` vs `"a","b|c"`). Used for
/// associated data and for the audit chain's canonical form.
struct BoundFields {
    private(set) var bytes: [UInt8] = []

    init(_ fields: [String]) {
        for field in fields { append(field) }
    }

    mutating func append(_ field: String) {
        let utf8 = Array(field.utf8)
        var length = UInt32(utf8.count).bigEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: utf8)
    }
}
