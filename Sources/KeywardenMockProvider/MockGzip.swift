/// gzip (RFC 1952) without a compression library: the data goes in deflate
/// "stored" blocks (RFC 1951 §3.2.4), which any gzip reader accepts. The mock
/// only needs a valid `content-encoding: gzip` body to pass through a proxy,
/// not a small one, and stored blocks keep the bytes the same everywhere
/// (no zlib version, no timestamp in the header).
enum MockGzip {
    static func encode(_ data: [UInt8]) -> [UInt8] {
        // Magic, deflate, no flags, mtime 0, no extra flags, OS unknown.
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]
        out.reserveCapacity(data.count + data.count / 65_535 * 5 + 23)
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out += [final, UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8((~length >> 8) & 0xff)]
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        out += littleEndian(crc32(data)) + littleEndian(UInt32(truncatingIfNeeded: data.count))
        return out
    }

    /// `data` cut into `count` nearly equal consecutive slices (for sending a stream in pieces).
    static func slices(of data: [UInt8], count: Int) -> [[UInt8]] {
        (0..<count).map { Array(data[($0 * data.count / count)..<(($0 + 1) * data.count / count)]) }
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return ~crc
    }

    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xedb8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xff), UInt8((value >> 8) & 0xff), UInt8((value >> 16) & 0xff), UInt8(value >> 24)]
    }
}
