import ArgumentParser
import Foundation
import KeywardenCore

struct KeyslotAdd: KeywardenCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a passphrase or keyfile slot, or enroll a host (--for HOST).",
        discussion: """
        Unlock with an existing slot first (--keyfile, KEYWARDEN_KEYFILE,
        KEYWARDEN_PASSPHRASE or the prompt). A new passphrase comes from
        KEYWARDEN_NEW_PASSPHRASE or a double prompt.

        --for HOST enrolls a machine: a keyfile slot of its own, labelled host:HOST,
        written to ./HOST.keyfile (or --keyfile-out PATH; 0600, never overwritten).
        It prints the line to run on that host: the vault's address (never a
        password) and the host's keyfile. `keyslot remove host:HOST` revokes it.

        Examples:
          keywarden keyslot add keyfile /etc/keywarden/ci.key
          KEYWARDEN_NEW_PASSPHRASE=… keywarden keyslot add passphrase --kdf interactive
          keywarden keyslot add --for web-3
          keywarden keyslot add --for web-3 --keyfile-out /secure/web-3.keyfile
          keywarden keyslot remove host:web-3
        """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable { case passphrase, keyfile }

    @OptionGroup var vault: VaultOptions
    @Argument(help: "passphrase or keyfile (not needed with --for).") var kind: Kind?
    @Argument(help: ArgumentHelp("For keyfile: where to write the new keyfile.", valueName: "path")) var path: String?
    @Option(help: "Argon2id cost for a passphrase slot.") var kdf: KDFCost = .moderate
    @Option(name: .customLong("for"), help: ArgumentHelp("Enroll this host: a keyfile slot labelled host:HOST.", valueName: "host"))
    var host: String?
    @Option(name: .customLong("keyfile-out"), help: ArgumentHelp("With --for: where to write the host's keyfile (default ./HOST.keyfile).", valueName: "path"))
    var keyfileOut: String?
    @Flag(help: "Print JSON.") var json = false

    /// Where the printed line expects the keyfile on the host.
    static func hostKeyfile(_ host: String) -> String { "/etc/keywarden/\(host).keyfile" }

    func validate() throws {
        if host != nil {
            if kind == .passphrase { throw ValidationError("--for enrolls a host with a keyfile slot; a passphrase slot takes no --for") }
            if path != nil { throw ValidationError("with --for, give the keyfile's path with --keyfile-out PATH") }
            return
        }
        if keyfileOut != nil { throw ValidationError("--keyfile-out goes with --for HOST; for another keyfile slot use `keyslot add keyfile PATH`") }
        guard let kind else { throw ValidationError("say what to add: passphrase, keyfile PATH, or --for HOST") }
        if kind == .keyfile && path == nil { throw ValidationError("keyslot add keyfile needs the path of the new keyfile") }
        if kind == .passphrase && path != nil { throw ValidationError("a passphrase slot takes no path; the passphrase is read from KEYWARDEN_NEW_PASSPHRASE or the terminal") }
    }

    func run(_ context: CLIContext) async throws {
        if let host { return try await enroll(host, context) }
        let service = try await Session.service(context, vault, command: "keyslot add")
        let slot: Keyslots.Add.Slot = switch kind! {
        // Absolute: the agent, in another working folder, may be the one writing it.
        case .keyfile: .keyfile(path: Self.absolute(path!))
        case .passphrase: .passphrase(try context.input.newPassphrase(envVar: "KEYWARDEN_NEW_PASSPHRASE", environment: context.environment), kdf: kdf)
        }
        let info = try await service.addKeyslot(slot)
        if json { return try context.output.json(info) }
        context.output.line("Added keyslot \(info.id) (\(info.kind)\(path.map { ", \($0)" } ?? "")).")
    }

    private func enroll(_ host: String, _ context: CLIContext) async throws {
        // Checked before the default file name is made from it.
        let name = try HostNames.validate(host)
        let shownPath = keyfileOut ?? "./\(name).keyfile"
        let service = try await Session.service(context, vault, command: "keyslot add")
        let enrolled = try await service.enrollHost(name, keyfile: Self.absolute(shownPath))
        if json { return try context.output.json(enrolled) }
        let output = context.output
        let remote = Self.hostKeyfile(name)
        output.line("Added keyslot \(enrolled.slot.id) '\(enrolled.slot.label)' (keyfile, \(shownPath), mode 0600).")
        if let url = enrolled.databaseURL {
            output.line("Copy the keyfile to \(name) as \(remote) (mode 0600, owned by the user that runs keywarden), then run there:")
            output.line("  KEYWARDEN_DATABASE_URL=\(Self.shellWord(url)) KEYWARDEN_KEYFILE=\(Self.shellWord(remote)) keywarden serve")
            if enrolled.databasePassword {
                output.line("\(name) also needs the database password, in KEYWARDEN_DATABASE_PASSWORD (it is not shown here).")
            }
            if enrolled.databaseOnLoopback {
                output.line("Note: the database is on this machine's loopback; \(name) needs an address of it that it can reach.")
            }
        } else {
            let home = enrolled.vaultHome ?? "…"
            output.line("This vault is a file (\(enrolled.vaultFile ?? home)), which \(name) cannot share; to share one vault between hosts, move it to PostgreSQL (`keywarden storage copy --to postgres://…`) and enroll the host there.")
            output.line("With a copy of the vault folder and the keyfile at \(remote) on \(name), this runs there:")
            output.line("  KEYWARDEN_HOME=\(Self.shellWord(home)) KEYWARDEN_KEYFILE=\(Self.shellWord(remote)) keywarden serve")
        }
        output.line("Revoke the host with `keywarden keyslot remove \(enrolled.slot.label)`.")
    }

    /// `path` against this process's working folder, as the user meant it.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let path = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
        let folder = FileManager.default.currentDirectoryPath
        return (folder.hasSuffix("/") ? folder : folder + "/") + path
    }

    /// `text` as one shell word: as is when it has only safe characters, else in single quotes.
    static func shellWord(_ text: String) -> String {
        let safe = text.unicodeScalars.allSatisfy { c in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "@%+=:,./_-".unicodeScalars.contains(c))
        }
        if safe, !text.isEmpty { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
