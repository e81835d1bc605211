#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KeywardenCore

/// The audit events of a database outage, for an agent whose vault is in
/// PostgreSQL. While the database cannot be reached, and for no longer than
/// the outage grace (`serve --database-outage-grace`, 10 minutes by
/// default), the agent keeps serving the keys it already holds; the events
/// that record those serves are appended here, one JSON line per event,
/// and fsynced before the answer leaves — durable on this host as a commit
/// would be in the database (DESIGN.md, invariant 8). The first commit that
/// succeeds afterwards writes them into the chain ahead of newer events, with
/// their own times, and empties the file.
///
/// The file is `<state dir>/<vault id>.outage-audit`, 0600 in the 0700 state
/// folder (the audit anchor's). Events name keys by id and fingerprint only;
/// no value is ever in them.
final class OutageSpool: Sendable {
    let path: String

    init(directory: String, vaultID: String) {
        path = directory + "/" + vaultID + ".outage-audit"
    }

    /// One event as stored.
    private struct Line: Codable {
        var action: String
        var provider: String?
        var scope: String?
        var keyID: String?
        var fingerprint: String?
        var outcome: String
        var detail: String?
        var uid: UInt32?
        var pid: Int32?
        var actor: String?
        var at: Int64?

        init(_ draft: AuditDraft) {
            (action, provider, scope, keyID, fingerprint, outcome, detail) =
                (draft.action, draft.provider, draft.scope, draft.keyID, draft.fingerprint, draft.outcome, draft.detail)
            (uid, pid, actor) = (draft.actor?.uid, draft.actor?.pid, draft.actor?.name)
            at = draft.at?.millisecondsSince1970
        }

        var draft: AuditDraft {
            AuditDraft(action: action, provider: provider, scope: scope, keyID: keyID, fingerprint: fingerprint, outcome: outcome,
                       detail: detail, actor: uid.map { AuditActor(uid: $0, pid: pid ?? 0, name: actor ?? "?") },
                       at: at.map(Timestamp.init(millisecondsSince1970:)))
        }
    }

    /// Appends `drafts` and syncs the file; throws when they are not durable.
    func append(_ drafts: [AuditDraft]) throws(KeywardenError) {
        try SecureFiles.ensurePrivateDirectory((path as NSString).deletingLastPathComponent)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw SecureFiles.posixError("cannot open the outage audit file \(path)") }
        defer { close(fd) }
        let encoder = JSONEncoder()
        var bytes: [UInt8] = []
        for draft in drafts {
            guard let line = try? encoder.encode(Line(draft)) else { continue }
            bytes.append(contentsOf: line)
            bytes.append(0x0A)
        }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else { throw SecureFiles.posixError("cannot write the outage audit file \(path)") }
    }

    /// The events kept, oldest first (empty when none). A line that does not
    /// decode (a crash in the middle of a write) is skipped.
    func events() -> [AuditDraft] {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return [] }
        let decoder = JSONDecoder()
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(Line.self, from: Data($0)).draft }
    }

    /// Forgets the events (they are in the database now).
    func clear() {
        unlink(path)
    }
}
