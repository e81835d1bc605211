import Testing
@testable import KeywardenCrypto

@Suite("XChaCha20-Poly1305 sealing")
struct AEADTests {
    let key = SymmetricKey.random()
    let value = SecureBytes(copying: Array("sk-ant-api03-secret-value".utf8))
    let ad: [UInt8] = Array("row k_1 anthropic prod".utf8)

    @Test("a sealed value opens with the same key and associated data")
    func roundTrip() throws {
        let box = try AEAD.seal(value, key: key, associatedData: ad)
        #expect(box.nonce.count == 24)
        #expect(box.ciphertext.count == value.count + 16)
        let opened = try AEAD.open(box, key: key, associatedData: ad)
        #expect(opened.constantTimeEquals(value))
    }

    @Test("two seals of one value use different nonces and ciphertexts")
    func freshNonces() throws {
        let a = try AEAD.seal(value, key: key, associatedData: ad)
        let b = try AEAD.seal(value, key: key, associatedData: ad)
        #expect(a.nonce != b.nonce)
        #expect(a.ciphertext != b.ciphertext)
    }

    @Test("a flipped bit anywhere in the ciphertext or nonce fails to open")
    func tamper() throws {
        let box = try AEAD.seal(value, key: key, associatedData: ad)
        for index in [0, box.ciphertext.count / 2, box.ciphertext.count - 1] {
            var bytes = box.ciphertext
            bytes[index] ^= 0x01
            #expect(throws: CryptoError.authenticationFailed) {
                try AEAD.open(SealedBox(nonce: box.nonce, ciphertext: bytes), key: key, associatedData: ad)
            }
        }
        var nonce = box.nonce
        nonce[3] ^= 0x80
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(SealedBox(nonce: nonce, ciphertext: box.ciphertext), key: key, associatedData: ad)
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(SealedBox(nonce: box.nonce, ciphertext: Array(box.ciphertext.prefix(10))), key: key, associatedData: ad)
        }
    }

    @Test("a ciphertext moved to another row (other associated data) fails to open")
    func swappedRow() throws {
        let box = try AEAD.seal(value, key: key, associatedData: ad)
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(box, key: key, associatedData: Array("row k_2 anthropic prod".utf8))
        }
    }

    @Test("the wrong key fails to open")
    func wrongKey() throws {
        let box = try AEAD.seal(value, key: key, associatedData: ad)
        #expect(throws: CryptoError.authenticationFailed) {
            try AEAD.open(box, key: SymmetricKey.random(), associatedData: ad)
        }
    }

    @Test("the empty value seals and opens")
    func emptyValue() throws {
        let box = try AEAD.seal(SecureBytes(copying: []), key: key, associatedData: ad)
        #expect(try AEAD.open(box, key: key, associatedData: ad).count == 0)
    }
}
