import Foundation
import Testing

@testable import KeywardenCore

@Suite("TemplateRenderer")
struct TemplateRendererTests {
    struct Unknown: Error {}

    let secrets: [String: [UInt8]] = [
        "prod/ANTHROPIC_API_KEY": Array("sk-ant-1".utf8),
        "team/app/OPENAI_API_KEY": Array("sk-oa-2".utf8),
        "dev/EMPTY": [],
    ]

    func render(_ text: String) throws -> String {
        let bytes = try TemplateRenderer.render(Array(text.utf8), file: "app.tmpl") { scope, name in
            guard let value = secrets["\(scope)/\(name)"] else { throw Unknown() }
            return value
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func templateError(_ text: String) -> TemplateError? {
        do {
            _ = try TemplateRenderer.references(in: Array(text.utf8), file: "app.tmpl")
            return nil
        } catch {
            return error
        }
    }

    @Test("replaces references, with or without spaces inside the braces")
    func replaces() throws {
        #expect(try render("key={{ kw://prod/ANTHROPIC_API_KEY }}\n") == "key=sk-ant-1\n")
        #expect(try render("{{kw://prod/ANTHROPIC_API_KEY}}") == "sk-ant-1")
        #expect(try render("a{{ \tkw://team/app/OPENAI_API_KEY\t  }}b{{kw://dev/EMPTY }}c") == "ask-oa-2bc")
    }

    @Test("lists references with scope, name, line and column before anything is resolved")
    func listsReferences() throws {
        let text = "x: 1\n  a: {{ kw://prod/ANTHROPIC_API_KEY }}\né {{kw://team/app/OPENAI_API_KEY}}"
        let references = try TemplateRenderer.references(in: Array(text.utf8))
        #expect(references.map(\.scope) == ["prod", "team/app"])
        #expect(references.map(\.name) == ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"])
        #expect(references.map(\.line) == [2, 3])
        #expect(references.map(\.column) == [6, 3])
        let bytes = Array(text.utf8)
        #expect(String(decoding: bytes[references[0].range], as: UTF8.self) == "{{ kw://prod/ANTHROPIC_API_KEY }}")
    }

    @Test("text outside references is copied byte for byte")
    func copiesOtherText() throws {
        let template: [UInt8] = [0xFF, 0x0D, 0x0A, 0x00] + Array("{{ .Values.x }} {{ not kw }} {{{kw://prod/ANTHROPIC_API_KEY}}}".utf8) + [0xC3]
        let rendered = try TemplateRenderer.render(template) { _, _ in Array("V".utf8) }
        #expect(rendered == [0xFF, 0x0D, 0x0A, 0x00] + Array("{{ .Values.x }} {{ not kw }} {V}".utf8) + [0xC3])
        #expect(try TemplateRenderer.render([]) { _, _ in [] } == [])
    }

    @Test("a malformed reference reports line, column and what was expected", arguments: [
        ("{{ kw:// }}", 1, 9, "a scope after kw://"),
        ("ok\n  {{ kw://prod }}", 2, 15, "/NAME after the scope"),
        ("{{ kw://prod/ }}", 1, 14, "a scope segment or variable name after /"),
        ("{{ kw://prod//KEY }}", 1, 14, "a scope segment or variable name after /"),
        ("{{ kw://prod/1KEY }}", 1, 14, "a variable name"),
        ("{{ kw://prod/my-key }}", 1, 14, "a variable name"),
        ("{{ kw://prod/KEY", 1, 17, "}} to close the reference"),
        ("{{ kw://prod/KEY }", 1, 18, "}} to close the reference"),
        ("{{ kw://prod/KEY extra }}", 1, 18, "}} to close the reference"),
        ("é{{ kw://pr od/KEY }}", 1, 12, "/NAME after the scope"),
    ])
    func malformed(text: String, line: Int, column: Int, expected: String) throws {
        let error = try #require(templateError(text))
        #expect(error.line == line)
        #expect(error.column == column)
        #expect(error.expected.hasPrefix(expected), "\(error.expected)")
        #expect(error.description == "app.tmpl:\(line):\(column): expected \(error.expected)")
    }

    @Test("a malformed template fails before any secret is resolved")
    func failsBeforeResolving() throws {
        var calls = 0
        #expect(throws: TemplateError.self) {
            _ = try TemplateRenderer.render(Array("{{ kw://prod/ANTHROPIC_API_KEY }} {{ kw://bad }}".utf8)) { _, _ in
                calls += 1
                return []
            }
        }
        #expect(calls == 0)
    }

    @Test("the resolver's error reaches the caller")
    func resolverErrors() {
        #expect(throws: Unknown.self) { try render("{{ kw://prod/MISSING }}") }
    }
}
