import Foundation
import Testing

@testable import KeywardenCore

@Suite("DotenvParser")
struct DotenvParserTests {
    func parse(_ text: String) throws(DotenvSyntaxError) -> [DotenvEntry] {
        try DotenvParser.parse(Array(text.utf8), file: ".env")
    }

    func values(_ text: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for entry in try parse(text) { result[entry.name] = String(decoding: entry.value, as: UTF8.self) }
        return result
    }

    func syntaxError(_ text: String) -> DotenvSyntaxError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("reads names, values and their lines in order")
    func basics() throws {
        let entries = try parse("A=1\n\n# comment\n  B = two \nexport C='3'\n")
        #expect(entries.map(\.name) == ["A", "B", "C"])
        #expect(entries.map(\.line) == [1, 4, 5])
        #expect(entries.map { String(decoding: $0.value, as: UTF8.self) } == ["1", "two", "3"])
    }

    @Test("skips a UTF-8 byte order mark and reads CRLF line ends")
    func bomAndCRLF() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("A=1\r\nB='x\r\ny'\r\nC=\"p\r\nq\"\r\n".utf8)
        let entries = try DotenvParser.parse(bytes, file: "win.env")
        #expect(entries.map(\.name) == ["A", "B", "C"])
        #expect(entries.map(\.value) == [Array("1".utf8), Array("x\ny".utf8), Array("p\nq".utf8)])
        #expect(entries.map(\.line) == [1, 2, 4])
        // Columns after a BOM do not count it.
        let error = try #require(throws: DotenvSyntaxError.self) {
            try DotenvParser.parse([0xEF, 0xBB, 0xBF] + Array("A-B=1".utf8), file: "bom.env")
        }
        #expect(error.column == 2)
    }

    @Test("unquoted values: # starts a comment only after a blank; trailing blanks go")
    func unquoted() throws {
        let read = try values("A=b #c\nB=b#c\nC=b c \t\nD=\nE= # note\nF=a=b\nG=$HOME ${X}\nH=\tx")
        #expect(read == ["A": "b", "B": "b#c", "C": "b c", "D": "", "E": "", "F": "a=b", "G": "$HOME ${X}", "H": "x"])
    }

    @Test("single quotes are literal and may span lines")
    func singleQuotes() throws {
        let read = try values("A='b\\nc'\nB='a #b' # comment\nC='l1\nl2'\nD='$X ${Y} \\\\'\nE=''")
        #expect(read == ["A": "b\\nc", "B": "a #b", "C": "l1\nl2", "D": "$X ${Y} \\\\", "E": ""])
    }

    @Test("double quotes decode escapes and may span lines")
    func doubleQuotes() throws {
        let text = #"""
            A="b\nc\rd\te"
            B="q\"\\\'\$\`"
            C="\a\b\f\v"
            D="\x\q"
            E="l1
            l2"
            """#
        let read = try values(text)
        #expect(read["A"] == "b\nc\rd\te")
        #expect(read["B"] == "q\"\\'$`")
        #expect(read["C"] == "\u{7}\u{8}\u{C}\u{B}")
        #expect(read["D"] == "\\x\\q")  // unknown escapes stay as written
        #expect(read["E"] == "l1\nl2")
    }

    @Test("values keep every byte, including invalid UTF-8")
    func rawBytes() throws {
        let entries = try DotenvParser.parse(Array("A='".utf8) + [0xFF, 0xC3] + Array("'\n".utf8), file: "x")
        #expect(entries.first?.value == [0xFF, 0xC3])
    }

    @Test("export is a prefix only when a name follows")
    func exportPrefix() throws {
        #expect(try values("export A=1\nexport\tB=2\nexport=3\nexporter=4") == ["A": "1", "B": "2", "export": "3", "exporter": "4"])
    }

    @Test("a malformed line reports its line, column and what was expected", arguments: [
        ("A=1\nB\n", 2, 2, "'=' after the variable name B"),
        ("A=1\n  B C=2\n", 2, 5, "'=' after the variable name B"),
        ("1A=x", 1, 1, "a variable name"),
        ("A-B=x", 1, 2, "'=' after the variable name"),
        ("=x", 1, 1, "a variable name"),
        ("A=1\nB='never closed\nC=3\n", 2, 3, "a closing ' for the value of B"),
        ("A=\"open\\\"\n", 1, 3, "a closing \" for the value of A"),
        ("A='x' y", 1, 7, "the end of the line or a # comment"),
        ("A=\"x\"y", 1, 6, "the end of the line or a # comment"),
        ("ÄB=1", 1, 1, "a variable name"),
        ("A='é' é", 1, 7, "the end of the line or a # comment"),
        ("A=1\nB=2\nA=3\n", 3, 1, "A to be set only once (it is already set on line 1)"),
        ("A='x\ny' z", 2, 4, "the end of the line or a # comment"),
    ])
    func malformed(text: String, line: Int, column: Int, expected: String) throws {
        let error = try #require(syntaxError(text))
        #expect(error.file == ".env")
        #expect(error.line == line)
        #expect(error.column == column)
        #expect(error.expected.hasPrefix(expected), "\(error.expected)")
        #expect(error.description == ".env:\(line):\(column): expected \(error.expected)")
    }

    @Test("errors never echo the value")
    func errorsDoNotLeak() throws {
        let error = try #require(syntaxError("TOKEN='sk-secret-value-123\n"))
        #expect(!error.description.contains("sk-secret"))
    }

    @Test("the reference's test vectors, read the python-dotenv way where readers agree", arguments: [
        ("a=b #c", "b"),
        ("a=b#c", "b#c"),
        ("a=\"b\\nc\"", "b\nc"),
        ("a=b c ", "b c"),
        ("a=\"b c \"", "b c "),
        ("FOO=123#not-an-inline-comment", "123#not-an-inline-comment"),
        ("FOO=bar #", "bar"),
        ("FOO=\"bar\\\\\"", "bar\\"),
        ("export OPTION_B='\\n'", "\\n"),
        ("a=$b", "$b"),
    ])
    func referenceVectors(text: String, value: String) throws {
        let entries = try parse(text)
        #expect(entries.count == 1)
        #expect(entries.first.map { String(decoding: $0.value, as: UTF8.self) } == value)
    }
}
