/// Keys: add, list, show, reveal, remove, activate.
public enum Keys {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [Add.self, List.self, Show.self, Reveal.self, Remove.self, Activate.self]

    /// `key add`: stores a new key; the value comes from stdin or a prompt, never argv.
    public struct Add: ServiceOperation {
        public static let name = "keys.add"
        public var provider: String
        public var scope: String
        public var label: String?
        public var env: String?
        public var value: Secret
        public var activate: Bool
        public var force: Bool
        /// An admin or management key for a built-in rotator: never delivered unless asked.
        public var admin: Bool?
        /// `--expires`: a duration from now (`90d`) or a UTC date, read with the vault's clock (``KeyExpiry/parse(_:now:)``).
        public var expires: String?

        public init(provider: String, scope: String, label: String?, env: String?, value: Secret, activate: Bool, force: Bool, admin: Bool = false) {
            (self.provider, self.scope, self.label, self.env, self.value, self.activate, self.force) = (provider, scope, label, env, value, activate, force)
            self.admin = admin ? true : nil
        }

        /// The request with `--expires`.
        public func expiring(_ text: String?) -> Add {
            var request = self
            request.expires = text
            return request
        }

        public func run(in session: ServiceSession) async throws -> AddedKey {
            try await session.vault { vault in
                try vault.addKey(provider: provider, scope: scope, label: label, env: env, value: value, activate: activate, force: force,
                                 role: admin == true ? .admin : nil, expires: expires)
            }
        }
    }

    /// `key list`: metadata only.
    public struct List: ServiceOperation {
        public static let name = "keys.list"
        public var filter: KeyFilter

        public init(_ filter: KeyFilter) { self.filter = filter }

        public func run(in session: ServiceSession) async throws -> [KeyInfo] {
            try await session.vault { vault in try vault.listKeys(filter) }
        }
    }

    /// `key show`: one key's metadata.
    public struct Show: ServiceOperation {
        public static let name = "keys.show"
        public var id: String

        public init(id: String) { self.id = id }

        public func run(in session: ServiceSession) async throws -> KeyInfo {
            try await session.vault { vault in try vault.key(id: id) }
        }
    }

    /// `key show --reveal` (and `report --env`'s search): a key's value,
    /// audited before it is returned.
    public struct Reveal: ServiceOperation {
        public static let name = "keys.reveal"
        public var id: String
        /// Why, for the audit trail (`key show --reveal`).
        public var purpose: String

        public init(id: String, purpose: String) {
            self.id = id
            self.purpose = purpose
        }

        public func run(in session: ServiceSession) async throws -> RevealedKey {
            try await session.vault { vault in
                let (key, value) = try vault.revealKey(id: id, detail: String(purpose.prefix(120).filter { !$0.isNewline }))
                return RevealedKey(key: key, value: value)
            }
        }
    }

    /// `key rm`.
    public struct Remove: ServiceOperation {
        public static let name = "keys.remove"
        public var id: String
        public var force: Bool

        public init(id: String, force: Bool) {
            self.id = id
            self.force = force
        }

        public func run(in session: ServiceSession) async throws -> RemovedKey {
            try await session.vault { vault in
                let (removed, promoted) = try vault.removeKey(id: id, force: force)
                return RemovedKey(removed: removed, promoted: promoted)
            }
        }
    }

    /// `key activate`.
    public struct Activate: ServiceOperation {
        public static let name = "keys.activate"
        public var id: String

        public init(id: String) { self.id = id }

        public func run(in session: ServiceSession) async throws -> ActivatedKey {
            try await session.vault { vault in
                let (key, demoted) = try vault.activateKey(id: id)
                return ActivatedKey(key: key, demoted: demoted)
            }
        }
    }
}

/// A key with its value.
public struct RevealedKey: Codable, Sendable {
    public var key: KeyInfo
    public var value: Secret
}

/// What `key rm` did: the removed key, and the standby promoted in its place.
public struct RemovedKey: Codable, Sendable {
    public var removed: KeyInfo
    public var promoted: KeyInfo?
}

/// What `key activate` did: the key, and the id of the one demoted to standby.
public struct ActivatedKey: Codable, Sendable {
    public var key: KeyInfo
    public var demoted: String?
}

extension KeywardenService {
    public func addKey(_ request: Keys.Add) async throws -> AddedKey { try await perform(request) }
    public func listKeys(_ filter: KeyFilter) async throws -> [KeyInfo] { try await perform(Keys.List(filter)) }
    public func key(id: String) async throws -> KeyInfo { try await perform(Keys.Show(id: id)) }
    public func revealKey(id: String, purpose: String) async throws -> RevealedKey { try await perform(Keys.Reveal(id: id, purpose: purpose)) }
    public func removeKey(id: String, force: Bool) async throws -> RemovedKey { try await perform(Keys.Remove(id: id, force: force)) }
    public func activateKey(id: String) async throws -> ActivatedKey { try await perform(Keys.Activate(id: id)) }
}
