/// The release, as `keywarden --version` prints it (launcher and full command line alike).
public enum KeywardenVersion {
    public static let current = "0.1.0"
}
