import Foundation

/// Enrolling a host (`keyslot add --for web-3`): a keyfile slot of its own,
/// labelled `host:web-3`, so that each machine of a fleet unlocks the shared
/// vault with its own key and can be revoked alone (`keyslot remove
/// host:web-3`). The slot is an ordinary keyfile slot; only its label and
/// the answer (what to run on the host) are particular to hosts.
public enum HostNames {
    /// Labels of host slots start with this.
    public static let labelPrefix = "host:"
    /// A keyslot label is 1-64 characters (a schema constraint), `host:` included.
    public static let maxLength = 64 - labelPrefix.count

    /// `host`, checked: letters, digits, '.', '-' and '_', starting with a
    /// letter or digit, at most 59 characters. Such a name is also safe as a
    /// file name (`web-3.keyfile`) and in a shell line.
    public static func validate(_ host: String) throws(KeywardenError) -> String {
        let allowed = host.unicodeScalars.allSatisfy { c in
            c.isASCII && (("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "." || c == "-" || c == "_")
        }
        guard !host.isEmpty, host.count <= maxLength, allowed, let first = host.unicodeScalars.first,
              first.properties.isAlphabetic || ("0"..."9").contains(first) else {
            throw KeywardenError(.invalidInput, "invalid host name '\(DisplayText.sanitized(String(host.prefix(80))))': use 1-\(maxLength) letters, digits, '.', '-' and '_', starting with a letter or digit (e.g. web-3, db1.internal). Nothing was changed")
        }
        return host
    }

    /// The keyslot label of `host`: `host:web-3`.
    public static func label(_ host: String) -> String { labelPrefix + host }
}

/// What `keyslot add --for HOST` did, and what the host needs to unlock the
/// same vault: never a key or a password, only where the vault is.
public struct HostEnrollment: Codable, Sendable, Equatable {
    public var host: String
    public var slot: KeyslotInfo
    /// The new keyfile (0600), on the machine that ran the command.
    public var keyfile: String
    /// The vault's PostgreSQL URL as another host would use it: without a
    /// password, with the connection parameters (sslmode, CA file) that are
    /// not the defaults. Nil for a vault file.
    public var databaseURL: String?
    /// The URL reached the database with a password (from the URL or
    /// KEYWARDEN_DATABASE_PASSWORD): the host needs one too.
    public var databasePassword: Bool
    /// The database is on this machine's loopback, which another host cannot reach.
    public var databaseOnLoopback: Bool
    /// The vault file, when the vault is one.
    public var vaultFile: String?
    /// Its folder (`KEYWARDEN_HOME`).
    public var vaultHome: String?

    enum CodingKeys: String, CodingKey {
        case host, slot, keyfile
        case databaseURL = "database_url", databasePassword = "database_password", databaseOnLoopback = "database_on_loopback"
        case vaultFile = "vault_file", vaultHome = "vault_home"
    }
}

extension Vault {
    /// Adds a keyfile slot for `host`, labelled `host:HOST`, writing a new
    /// keyfile at `path` (0600, never overwriting). Refuses a host that is
    /// already enrolled before any file is written. The audit event names
    /// the host and the slot, never the key.
    public func enrollHost(_ host: String, keyfile path: String) throws(KeywardenError) -> HostEnrollment {
        let name = try HostNames.validate(host)
        let slot = try addKeyslot(.keyfile(path: path), label: HostNames.label(name), note: "host \(name) enrolled")
        var answer = HostEnrollment(host: name, slot: slot, keyfile: path, databaseURL: nil, databasePassword: false,
                                    databaseOnLoopback: false, vaultFile: nil, vaultHome: nil)
        if let url = postgres?.url {
            answer.databaseURL = url.shareable
            answer.databasePassword = url.password != nil
            answer.databaseOnLoopback = url.unixSocketPath != nil || DatabaseURL.isLoopback(url.host ?? "")
        } else if let location = database?.location {
            answer.vaultFile = location.databasePath
            answer.vaultHome = location.directory
        }
        return answer
    }
}

extension DatabaseURL {
    /// The URL as another host would use it: never the password, but the
    /// parameters that are not the defaults (`sslmode`, `sslrootcert`,
    /// `pool_size`) and the port when it is not 5432.
    public var shareable: String {
        func encoded(_ text: String, _ allowed: CharacterSet) -> String {
            text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
        }
        var query: [String] = []
        var queryValue = CharacterSet.urlQueryAllowed
        queryValue.remove(charactersIn: "&=+?#")
        var text = "postgres://" + encoded(user, .urlUserAllowed) + "@"
        if let socket = unixSocketPath {
            text += "/" + encoded(database, .urlPathAllowed)
            query.append("host=" + encoded((socket as NSString).deletingLastPathComponent, queryValue))
        } else if let host {
            text += (host.contains(":") ? "[\(host)]" : encoded(host, .urlHostAllowed)) + (port == 5432 ? "" : ":\(port)")
            text += "/" + encoded(database, .urlPathAllowed)
        }
        let defaultMode: SSLMode = unixSocketPath != nil || Self.isLoopback(host ?? "") ? .disable : .verifyFull
        if sslMode != defaultMode { query.append("sslmode=" + sslMode.rawValue) }
        if let sslRootCert { query.append("sslrootcert=" + encoded(sslRootCert, queryValue)) }
        if poolSize != 4 { query.append("pool_size=\(poolSize)") }
        return query.isEmpty ? text : text + "?" + query.joined(separator: "&")
    }
}
