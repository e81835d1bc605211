import CSodium

/// libsodium must be initialised once before any other call; `sodium_init` is
/// thread-safe and idempotent, so every entry point of this module calls
/// `Sodium.ready()` rather than relying on a caller to remember.
enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    static func ready() throws(CryptoError) {
        guard initialised else { throw .libraryUnavailable }
    }
}
