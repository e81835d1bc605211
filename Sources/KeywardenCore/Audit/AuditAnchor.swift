#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeywardenCrypto

/// The audit chain's head, kept outside the vault file. The head inside the
/// file is authenticated, but an older copy of the whole file carries an older
/// head with a valid MAC; only a record that the file does not contain can
/// tell that the file went back in time. After each committed audit append the
/// vault writes `<vault id>.anchor` (seq, hash and a MAC under the row key) in
/// its state folder: `$KEYWARDEN_STATE_DIR`, else `$XDG_STATE_HOME/keywarden`,
/// else `~/.local/state/keywarden` — never the vault's own folder, which is
/// what a restore or a sync replaces.
public enum AuditAnchor {
    /// The newest event the vault vouched for.
    struct Head: Equatable, Sendable {
        var seq: Int64
        var hash: String
    }

    /// What is found at the anchor's path.
    enum State: Equatable {
        /// No state folder is configured (a library caller chose none).
        case disabled
        case missing(path: String)
        /// Truncated or garbled (e.g. a crash while it was replaced).
        case unreadable(path: String)
        /// Its MAC does not match: not written by this vault's key.
        case forged(path: String)
        case valid(Head, path: String)
    }

    /// The default state folder for `environment`; nil without a home.
    public static func defaultDirectory(environment: [String: String]) -> String? {
        if let dir = environment["KEYWARDEN_STATE_DIR"], !dir.isEmpty { return dir }
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/keywarden" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.local/state/keywarden" }
        return nil
    }

    static func path(directory: String, vaultID: String) -> String {
        directory + "/" + vaultID + ".anchor"
    }

    static func mac(_ head: Head, vaultID: String, key: SymmetricKey) -> String {
        let input = BoundFields(["keywarden/anchor/v1", vaultID, String(head.seq), head.hash]).bytes
        return ((try? KeyedHash.hash([input], key: key)) ?? []).hexString
    }

    static func encode(_ head: Head, vaultID: String, key: SymmetricKey) -> [UInt8] {
        Array("""
        keywarden-audit-anchor v1
        vault \(vaultID)
        seq \(head.seq)
        hash \(head.hash)
        mac \(mac(head, vaultID: vaultID, key: key))

        """.utf8)
    }

    static func state(directory: String?, vaultID: String, key: SymmetricKey) -> State {
        guard let directory else { return .disabled }
        let path = path(directory: directory, vaultID: vaultID)
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return errno == ENOENT ? .missing(path: path) : .unreadable(path: path) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard n > 0 else { return .unreadable(path: path) }
        var fields: [String: String] = [:]
        for line in String(decoding: buffer[..<n], as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard fields["keywarden-audit-anchor"] == "v1", let seqText = fields["seq"], let seq = Int64(seqText),
              let hash = fields["hash"], hash.utf8.count == 64, let stored = fields["mac"] else {
            return .unreadable(path: path)
        }
        let head = Head(seq: seq, hash: hash)
        guard fields["vault"] == vaultID,
              constantTimeEquals(Array(mac(head, vaultID: vaultID, key: key).utf8), Array(stored.utf8)) else {
            return .forged(path: path)
        }
        return .valid(head, path: path)
    }

    /// The anchored head, when a valid anchor exists.
    static func anchoredHead(directory: String?, vaultID: String, key: SymmetricKey) -> Head? {
        if case .valid(let head, _) = state(directory: directory, vaultID: vaultID, key: key) { return head }
        return nil
    }

    /// Replaces the anchor: a 0600 file in a 0700 folder, by rename, so a
    /// reader sees the old anchor or the new one. Not fsynced, on purpose: it
    /// is written after the database commit, so a crash can leave it behind
    /// the file (accepted) but never ahead of it (a false rollback alarm), and
    /// it costs the agent's batches one small write and one rename.
    static func store(_ head: Head, directory: String, vaultID: String, key: SymmetricKey) throws(KeywardenError) {
        try SecureFiles.ensurePrivateDirectory(directory)
        let target = path(directory: directory, vaultID: vaultID)
        var template = Array("\(target).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SecureFiles.posixError("cannot create a temporary file in \(directory)") }
        let temporary = String(cString: template)
        let bytes = encode(head, vaultID: vaultID, key: key)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        close(fd)
        guard written == bytes.count, rename(temporary, target) == 0 else {
            let error = SecureFiles.posixError("cannot write the audit anchor \(target)")
            unlink(temporary)
            throw error
        }
    }
}

extension Vault {
    /// Inside a write transaction, after its body: the head to anchor once
    /// the transaction commits, or nil. An anchor that is ahead of this file,
    /// that diverges from its chain, or that this key did not write is never
    /// overwritten: it is the evidence `audit verify` reports.
    func anchorUpdate(_ tx: any StoreReading) throws -> AuditAnchor.Head? {
        guard context.anchorDirectory != nil, let header = try tx.header(), header.auditHeadSeq > 0 else { return nil }
        let head = AuditAnchor.Head(seq: header.auditHeadSeq, hash: header.auditHeadHash)
        switch AuditAnchor.state(directory: context.anchorDirectory, vaultID: vaultID, key: rowKey) {
        case .disabled, .forged:
            return nil
        case .missing, .unreadable:
            return head
        case .valid(let anchored, _):
            guard anchored.seq < head.seq else { return nil }
            let hash = try tx.auditHash(seq: anchored.seq)
            return hash == anchored.hash ? head : nil
        }
    }

    /// Anchors the newest committed head now, if this process skipped it
    /// (the agent paces its anchor writes): on `lock`, at shutdown, and
    /// shortly after the last skipped commit.
    public func flushAnchor() {
        let head: AuditAnchor.Head?
        do {
            head = try read { tx in try anchorUpdate(tx) }
        } catch {
            context.logger.warning("cannot read the audit head to anchor it", metadata: ["error": "\(error.message)"])
            return
        }
        guard let head else { return }
        anchorPacer.write(seq: head.seq) { writeAnchor(head) }
    }

    /// Writes the anchor after a commit. A failure is logged, not thrown: the
    /// change is committed, and `audit verify` reports a missing anchor.
    func writeAnchor(_ head: AuditAnchor.Head) {
        guard let directory = context.anchorDirectory else { return }
        do {
            try AuditAnchor.store(head, directory: directory, vaultID: vaultID, key: rowKey)
        } catch {
            context.logger.warning("cannot write the audit anchor", metadata: ["error": "\(error.message)"])
        }
    }

    /// Compares the verified chain's head with the anchor: a problem when the
    /// file is behind or beside it, a note when there is none yet (recorded
    /// now). `eventHash` looks up a verified event's hash by seq.
    func checkAnchor(head: AuditAnchor.Head, eventHash: (Int64) throws -> String?) rethrows -> (problem: String?, badSeq: Int64?, note: String?) {
        switch AuditAnchor.state(directory: context.anchorDirectory, vaultID: vaultID, key: rowKey) {
        case .disabled:
            return (nil, nil, "no state folder is set, so the chain's head is not anchored outside the file (set KEYWARDEN_STATE_DIR or HOME)")
        case .missing(let path):
            if head.seq > 0 { writeAnchor(head) }
            return (nil, nil, "no anchor for this vault at \(path) (first verify on this machine, or it was removed); recorded event #\(head.seq). A restored older copy of the file is detected from now on")
        case .unreadable(let path):
            if head.seq > 0 { writeAnchor(head) }
            return (nil, nil, "the anchor \(path) was unreadable (an interrupted write?); replaced with event #\(head.seq)")
        case .forged(let path):
            return ("the anchor \(path) was not written with this vault's key (altered, or copied from another vault); if you trust this vault file, remove the anchor and verify again", nil, nil)
        case .valid(let anchored, let path):
            if anchored.seq > head.seq {
                return ("the vault file ends at event #\(head.seq) but its anchor \(path) records event #\(anchored.seq): an older copy of the file was restored, or events #\(head.seq + 1)…#\(anchored.seq) were removed. If you restored a backup on purpose, remove the anchor and verify again", head.seq + 1, nil)
            }
            guard let hash = try eventHash(anchored.seq), hash == anchored.hash else {
                return ("event #\(anchored.seq) differs from the one anchored at \(path): the file's history was replaced from that event on", anchored.seq, nil)
            }
            if anchored.seq < head.seq { writeAnchor(head) }
            return (nil, nil, nil)
        }
    }
}
