import Testing
@testable import KeywardenCrypto

@Suite("Keys, keyslots, hashing")
struct KeyTests {
    @Test("subkeys differ per purpose and from each other, and are deterministic")
    func subkeys() throws {
        let master = SymmetricKey.random()
        let a = master.derive(.valueSealing), b = master.derive(.fingerprint), c = master.derive(.auditChain)
        #expect(!a.constantTimeEquals(b))
        #expect(!b.constantTimeEquals(c))
        #expect(!a.constantTimeEquals(master))
        #expect(a.constantTimeEquals(master.derive(.valueSealing)))
    }

    @Test("a passphrase keyslot unwraps with the passphrase and refuses another")
    func passphraseSlot() throws {
        let master = SymmetricKey.random()
        let salt = PasswordHashing.randomSalt()
        let ad = Array("vault-1".utf8)
        let kek = try PasswordHashing.deriveKey(passphrase: SecureBytes(copying: Array("correct horse".utf8)), salt: salt, parameters: .interactive)
        let box = try KeyWrapping.wrap(master, with: kek, associatedData: ad)
        let again = try PasswordHashing.deriveKey(passphrase: SecureBytes(copying: Array("correct horse".utf8)), salt: salt, parameters: .interactive)
        #expect(try KeyWrapping.unwrap(box, with: again, associatedData: ad).constantTimeEquals(master))
        let wrong = try PasswordHashing.deriveKey(passphrase: SecureBytes(copying: Array("correct horsf".utf8)), salt: salt, parameters: .interactive)
        #expect(throws: CryptoError.authenticationFailed) { try KeyWrapping.unwrap(box, with: wrong, associatedData: ad) }
        #expect(throws: CryptoError.authenticationFailed) { try KeyWrapping.unwrap(box, with: again, associatedData: Array("vault-2".utf8)) }
    }

    @Test("Argon2id depends on the salt")
    func salted() throws {
        let pw = SecureBytes(copying: Array("pw".utf8))
        let a = try PasswordHashing.deriveKey(passphrase: pw, salt: PasswordHashing.randomSalt(), parameters: .interactive)
        let b = try PasswordHashing.deriveKey(passphrase: pw, salt: PasswordHashing.randomSalt(), parameters: .interactive)
        #expect(!a.constantTimeEquals(b))
    }

    @Test("a salt of the wrong size is refused")
    func badSalt() {
        #expect(throws: CryptoError.invalidLength(what: "salt", expected: 16, actual: 3)) {
            try PasswordHashing.deriveKey(passphrase: SecureBytes(copying: [1]), salt: [1, 2, 3], parameters: .interactive)
        }
    }

    @Test("keyed fingerprints are stable under one key and unrelated under another")
    func fingerprints() throws {
        let value = SecureBytes(copying: Array("sk-test".utf8))
        let k1 = SymmetricKey.random(), k2 = SymmetricKey.random()
        let a = try KeyedHash.hash(value, key: k1)
        #expect(a.count == 32)
        #expect(a == (try KeyedHash.hash(value, key: k1)))
        #expect(a != (try KeyedHash.hash(value, key: k2)))
        #expect(a == (try KeyedHash.hash([Array("sk-".utf8), Array("test".utf8)], key: k1)))
    }

    @Test("keys of the wrong size are refused")
    func keySize() {
        #expect(throws: CryptoError.invalidLength(what: "key", expected: 32, actual: 16)) {
            try SymmetricKey(SecureBytes.random(count: 16))
        }
    }

    @Test("secure bytes compare in constant time, by content and length")
    func compare() {
        let a = SecureBytes(copying: [1, 2, 3]), b = SecureBytes(copying: [1, 2, 3]), c = SecureBytes(copying: [1, 2, 4])
        #expect(a.constantTimeEquals(b))
        #expect(!a.constantTimeEquals(c))
        #expect(!a.constantTimeEquals(SecureBytes(copying: [1, 2])))
        #expect(constantTimeEquals([9, 9], [9, 9]))
        #expect(!constantTimeEquals([9, 9], [9, 8]))
    }

    @Test("wipe zeroes and empties an ordinary buffer")
    func wiping() {
        var bytes: [UInt8] = [1, 2, 3]
        wipe(&bytes)
        #expect(bytes.isEmpty)
    }

    @Test("hex round trip and rejection of bad hex")
    func hex() {
        #expect([UInt8]([0, 171, 255]).hexString == "00abff")
        #expect([UInt8](hexString: "00abFF") == [0, 171, 255])
        #expect([UInt8](hexString: "0g") == nil)
        #expect([UInt8](hexString: "abc") == nil)
    }
}
