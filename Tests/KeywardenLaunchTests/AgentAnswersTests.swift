import Foundation
import KeywardenCore
@testable import KeywardenLaunch
import Testing

/// The launcher reads the agent's answers without Foundation; these hold its
/// reader to what the full command line's `JSONDecoder` reads.
@Suite("The launcher's reader of the agent's answers")
struct AgentAnswersTests {
    func variables(_ text: String) -> [AgentAnswers.Variable]? {
        Array(text.utf8).withUnsafeBytes { AgentAnswers.variables($0) }
    }

    @Test("variables: names and base64 values, any member order, unknown members skipped, whitespace anywhere")
    func reads() throws {
        let read = try #require(variables(#" [ {"name":"A","value":"eA=="} , {"extra":{"x":[1,-2.5e3,true,null,"s"]},"value":"","name":"B_2"} ] "#))
        #expect(read.map(\.name) == ["A", "B_2"])
        #expect(read.map(\.value) == [[0x78], []])
        #expect(variables("[]")?.isEmpty == true)
    }

    @Test("every byte value survives, as Foundation's base64 writes it")
    func bytes() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let value = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let json = String(decoding: try JSONEncoder().encode([EnvironmentVariable(name: "V", value: Secret(copying: value))]), as: UTF8.self)
            #expect(variables(json)?.first?.value == value, "\(json)")
        }
    }

    @Test("malformed answers are refused, not half read", arguments: [
        "", "[", "{}", "[{}]", #"[{"name":"A"}]"#, #"[{"value":"eA=="}]"#, #"[{"name":"A","value":"eA=="}"#,
        #"[{"name":"A","value":"eA="}]"#, #"[{"name":"A","value":"e==A"}]"#, #"[{"name":"A","value":"eA*="}]"#,
        #"[{"name":"A","value":"eA=="}] x"#, #"[{"name":"A","value":"eA=="},]"#, "[{\"name\":\"A\u{1}\",\"value\":\"eA==\"}]",
        #"[{"name":"\ud800","value":"eA=="}]"#, #"[{"name":"\q","value":"eA=="}]"#, #"[{"name":1,"value":"eA=="}]"#,
    ])
    func refuses(_ text: String) {
        #expect(variables(text) == nil, "\(text)")
    }

    @Test("strings: every escape, and surrogate pairs, as JSONSerialization reads them")
    func escapes() throws {
        let name = "q\"b\\s/\u{8}\u{c}\n\r\t é 😀 \u{1}"
        let json = String(decoding: try JSONSerialization.data(withJSONObject: [["name": name, "value": "eA=="]]), as: UTF8.self)
        #expect(variables(json)?.first?.name == name)
        #expect(variables(#"[{"name":"\u00e9\ud83d\ude00\/","value":"eA=="}]"#)?.first?.name == "é😀/")
    }

    @Test("the agent's error document: message and kind; the exit code of each kind is keywarden-cli's")
    func failures() {
        func failure(_ status: Int, _ text: String) -> String {
            let read = Array(text.utf8).withUnsafeBytes { AgentFailure(status: status, body: $0) }
            return "\(read.exitCode) \(read.message)"
        }
        #expect(failure(404, #"{"error":"unknown scope 'x'","kind":"notFound"}"#) == "2 unknown scope 'x'")
        #expect(failure(403, #"{"error":"denied"}"#) == "3 denied")
        #expect(failure(500, "oops") == "1 the agent answered HTTP 500")
        #expect(failure(400, #"{"error":"x","kind":"newKind"}"#) == "2 the agent answered HTTP 400")
        for kind in [KeywardenError.Kind.invalidInput, .notFound, .conflict, .locked, .integrity, .validationFailed, .failed] {
            #expect(AgentFailure.exitCode(kind: kind.rawValue) == KeywardenError(kind, "").exitCode, "\(kind)")
        }
    }

    @Test("what run accepts from an agent is keywarden-cli's rule")
    func delivered() {
        #expect(DeliveredVariables.problem(["A", "B"], only: nil) == nil)
        #expect(DeliveredVariables.problem(["A", "A"], only: nil) == .failed("the agent sent a variable twice; nothing was used"))
        #expect(DeliveredVariables.problem(["LD_PRELOAD"], only: nil) != nil)
        #expect(DeliveredVariables.problem(["LD_PRELOAD"], only: ["LD_PRELOAD"]) == nil)
        #expect(DeliveredVariables.problem(["A", "B"], only: ["A"]) == .failed("the agent sent B, which was not asked for; nothing was used"))
        #expect(DeliveredVariables.problem(["A"], only: ["A", "C"]) == .failed("the agent did not send C; nothing was used"))
        // A name setenv would refuse or mangle, asked for or not.
        #expect(DeliveredVariables.problem(["A=B"], only: nil) == .failed("the agent sent an invalid variable name 'A=B'; nothing was used"))
        #expect(DeliveredVariables.problem([""], only: [""]) == .failed("the agent sent an invalid variable name ''; nothing was used"))
    }

    @Test("variable names: the rule of Names.isEnvironmentVariable", arguments: ["A", "_", "a_1", "1A", "", "A-B", "É", "A B", String(repeating: "A", count: 128), String(repeating: "A", count: 129)])
    func names(_ name: String) {
        let expected = name.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil && name.utf8.count <= 128
        #expect(EnvironmentVariableName.isValid(name) == expected)
    }

    @Test("the launcher's everyday run", arguments: [
        (["run", "--scope", "prod", "--", "env"], EverydayRun?.some(.init(scope: "prod", only: nil, clean: false, command: ["env"]))),
        (["run", "--clean", "--scope=dev", "--only", " A, B ,", "--", "x", "--y"], .some(.init(scope: "dev", only: ["A", "B"], clean: true, command: ["x", "--y"]))),
        (["run", "--scope", "prod", "--env-file", "t", "--", "env"], nil),
        (["run", "--scope", "prod", "--only", "A;B", "--", "env"], nil),
        (["run", "--scope", "prod", "--only", ",", "--", "env"], nil),
        (["run", "--scope", "prod", "--"], nil),
        (["run", "--gateway", "--scope", "prod", "--", "env"], nil),
        (["export", "--scope", "prod"], nil),
    ])
    func everyday(_ arguments: [String], _ expected: EverydayRun?) {
        #expect(EverydayRun(arguments) == expected)
    }
}

extension EverydayRun {
    init(scope: String, only: [String]?, clean: Bool, command: [String]) {
        self = EverydayRun(["run", "--scope", scope, "--", "placeholder"])!
        self.only = only
        self.clean = clean
        self.command = command
    }
}
