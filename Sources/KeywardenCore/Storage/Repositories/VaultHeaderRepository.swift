/// The vault's header row: its identity and the audit chain's head.
protocol VaultHeaderReading {
    /// The header; nil only in a damaged vault.
    func header() throws -> VaultHeaderRecord?
    /// Whether the header row carries a MAC and has `row_macs_pending` set,
    /// read without checking that MAC: what decides the one-time upgrade of
    /// migration 0004. Nil when there is no header.
    func headerMACState() throws -> (hasMAC: Bool, pending: Bool)?
    /// How many rows each table holds, counted without reading them.
    func counts() throws -> VaultCounts
}

protocol VaultHeaderWriting: VaultHeaderReading {
    func insert(_ header: VaultHeaderRecord) throws
    func update(_ header: VaultHeaderRecord) throws
    /// The header, to be updated in this transaction: audit appends are
    /// serialized on it (a backend with concurrent writers locks the row).
    func headerForUpdate() throws -> VaultHeaderRecord?
    /// The one-time upgrade after migration 0004: clears `row_macs_pending`
    /// and gives every row of every authenticated table its MAC, computed
    /// from the values stored. Returns how many rows, the header excluded.
    func authenticateEveryRow() throws -> Int
}

/// The keyslots, each wrapping the master key.
protocol KeyslotReading {
    /// Every keyslot, by id.
    func keyslots() throws -> [KeyslotRecord]
}

protocol KeyslotWriting: KeyslotReading {
    /// Inserts a keyslot and returns the id it was given.
    func insert(_ slot: KeyslotRecord) throws -> Int64
    func update(_ slot: KeyslotRecord) throws
    func delete(_ slot: KeyslotRecord) throws
}
