import KeywardenCrypto
import Logging

/// An unlocked vault: its store plus the master key and the subkeys derived
/// from it. Every operation that changes the vault writes its audit event in
/// the same transaction, so a change without its event cannot be committed.
///
/// The vault holds no SQL: it reads and writes typed records through its
/// `store` (Storage/VaultStore.swift), one transaction per `read` or `write`.
public final class Vault: Sendable {
    /// The vault's SQLite file, when the vault is one (the embedded store).
    public var database: VaultDatabase? { store as? VaultDatabase }
    /// The vault's PostgreSQL database, when it lives in one.
    public var postgres: PostgresStore? { store as? PostgresStore }
    /// Where the vault lives, as shown to users (a path, or a URL without its password).
    public var shownLocation: String { store.displayLocation }
    /// Random identity of this vault, bound into every ciphertext.
    public let vaultID: String
    public let context: VaultContext
    /// Where the rows live; every transaction goes through it.
    let store: any VaultStore
    let masterKey: SymmetricKey
    let sealingKey: SymmetricKey
    let fingerprintKey: SymmetricKey
    let auditKey: SymmetricKey
    /// MACs of security-relevant rows, the audit head and its anchor (RowAuthentication.swift).
    let rowKey: SymmetricKey
    /// When this process writes the audit anchor (every commit, or paced in the agent).
    let anchorPacer: AnchorPacer

    init(store: any VaultStore, vaultID: String, masterKey: SymmetricKey, context: VaultContext) {
        self.store = store
        self.vaultID = vaultID
        self.context = context
        self.masterKey = masterKey
        self.sealingKey = masterKey.derive(.valueSealing)
        self.fingerprintKey = masterKey.derive(.fingerprint)
        self.auditKey = masterKey.derive(.auditChain)
        self.rowKey = masterKey.derive(.rowAuthentication)
        self.anchorPacer = AnchorPacer(interval: context.anchorInterval)
    }

    /// The time of this operation.
    var now: Timestamp { context.clock() }

    /// How this vault's rows are checked and signed in `mode`.
    func rows(_ mode: RowAuthenticator.Mode) -> RowAuthenticator {
        RowAuthenticator(key: rowKey, vaultID: vaultID, mode: mode)
    }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE` on SQLite).
    /// Row MACs are checked on every fetch and set on every write inside it;
    /// once committed, the new audit head is anchored outside the file.
    func write<T>(_ body: (any StoreWriting) throws -> T) throws(KeywardenError) -> T {
        try write(mode: .verify, body)
    }

    func write<T>(mode: RowAuthenticator.Mode, observer: CommitObserver? = nil, _ body: (any StoreWriting) throws -> T) throws(KeywardenError) -> T {
        let anchorDue = anchorPacer.isDue()
        // Task-locals do not reach the store's writer thread: bound again inside.
        let caller = AuditActor.current
        let (result, anchor) = try store.write(rows(mode), observer: observer) { tx in
            try AuditActor.$current.withValue(caller) { (try body(tx), anchorDue ? try anchorUpdate(tx) : nil) }
        }
        if let anchor {
            anchorPacer.write(seq: anchor.seq) { writeAnchor(anchor) }
        } else if !anchorDue {
            anchorPacer.scheduleFlush { [self] in flushAnchor() }
        }
        return result
    }

    /// Runs `body` in one read transaction (a consistent snapshot); every
    /// fetched row of an authenticated table has its MAC checked.
    func read<T>(_ body: (any StoreReading) throws -> T) throws(KeywardenError) -> T {
        try store.read(rows(.verify), body)
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
