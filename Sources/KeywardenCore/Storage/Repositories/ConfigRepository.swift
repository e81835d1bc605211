/// Config entries, sealed.
protocol ConfigReading {
    func configEntry(scope: String, name: String) throws -> ConfigEntryRecord?
    /// Whether the entry exists (its row is not read).
    func configEntryExists(scope: String, name: String) throws -> Bool
    /// A scope's entries by name, or with nil every entry by scope and name.
    func configEntries(scope: String?) throws -> [ConfigEntryRecord]
    /// How many entries a scope has (their rows are not read).
    func countConfigEntries(scope: String) throws -> Int
}

protocol ConfigWriting: ConfigReading {
    /// Inserts the entry, or replaces the one with its id.
    func save(_ entry: ConfigEntryRecord) throws
    func delete(_ entry: ConfigEntryRecord) throws
}
