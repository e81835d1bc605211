import Foundation
import Testing
@testable import KeywardenCore

/// The classifier's JSON reader: strict RFC 8259, numbers as JSONDecoder gave them.
@Suite("JSON bodies as the rules read them")
struct JSONValueTests {
    func parse(_ text: String) -> JSONValue? { JSONValue.parse(Array(text.utf8)) }

    @Test("values, nesting, escapes and surrogate pairs")
    func values() throws {
        let value = try #require(parse(#" {"error": {"code": "1113", "n": 42, "ok": true, "none": null, "list": [1, 2.50, -0, 1.0, 1e3, "x"], "s": "a\"b\\c\/d\n\u00e9\ud83d\ude00"}} "#))
        #expect(value.values(at: ["error", "code"]) == ["1113"])
        #expect(value.values(at: ["error", "n"]) == ["42"])
        #expect(value.values(at: ["error", "ok"]) == ["true"])
        #expect(value.values(at: ["error", "none"]) == ["null"])
        #expect(value.values(at: ["error", "list", "*"]) == ["1", "2.5", "0", "1", "1000", "x"])
        #expect(value.values(at: ["error", "list", "5"]) == ["x"])
        #expect(value.values(at: ["error", "s"]) == ["a\"b\\c/d\né😀"])
        #expect(value.values(at: ["error"]) == ["<structure>"])
        #expect(value.values(at: ["missing"]).isEmpty)
        #expect(parse("[]") == .array([]))
        #expect(parse("{}") == .object([:]))
        #expect(parse("\"top\"") == .string("top"))
        #expect(parse("12345678901234567890") == .number(String(12345678901234567890.0)))
    }

    @Test("not JSON: HTML, trailing commas, single quotes, bare control characters, bad escapes, lone surrogates, garbage after the value, too deep")
    func rejects() {
        for text in ["<html>", "", " ", "{\"a\":1,}", "[1,]", "{'a':1}", "\"a\u{01}b\"", "\"\\x\"", "\"\\ud83d\"", "{\"a\":1} x", "01", "1.", "-", ".5", "tru", "nul",
                     String(repeating: "[", count: 600) + String(repeating: "]", count: 600)] {
            #expect(parse(text) == nil, "\(text.prefix(20))")
        }
        #expect(parse(String(repeating: "[", count: 500) + String(repeating: "]", count: 500)) != nil)
        #expect(JSONValue.parse([0x22, 0xFF, 0x22]) == nil, "a string that is not UTF-8")
    }

    @Test("a 200 with a non-JSON body is unexpected; a JSON one is valid")
    func classify() {
        let portal = OutcomeClassifier.classify(status: 200, body: Array("<html>Sign in</html>".utf8), rules: [])
        #expect(portal.outcome == .unexpected)
        #expect(OutcomeClassifier.classify(status: 200, body: Array(#"{"data":[]}"#.utf8), rules: []).outcome == .valid)
    }
}
