@testable import keywarden_cli
import KeywardenTestSupport
import Testing

/// `run` and `export` in their everyday forms are parsed without
/// ArgumentParser (start-up time); these tests hold the two parsers to the
/// same answer, and check that every other form still goes to ArgumentParser.
@Suite("The everyday forms of run and export parse as ArgumentParser parses them")
struct EverydayFormsTests {
    /// Forms the fast parser must take (the ones scripts and prompts use).
    static let everyday: [[String]] = [
        ["run", "--scope", "prod", "--", "python", "app.py"],
        ["run", "--scope=prod", "--", "/bin/true"],
        ["run", "--scope", "dev", "--only", "ANTHROPIC_API_KEY", "--", "claude", "--model", "x"],
        ["run", "--scope", "prod", "--clean", "--", "env"],
        ["run", "--env-file", ".env.tpl", "--", "node", "server.js"],
        ["run", "--scope", "prod", "--env-file", "t.env", "--keyfile", "/k/vault.key", "--", "sh", "-c", "echo $X"],
        ["run", "--clean", "--scope", "a=b", "--", "--", "--help"],
        ["export", "--scope", "prod"],
        ["export", "--scope", "prod", "--format", "systemd", "--output", "/etc/app/env"],
        ["export", "--scope=dev", "--format=shell", "--only=OPENAI_API_KEY"],
        ["export", "--keyfile", "k", "--scope", "prod", "--format", "json"],
    ]

    /// Forms it must leave to ArgumentParser: help, short or unknown options,
    /// repeats, dash or empty values, no `--`, unknown formats, failed validation.
    static let others: [[String]] = [
        [], ["--version"], ["--help"], ["run"], ["run", "--help"], ["export", "-h"],
        ["run", "--scope", "prod", "python"],
        ["run", "--", "python"],
        ["run", "--scope", "prod", "--"],
        ["run", "--scope", "prod", "--scope", "dev", "--", "x"],
        ["run", "--scope", "-prod", "--", "x"],
        ["run", "--scope", "", "--", "x"],
        ["run", "--scope=", "--", "x"],
        ["run", "--scope", "--", "x"],
        ["run", "--clean", "--clean", "--scope", "p", "--", "x"],
        ["run", "--clean=true", "--scope", "p", "--", "x"],
        ["run", "--format", "json", "--scope", "p", "--", "x"],
        ["export"], ["export", "--scope"], ["export", "--scope", "prod", "-o", "file"],
        ["export", "--scope", "prod", "--format", "yaml"],
        ["export", "--scope", "prod", "--clean"],
        ["export", "--scope", "prod", "extra"],
        ["export", "--scope", "prod", "--", "x"],
        ["key", "list"], ["status"], ["inject", "--scope", "prod"],
    ]

    @Test("each everyday form gives the command ArgumentParser gives, field for field", arguments: everyday)
    func sameCommand(_ arguments: [String]) throws {
        let fast = try #require(EverydayForms.command(arguments), "not taken: \(arguments)")
        let parsed = try Keywarden.parseAsRoot(arguments)
        #expect(type(of: fast) == type(of: parsed))
        // The description shows every field, and "definition" for one never set.
        #expect(String(describing: fast) == String(describing: parsed))
        #expect(!String(describing: fast).contains("definition"), "\(fast)")
    }

    @Test("every other form is left to ArgumentParser", arguments: others)
    func leftToArgumentParser(_ arguments: [String]) {
        #expect(EverydayForms.command(arguments) == nil)
    }

    @Test("--version alone is answered before ArgumentParser, exactly as ArgumentParser answers it")
    func version() throws {
        let alone = try CommandRunner.run(CommandRunner.keywardenBinary, ["--version"], environment: [:])
        #expect(alone.status == 0 && alone.out == Keywarden.version + "\n" && alone.err.isEmpty)
        // With anything else, ArgumentParser answers (here: help, which names the version's flag).
        let other = try CommandRunner.run(CommandRunner.keywardenBinary, ["--version", "--help"], environment: [:])
        #expect(other.status == 0 && other.out.contains("--version"))
    }
}
