import KeywardenCrypto

/// Operations on keyslots (list, add, remove) and passphrase changes.
public enum Keyslots {
    /// This area's operations, served by the agent (see ``ServiceOperations``).
    public static let operations: [any ServiceOperation.Type] = [List.self, Add.self, AddHost.self, Remove.self, ChangePassphrase.self]

    /// `keyslot list`: the slots, without their wrapped keys.
    public struct List: ServiceOperation {
        public static let name = "keyslots.list"

        public init() {}

        public func run(in session: ServiceSession) async throws -> [KeyslotInfo] {
            try await session.vault { vault in try vault.listKeyslots() }
        }
    }

    /// `keyslot add`: another way to unlock the same master key.
    public struct Add: ServiceOperation {
        public static let name = "keyslots.add"
        public var slot: Slot

        /// The slot to create. A new passphrase is read by the CLI (from
        /// `KEYWARDEN_NEW_PASSPHRASE` or a double prompt) and sent here.
        public enum Slot: Codable, Sendable {
            /// A new keyfile written at `path`, which must be absolute: the
            /// agent, whose working folder is not the CLI's, may be the one
            /// that writes it.
            case keyfile(path: String)
            case passphrase(Secret, kdf: KDFCost)
        }

        public init(_ slot: Slot) { self.slot = slot }

        public func run(in session: ServiceSession) async throws -> KeyslotInfo {
            let newSlot: NewKeyslot
            switch slot {
            case .keyfile(let path):
                // A relative path would land in the agent's working folder.
                guard path.hasPrefix("/") || session.agent == nil else {
                    throw KeywardenError(.invalidInput, "the agent writes a new keyfile only at an absolute path; '\(path)' is relative")
                }
                newSlot = .keyfile(path: path)
            case .passphrase(let passphrase, let kdf):
                newSlot = .passphrase(passphrase, cost: kdf)
            }
            return try await session.vault { vault in try vault.addKeyslot(newSlot) }
        }
    }

    /// `keyslot add --for HOST`: a keyfile slot labelled `host:HOST`, and
    /// where the vault is for that host (never a key or a password).
    public struct AddHost: ServiceOperation {
        public static let name = "keyslots.add_host"
        public var host: String
        /// The new keyfile; absolute, as for ``Add``.
        public var keyfile: String

        public init(host: String, keyfile: String) {
            self.host = host
            self.keyfile = keyfile
        }

        public func run(in session: ServiceSession) async throws -> HostEnrollment {
            guard keyfile.hasPrefix("/") || session.agent == nil else {
                throw KeywardenError(.invalidInput, "the agent writes a new keyfile only at an absolute path; '\(keyfile)' is relative")
            }
            return try await session.vault { vault in try vault.enrollHost(host, keyfile: keyfile) }
        }
    }

    /// `keyslot remove`: by id or by label (`host:web-3`); never the last slot.
    public struct Remove: ServiceOperation {
        public static let name = "keyslots.remove"
        /// The slot's id; nil when `label` names it.
        public var id: Int64?
        public var label: String?

        public init(id: Int64) { self.id = id }
        public init(label: String) { self.label = label }

        public func run(in session: ServiceSession) async throws -> KeyslotInfo {
            switch (id, label) {
            case (let id?, nil): return try await session.vault { vault in try vault.removeKeyslot(id: id) }
            case (nil, let label?): return try await session.vault { vault in try vault.removeKeyslot(label: label) }
            default: throw KeywardenError(.invalidInput, "name the keyslot to remove by its id or by its label, not both")
            }
        }
    }

    /// `passwd`: rewraps the master key under a new passphrase in a
    /// passphrase slot (the only one, or `slot`); nothing else changes.
    public struct ChangePassphrase: ServiceOperation {
        public static let name = "keyslots.passwd"
        /// The slot to change; nil when the vault has exactly one passphrase slot.
        public var slot: Int64?
        public var passphrase: Secret
        /// A new Argon2id cost; nil keeps the slot's.
        public var kdf: KDFCost?

        public init(slot: Int64?, passphrase: Secret, kdf: KDFCost?) {
            (self.slot, self.passphrase, self.kdf) = (slot, passphrase, kdf)
        }

        public func run(in session: ServiceSession) async throws -> KeyslotInfo {
            try await session.vault { vault in
                try vault.changePassphrase(slotID: slot, to: passphrase, parameters: kdf?.parameters)
            }
        }
    }
}

/// An Argon2id cost for a passphrase slot (`--kdf`): `interactive` (64 MiB),
/// `moderate` (256 MiB), `sensitive` (1 GiB).
public enum KDFCost: String, Codable, Sendable, CaseIterable {
    case interactive, moderate, sensitive

    var parameters: PasswordHashParameters {
        switch self {
        case .interactive: .interactive
        case .moderate: .moderate
        case .sensitive: .sensitive
        }
    }
}

extension NewKeyslot {
    /// A passphrase slot at one of the `--kdf` costs.
    public static func passphrase(_ passphrase: Secret, cost: KDFCost) -> NewKeyslot {
        .passphrase(passphrase, cost.parameters)
    }
}

extension KeywardenService {
    public func listKeyslots() async throws -> [KeyslotInfo] { try await perform(Keyslots.List()) }
    public func addKeyslot(_ slot: Keyslots.Add.Slot) async throws -> KeyslotInfo { try await perform(Keyslots.Add(slot)) }
    public func removeKeyslot(id: Int64) async throws -> KeyslotInfo { try await perform(Keyslots.Remove(id: id)) }
    public func removeKeyslot(label: String) async throws -> KeyslotInfo { try await perform(Keyslots.Remove(label: label)) }
    public func enrollHost(_ host: String, keyfile: String) async throws -> HostEnrollment {
        try await perform(Keyslots.AddHost(host: host, keyfile: keyfile))
    }
    public func changePassphrase(slot: Int64?, to passphrase: Secret, kdf: KDFCost?) async throws -> KeyslotInfo {
        try await perform(Keyslots.ChangePassphrase(slot: slot, passphrase: passphrase, kdf: kdf))
    }
}
