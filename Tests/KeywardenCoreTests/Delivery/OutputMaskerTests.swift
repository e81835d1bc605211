import Testing

@testable import KeywardenCore

@Suite("Output masker (run --mask)")
struct OutputMaskerTests {
    func masker(_ values: [String]) -> OutputMasker {
        OutputMasker(values: values.map { Secrets.secret(copying: Array($0.utf8)) })
    }

    /// Feeds `chunks` one by one and returns all that came out.
    func stream(_ masker: OutputMasker, _ chunks: [String]) -> String {
        var out: [UInt8] = []
        for chunk in chunks { out += masker.feed(Array(chunk.utf8)) }
        out += masker.finish()
        return String(decoding: out, as: UTF8.self)
    }

    @Test("a value is replaced wherever it appears")
    func whole() {
        #expect(stream(masker(["sk-secret-1"]), ["key=sk-secret-1 and sk-secret-1\n"]) == "key=*** and ***\n")
    }

    @Test("a value split across chunks at every position is still replaced, overlapping and adjacent values too")
    func split() {
        let cases: [(text: String, values: [String], expected: String)] = [
            ("before sk-ant-api03-XYZ after", ["sk-ant-api03-XYZ"], "before *** after"),
            ("before zz1234567890 after", ["zz12", "1234567890"], "before *** after"),
            ("before 1234567890zz after", ["7890zz", "1234567890"], "before *** after"),
            ("before abcdefgh after", ["abcd", "efgh"], "before *** after"),
            ("x abcdabcdabcdab y", ["abcdabcd"], "x ***ab y"),
        ]
        for (text, values, expected) in cases {
            let bytes = Array(text.utf8)
            for cut in 0...bytes.count {
                for second in cut...bytes.count {
                    let chunks = [bytes[0..<cut], bytes[cut..<second], bytes[second...]].map { String(decoding: $0, as: UTF8.self) }
                    #expect(stream(masker(values), chunks) == expected, "\(values) cut at \(cut), \(second)")
                }
            }
        }
    }

    @Test("overlapping values: no tail of the longer one is shown; one *** per masked run")
    func overlappingTail() {
        #expect(stream(masker(["zz12", "1234567890"]), ["zz1234567890"]) == "***")
        #expect(stream(masker(["zz12", "1234567890"]), ["a zz1234567890 b"]) == "a *** b")
        #expect(stream(masker(["zz12", "1234567890"]), ["zz12", "34567890"]) == "***")
        #expect(stream(masker(["abcd", "cdef", "efgh"]), ["-abcdefgh-"]) == "-***-")
        #expect(stream(masker(["abcd"]), ["abcd abcd"]) == "*** ***")
    }

    @Test("one byte at a time")
    func byteByByte() {
        let text = "a sk-1234 b sk-1234"
        #expect(stream(masker(["sk-1234"]), text.map(String.init)) == "a *** b ***")
    }

    @Test("only a possible start of a value is held back")
    func holdsOnlyPrefix() {
        let masker = masker(["sk-1234567890"])
        #expect(masker.feed(Array("prompt> ".utf8)) == Array("prompt> ".utf8))
        #expect(masker.heldCount == 0)
        #expect(masker.feed(Array("x sk-12".utf8)) == Array("x ".utf8))
        #expect(masker.heldCount == 5)
        // Not the value after all: the held bytes come out.
        #expect(masker.feed(Array("9\n".utf8)) == Array("sk-129\n".utf8))
        #expect(masker.heldCount == 0)
    }

    @Test("the longest of overlapping values wins; a prefix left at the end is shown as is")
    func overlapping() {
        #expect(stream(masker(["abcd", "abcdefgh"]), ["xabcdefghy"]) == "x***y")
        #expect(stream(masker(["abcd", "abcdefgh"]), ["xabcd", "efg"]) == "x***efg")
        #expect(stream(masker(["abcdefgh"]), ["abcdef"]) == "abcdef")
    }

    @Test("short and empty values are not masked; repeats are kept once")
    func shortValues() {
        let masker = masker(["", "1", "abc", "abcd", "abcd"])
        #expect(stream(masker, ["1 abc abcd"]) == "1 abc ***")
    }

    @Test("values with line breaks and binary bytes")
    func multiline() {
        #expect(stream(masker(["-----BEGIN-----\nMIIE\n-----END-----"]), ["key:\n-----BEGIN-----\nMI", "IE\n-----END-----\n"]) == "key:\n***\n")
        let binary = OutputMasker(values: [Secrets.secret(copying: [0xFF, 0x00, 0xFE, 0x01])])
        #expect(binary.feed([0x41, 0xFF, 0x00]) == [0x41])
        #expect(binary.feed([0xFE, 0x01, 0x42]) == Array("***B".utf8))
    }
}
