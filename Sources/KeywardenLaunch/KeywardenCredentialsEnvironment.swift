/// The environment variables that carry Keywarden's own credentials. Each of
/// them unlocks the whole vault (or the agent), so no process Keywarden
/// starts for someone else — `run`'s command, a rotate or revoke command —
/// inherits them.
public enum KeywardenCredentialsEnvironment {
    public static let names = ["KEYWARDEN_PASSPHRASE", "KEYWARDEN_NEW_PASSPHRASE", "KEYWARDEN_KEYFILE", "KEYWARDEN_TOKEN"]
}
