import Foundation
import KeywardenTestSupport
import Testing

/// Every example in the README runs as written, in order, as a new user would
/// run them: one bash session in a fresh temporary HOME with the built
/// `keywarden` and `keywarden-mock` first on PATH. No network (the mock plays
/// the providers on 127.0.0.1) and nothing outside the temporary folder.
///
/// How the README's blocks are read:
/// - ```sh / ```bash: run verbatim; any failing command fails the test.
/// - ```console: each `$ ` line is a command (its output lines are shown, not
///   compared); it must exit 0, or the status the next `$ echo $?` shows. Key
///   ids the README shows (`k_…`) are the ones its own output printed, so the
///   test maps each shown id to the one this run printed, as a reader would.
/// - ```python: run with python3 at that point (an agent is serving).
/// - ```crontab: `NAME=value` lines are the environment; each schedule line's
///   command runs with cron's environment (HOME, LOGNAME, SHELL, PATH=/usr/bin:/bin) plus those.
/// - ```ini units written by a block run as root are checked with `systemd-analyze verify`.
/// - ```text: output or synopsis only. `<!-- readme-test: skip: why -->` before a
///   block skips it (it builds the project, or needs a second user account).
/// - `<!-- readme-test: as root -->`: run with `sudo` dropped and /usr/local, /etc,
///   /var/lib moved under a temporary root.
/// The user's own files the tour reads (`gemini.key`, `key.txt`, `db-url.txt`,
/// `app.py`, the clipboard of `pbpaste`, what is pasted at a prompt) are made-up
/// stand-ins created here.
@Suite("End to end: the README's examples run as written")
struct ReadmeExamplesTests {
    struct Block {
        var language: String
        var lines: [String]
        var marker: String?
        var line: Int
    }

    static var readmePath: String { path("README.md") }

    /// A file of the repository.
    static func path(_ relative: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(relative).path
    }

    /// The reference pages whose examples were the README's before it became
    /// a quick start, in the README's old order: they build on each other (the
    /// tour's vault, keys and scopes), so they run as one session.
    static let referencePages = ["docs/tour.md", "docs/delivery.md", "docs/validation.md", "docs/api.md", "docs/rotation.md"]

    /// Every page a reader may copy from: the README and every docs/ page.
    static var allPages: [String] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: path("docs"))) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    }

    static func blocks(of text: String) -> [Block] {
        var blocks: [Block] = []
        var current: Block?
        var marker: String?
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).enumerated() {
            if var block = current {
                if line.hasPrefix("```") {
                    blocks.append(block)
                    current = nil
                } else {
                    block.lines.append(line)
                    current = block
                }
            } else if line.hasPrefix("```") {
                current = Block(language: String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces), lines: [], marker: marker, line: number + 1)
                marker = nil
            } else if line.hasPrefix("<!-- readme-test:") {
                marker = line
            } else if !line.trimmingCharacters(in: .whitespaces).isEmpty {
                marker = nil
            }
        }
        return blocks
    }

    @Test("every fenced block of the README and docs/ says what it is: runnable (sh, bash, console, python, crontab, ini) or output only (text)")
    func everyBlockIsClassified() throws {
        for page in Self.allPages {
            let text = try String(contentsOfFile: Self.path(page), encoding: .utf8)
            for block in Self.blocks(of: text) {
                #expect(["sh", "bash", "console", "python", "crontab", "ini", "text"].contains(block.language),
                        "\(page) line \(block.line): a ``` block without a known language ('\(block.language)'): say whether it runs or is output only")
            }
        }
    }

    @Test("the README's examples, run in order in a fresh home")
    func examplesRun() throws {
        try run(Self.blocks(of: String(contentsOfFile: Self.readmePath, encoding: .utf8)), throughAgent: false)
    }

    @Test("the reference pages' examples (tour, delivery, validation, API, rotation), run in order in a fresh home")
    func referenceExamplesRun() throws {
        let blocks = try Self.referencePages.flatMap { Self.blocks(of: try String(contentsOfFile: Self.path($0), encoding: .utf8)) }
        #expect(blocks.contains { $0.language == "console" })
        try run(blocks, throughAgent: false)
    }

    @Test("docs/tour.md, start to end, with only an agent running")
    func longTourThroughAgent() throws {
        let tour = Self.blocks(of: try String(contentsOfFile: Self.path("docs/tour.md"), encoding: .utf8))
        #expect(tour.contains { $0.language == "console" }, "the tour has no console block")
        try run(tour, throughAgent: true)
    }

    /// The tour with only an agent: right after `init` an agent is started
    /// (unlocked with the tour's keyfile), and `export KEYWARDEN_KEYFILE`
    /// becomes `unset`, so every later command has no credential of its own
    /// and must go through the agent — with the exit codes the tour shows.
    @Test("the README's tour, start to end, with only an agent running")
    func tourThroughAgent() throws {
        let text = try String(contentsOfFile: Self.readmePath, encoding: .utf8)
        let start = try #require(text.range(of: "\n## A tour\n"))
        let end = try #require(text.range(of: "\n## ", range: start.upperBound..<text.endIndex))
        let tour = Self.blocks(of: String(text[start.lowerBound..<end.lowerBound]))
        #expect(tour.contains { $0.language == "console" }, "the tour has no console block")
        try run(tour, throughAgent: true)
    }

    private func run(_ blocks: [Block], throughAgent: Bool) throws {
        let directory = TemporaryDirectory(prefix: "keywarden-readme")
        let home = directory.file("home"), work = directory.file("home/work"), bin = directory.file("bin"), root = directory.file("root")
        let runtime = directory.file("run")
        // What a fresh machine has: the folders root's commands write into.
        for folder in [home, work, bin, root, runtime, root + "/etc/systemd/system", root + "/var/lib"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let built = URL(fileURLWithPath: CommandRunner.keywardenBinary).deletingLastPathComponent()
        for program in ["keywarden", "keywarden-mock"] {
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + program, withDestinationPath: built.appendingPathComponent(program).path)
        }
        // The user's own files and clipboard (made-up keys in each provider's format).
        let files: [String: String] = [
            "gemini.key": FakeKeys.gemini("h") + "\n",
            "key.txt": FakeKeys.anthropic("l") + "\n",
            "db-url.txt": "postgres://app:s3cret@db/app\n",
            "app.py": "import os\nassert os.environ['ANTHROPIC_API_KEY'].startswith('sk-ant-')\n",
            "pasted": FakeKeys.anthropic("z") + "\n",
        ]
        for (name, content) in files { try content.write(toFile: work + "/" + name, atomically: false, encoding: .utf8) }
        try "#!/bin/sh\nprintf '%s' '\(FakeKeys.openai("c"))'\n".write(toFile: bin + "/pbpaste", atomically: false, encoding: .utf8)
        chmod(bin + "/pbpaste", 0o755)

        let script = try Self.script(for: blocks, root: root, work: work, throughAgent: throughAgent)
        try script.write(toFile: directory.file("readme.sh"), atomically: false, encoding: .utf8)
        let environment = [
            "HOME": home, "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"), "XDG_RUNTIME_DIR": runtime, "LANG": "C.UTF-8",
            "KEYWARDEN_ROOT": root, "USER": "readme", "LOGNAME": "readme",
        ]
        let started = Date()
        let result = try CommandRunner.run("/bin/bash", [directory.file("readme.sh")], environment: environment, currentDirectory: work, timeout: 120)
        if let log = ProcessInfo.processInfo.environment["KEYWARDEN_README_LOG"] {  // for debugging a failing example
            try? (script + "\n--- stdout ---\n" + result.out + "\n--- stderr ---\n" + result.err).write(toFile: log, atomically: false, encoding: .utf8)
        }
        let failures = result.err.split(separator: "\n").filter { $0.hasPrefix("@@FAIL") }
        #expect(result.status == 0 && failures.isEmpty, "README examples failed:\n\(failures.joined(separator: "\n"))\n--- stderr (end) ---\n\(result.err.suffix(4000))")
        #expect(result.out.contains("@@DONE"), "the script did not reach the end")
        #expect(Date().timeIntervalSince(started) < 60, "the README run is slow: \(Date().timeIntervalSince(started)) s")
    }

    /// The bash script that runs `blocks` in order.
    static func script(for blocks: [Block], root: String, work: String, throughAgent: Bool = false) throws -> String {
        var out = """
        # Generated from README.md by ReadmeExamplesTests.
        __kw_ids=()
        __kw_map() { local s="$1"; for pair in "${__kw_ids[@]}"; do s="${s//${pair%%=*}/${pair#*=}}"; done; printf '%s' "$s"; }
        trap 'jobs -p | xargs -r kill 2>/dev/null' EXIT
        cd \(quote(work))

        """
        var commandNumber = 0
        for block in blocks {
            if let marker = block.marker, marker.contains("skip") { continue }
            let asRoot = block.marker?.contains("as root") ?? false
            let body = block.lines.map { asRoot ? rooted($0, under: root) : $0 }
            switch block.language {
            case "sh", "bash":
                let commands = body.filter { !($0.contains("systemctl ")) }.joined(separator: "\n")
                out += "# README line \(block.line)\n"
                out += "if ! ( set -e\n\(commands)\n ); then echo '@@FAIL README line \(block.line): a command of this block failed' >&2; fi\n"
                // The block's exports must hold for the next blocks: run it again
                // in this shell only for its assignments and cd.
                for line in body where line.hasPrefix("export ") || line.hasPrefix("cd ") { out += line + "\n" }
                for line in body where line.contains("/systemd/system/") && line.contains("tee ") {
                    if let path = line.split(separator: " ").first(where: { $0.contains("/systemd/system/") }) {
                        out += "systemd-analyze verify \(path) >&2 || echo '@@FAIL README line \(block.line): systemd-analyze verify \(path)' >&2\n"
                    }
                }
            case "console":
                var index = 0
                while index < body.count {
                    let line = body[index]
                    index += 1
                    guard line.hasPrefix("$ ") else { continue }
                    var command = String(line.dropFirst(2))
                    if throughAgent, command.hasPrefix("export KEYWARDEN_KEYFILE=") {
                        command = "unset KEYWARDEN_KEYFILE KEYWARDEN_PASSPHRASE"
                    }
                    var shown: [String] = []
                    while index < body.count, !body[index].hasPrefix("$ ") { shown.append(body[index]); index += 1 }
                    commandNumber += 1
                    var expected = 0
                    if index < body.count, body[index] == "$ echo $?", index + 1 < body.count, let code = Int(body[index + 1]) { expected = code }
                    if command == "echo $?" { expected = 0 }
                    let shownIDs = ids(in: shown.joined(separator: "\n"))
                    let stdin = command.contains("# paste") ? "pasted" : "/dev/null"
                    out += """
                    # README line \(block.line), command \(commandNumber)
                    __kw_cmd=$(__kw_map \(quote(command)))
                    (exit ${__kw_prev:-0})
                    eval "$__kw_cmd" < \(stdin) > >(tee .kw-out) 2> >(tee .kw-err >&2)
                    __kw_s=$?
                    __kw_prev=$__kw_s
                    sleep 0.05
                    if [ "$__kw_s" != "\(expected)" ]; then echo "@@FAIL README line \(block.line): \\`$__kw_cmd\\` exited $__kw_s, expected \(expected)" >&2; fi

                    """
                    if !shownIDs.isEmpty {
                        out += """
                        __kw_got=($(cat .kw-out .kw-err | grep -oE 'k_[a-z0-9]{10}' | awk '!seen[$0]++'))
                        __kw_shown=(\(shownIDs.joined(separator: " ")))
                        if [ ${#__kw_got[@]} = ${#__kw_shown[@]} ]; then for i in "${!__kw_shown[@]}"; do __kw_ids+=("${__kw_shown[$i]}=${__kw_got[$i]}"); done; fi

                        """
                    }
                    // A reader starts the next command after a server has started.
                    if command.hasSuffix("&") || command.contains("& ") { out += "sleep 1\n" }
                    if throughAgent, command.hasPrefix("keywarden init"), let keyfile = command.split(separator: " ").drop(while: { $0 != "--keyfile" }).dropFirst().first {
                        out += """
                        keywarden serve --keyfile \(keyfile) > .kw-agent.log 2>&1 &
                        for _ in $(seq 200); do keywarden status >/dev/null 2>&1 && break; sleep 0.05; done

                        """
                    }
                }
            case "python":
                out += "python3 - <<'PYTHON' || echo '@@FAIL README line \(block.line): the Python example failed' >&2\n\(body.joined(separator: "\n"))\nPYTHON\n"
            case "crontab":
                var variables: [String] = []
                for line in body where !line.hasPrefix("#") && !line.isEmpty {
                    let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                    if fields.count == 1, line.contains("=") {
                        variables.append(line)
                    } else if fields.count > 5 {
                        let command = fields.dropFirst(5).joined(separator: " ")
                        out += "env -i HOME=\"$HOME\" LOGNAME=\"$LOGNAME\" SHELL=/bin/sh PATH=/usr/bin:/bin \(variables.map(quote).joined(separator: " ")) /bin/sh -c \(quote(command)) >&2 || echo '@@FAIL README line \(block.line): cron command failed: \(command)' >&2\n"
                    }
                }
            default:
                continue
            }
        }
        return out + "echo @@DONE\n"
    }

    /// A command of a block run "as root", moved under the temporary root.
    /// The literal path, not a variable: unit files are written by quoted heredocs.
    static func rooted(_ line: String, under root: String) -> String {
        var line = line.replacingOccurrences(of: "sudo ", with: "")
        for prefix in ["/usr/local/bin", "/etc/", "/var/lib/"] {
            line = line.replacingOccurrences(of: prefix, with: root + prefix)
        }
        return line
    }

    static func ids(in text: String) -> [String] {
        var seen: [String] = []
        let regex = try! NSRegularExpression(pattern: "k_[a-z0-9]{10}")
        for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let id = String(text[Range(match.range, in: text)!])
            if !seen.contains(id) { seen.append(id) }
        }
        return seen
    }

    static func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
