import KeywardenCrypto

// MARK: - Unlock-time checks and the one-time upgrade

extension Vault {
    /// Checks, right after unlock, what was read before the key was known
    /// (the header and the keyslots), and computes the MACs of a vault
    /// migrated from v0.1 the first time it is unlocked.
    func checkStoredIntegrity() throws(KeywardenError) {
        let state = try read { tx in try tx.headerMACState() }
        guard let state else {
            throw KeywardenError(.integrity, "the vault header is missing; restore the vault from a backup")
        }
        if !state.hasMAC, state.pending {
            try upgradeRowMACs()
            return
        }
        try read { tx in
            // Reading verifies each row's MAC.
            _ = try tx.header()
            _ = try tx.keyslots()
        }
    }

    /// Computes a MAC for every row of every authenticated table, once: on
    /// the first unlock after migration 0004 set `row_macs_pending` on a
    /// v0.1 vault. Once written, the flag is covered by the header's MAC; an
    /// attacker who strips the header's MAC and sets the flag again must also
    /// make the vault look exactly as migration 0004 leaves a v0.1 vault, or
    /// the upgrade is refused (integrity, exit 4) and nothing is vouched for:
    /// - no valid anchor for this vault on this machine (written only after
    ///   an unlock of this version);
    /// - the chain holds at least one sealed event, and every sealed event is
    ///   before `audit_v2_from_seq`, hashed in the v1 form, contiguous from #1
    ///   and ending exactly at the header's head, which is `audit_v2_from_seq - 1`.
    ///   Every write by this version appends a v2 event at or after
    ///   `audit_v2_from_seq` (a vault created by this version has it at 1, so
    ///   *all* its events are v2), and nobody without the key can hash a
    ///   v1 event, so a vault created or already upgraded by this version
    ///   fails this unless all its v2 events are cut off and the head rewound
    ///   — which only an upgraded v0.1 vault survives, and which is then the
    ///   same as restoring its pre-upgrade backup (see notes, "Upgrading a
    ///   v0.1 vault").
    /// Unsealed events (failed unlocks since the migration) may follow; they
    /// are chained as recorded-locked, as always.
    func upgradeRowMACs() throws(KeywardenError) {
        let refused = RowAuthentication.tampered("the vault header", missing: true)
        if AuditAnchor.anchoredHead(directory: context.anchorDirectory, vaultID: vaultID, key: rowKey) != nil {
            throw refused
        }
        let count = try write(mode: .upgrade) { tx in
            guard let header = try tx.header(),
                  header.rowMacsPending, header.auditV2FromSeq >= 2, header.auditHeadSeq == header.auditV2FromSeq - 1 else {
                throw refused
            }
            let events = try tx.auditEvents(after: 0)
            let sealed = events.filter { $0.hash != nil }
            if sealed.contains(where: { $0.seq >= header.auditV2FromSeq || $0.action == "vault.upgrade" }) {
                throw refused
            }
            var previous = AuditTrail.genesisHash
            var expectedSeq: Int64 = 1
            for record in sealed {
                guard record.seq == expectedSeq, let hash = record.hash,
                      // v2From beyond every event: the v1 form only.
                      constantTimeEquals(Array(try chainHash(previous: previous, record, v2From: .max).utf8), Array(hash.utf8)) else {
                    throw refused
                }
                previous = hash
                expectedSeq += 1
            }
            guard expectedSeq - 1 == header.auditHeadSeq, constantTimeEquals(Array(previous.utf8), Array(header.auditHeadHash.utf8)) else {
                throw refused
            }
            // No unsealed event may sit before the head (they are only ever appended after it).
            if events.contains(where: { $0.hash == nil && $0.seq <= header.auditHeadSeq }) {
                throw refused
            }
            let count = try tx.authenticateEveryRow()
            try appendAudit(AuditDraft(action: "vault.upgrade", outcome: "ok", detail: "row MACs added to \(count) rows (schema 0004)"), tx)
            return count
        }
        context.logger.notice("vault upgraded: row MACs added", metadata: ["rows": "\(count)"])
    }
}
