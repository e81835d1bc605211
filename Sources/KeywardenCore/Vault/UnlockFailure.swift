extension KeywardenError {
    /// What every failed unlock says first, on the terminal and in `--json` errors.
    public static let unlockPrefix = "cannot unlock the vault: "

    /// The reason of a failed unlock without the "cannot unlock the vault: "
    /// prefix, for the `vault.unlock` audit event, whose action already says it:
    /// every denied unlock's detail then reads the same way ("wrong passphrase",
    /// "keyfile … does not exist"), whichever check refused it.
    var unlockReason: String {
        message.hasPrefix(Self.unlockPrefix) ? String(message.dropFirst(Self.unlockPrefix.count)) : message
    }
}
