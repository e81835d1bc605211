/// Where a vault's rows live, as a user names it: the SQLite file (the
/// embedded default) or a PostgreSQL database shared by many hosts.
///
/// `KEYWARDEN_DATABASE_URL=postgres://…` (or `--database`) selects
/// PostgreSQL; without it the vault is the file `VaultLocation` resolves.
public enum VaultAddress: Sendable, Equatable {
    case file(VaultLocation)
    case postgres(DatabaseURL)

    /// The address `database` (a `--database` value) or the environment names.
    /// A password is refused in `database`: a command line is visible to
    /// every user of the machine (`ps`); it belongs in
    /// `KEYWARDEN_DATABASE_PASSWORD` or the URL in `KEYWARDEN_DATABASE_URL`.
    public static func resolve(environment: [String: String], database: String? = nil) throws(KeywardenError) -> VaultAddress {
        let password = environment["KEYWARDEN_DATABASE_PASSWORD"]
        if let database, !database.isEmpty {
            if DatabaseURL.hasPassword(database) {
                throw KeywardenError(.invalidInput, "--database \(DatabaseURL.redact(database)) carries a password, which every user can read in the process list; put the password in KEYWARDEN_DATABASE_PASSWORD (or the whole URL in KEYWARDEN_DATABASE_URL) instead. Nothing was changed")
            }
            guard DatabaseURL.isPostgres(database) else {
                throw KeywardenError(.invalidInput, "--database \(database) is not a postgres:// URL; for a vault file set KEYWARDEN_HOME to its folder")
            }
            return .postgres(try DatabaseURL(database, password: password))
        }
        if let url = environment["KEYWARDEN_DATABASE_URL"], !url.isEmpty {
            guard DatabaseURL.isPostgres(url) else {
                throw KeywardenError(.invalidInput, "KEYWARDEN_DATABASE_URL=\(DatabaseURL.redact(url)) is not a postgres:// URL; unset it to use the vault file")
            }
            return .postgres(try DatabaseURL(url, password: password))
        }
        return .file(try VaultLocation.resolve(environment: environment))
    }

    /// As shown to users: the file's path, or the URL without its password.
    public var shown: String {
        switch self {
        case .file(let location): location.databasePath
        case .postgres(let url): url.redacted
        }
    }

    /// Opens the vault's store (migrating an older schema), before unlock.
    public func open() throws(KeywardenError) -> OpenedStore {
        switch self {
        case .file(let location): OpenedStore(store: try VaultDatabase.open(at: location))
        case .postgres(let url): OpenedStore(store: try PostgresStore.open(url))
        }
    }
}

/// A vault's store, opened and not yet unlocked (`Vault.unlock`).
public struct OpenedStore: Sendable {
    let store: any VaultStore

    public init(_ database: VaultDatabase) { store = database }
    init(store: any VaultStore) { self.store = store }

    /// Where it lives, as shown to users.
    public var shown: String { store.displayLocation }
}
