/// Rows of the `providers` table: custom providers and overrides of built-ins.
protocol ProviderReading {
    func providerRow(named name: String) throws -> ProviderRecord?
    /// Whether a row exists (it is not read).
    func providerRowExists(_ name: String) throws -> Bool
    /// Every row, by name.
    func providerRows() throws -> [ProviderRecord]
}

protocol ProviderWriting: ProviderReading {
    func insert(_ provider: ProviderRecord) throws
    /// Inserts the row, or replaces the one of the same name.
    func save(_ provider: ProviderRecord) throws
    func delete(_ provider: ProviderRecord) throws
}
