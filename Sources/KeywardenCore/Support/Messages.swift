/// Canned messages, kept together so their wording stays consistent.
extension KeywardenError {
    static func unknownScope(_ name: String) -> KeywardenError {
        .init(.notFound, "unknown scope '\(name)'; see `keywarden scope list`, or create it with `keywarden scope add \(name)`")
    }
    static func unknownProvider(_ name: String) -> KeywardenError {
        .init(.notFound, "unknown provider '\(name)'; see `keywarden provider list`, or define it with `keywarden provider add \(name) --base-url URL`")
    }
    static func unknownKey(_ id: String) -> KeywardenError {
        .init(.notFound, "no key with id '\(id)'; see `keywarden key list`")
    }
    static func unknownConfig(_ name: String, scope: String) -> KeywardenError {
        .init(.notFound, "no config entry '\(name)' in scope '\(scope)' or its parents; see `keywarden config list --scope \(scope)`")
    }
    static func noVault(at path: String) -> KeywardenError {
        .init(.notFound, "no vault at \(path); create one with `keywarden init`, or point KEYWARDEN_HOME at an existing vault folder")
    }
    static func vaultExists(at path: String) -> KeywardenError {
        .init(.conflict, "a vault already exists at \(path); nothing was changed")
    }
    static func notAVault(_ path: String, _ why: String) -> KeywardenError {
        .init(.integrity, "\(path) is not a usable Keywarden vault: \(why)")
    }
    static func wrongCredentials(_ what: String) -> KeywardenError {
        .init(.locked, unlockPrefix + what)
    }
    static func tamperedValue(_ row: String) -> KeywardenError {
        .init(.integrity, "integrity error: the sealed value of \(row) does not open; it was altered, or copied from another row or version. Restore the vault from a backup")
    }
    static func invalidName(_ what: String, _ name: String, _ rule: String) -> KeywardenError {
        .init(.invalidInput, "invalid \(what) '\(name)': \(rule)")
    }
}
