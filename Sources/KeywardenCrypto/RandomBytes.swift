import CSodium

/// Non-secret random bytes (identifiers, salts) from libsodium's CSPRNG.
public func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    if count > 0 { randombytes_buf(&bytes, count) }
    return bytes
}

/// A uniformly random number below `upperBound` (no modulo bias).
public func randomUniform(_ upperBound: UInt32) -> UInt32 {
    randombytes_uniform(upperBound)
}
