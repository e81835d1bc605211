/// Every way a cryptographic operation can fail. Closed on purpose: callers
/// map each case to a message for the user; none carries secret material.
public enum CryptoError: Error, Equatable, Sendable {
    /// `sodium_init` failed: the process cannot do cryptography at all.
    case libraryUnavailable
    /// `sodium_malloc` could not provide guarded memory.
    case outOfSecureMemory
    /// A ciphertext did not open: wrong key, altered bytes, or associated data
    /// that no longer matches (the ciphertext was moved to another row).
    case authenticationFailed
    /// Argon2id could not run with the requested limits (usually: not enough memory).
    case passwordHashingFailed
    /// An input had the wrong size (a key, a nonce, a salt).
    case invalidLength(what: String, expected: Int, actual: Int)
}
