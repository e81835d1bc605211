import Foundation
import KeywardenTestSupport
import Testing

@Suite("End to end: run --mask")
struct RunMaskTests {
    /// A vault whose `prod` scope has a key, a secret config value with a
    /// line break, and a plain config value.
    func maskVault(_ mode: CLIMode) throws -> (cli: CLIHarness, key: String, pem: String) {
        let cli = CLIHarness(mode)
        try cli.initVault()
        let key = FakeKeys.anthropic("m")
        _ = try cli.addKey("anthropic", scope: "prod", value: key)
        let pem = "-----BEGIN KEY-----\nMIIEsecretpart\n-----END KEY-----"
        try cli.ok(["config", "set", "PEM", "--secret", "--scope", "prod"], stdin: pem + "\n")
        try cli.ok(["config", "set", "REGION", "eu-west-1", "--scope", "prod"])
        return (cli, key, pem)
    }

    /// A child that writes `$ANTHROPIC_API_KEY` to stdout and stderr in
    /// pieces, flushing and pausing between them so each arrives in its own read.
    static let splitWriter = """
        import os, sys, time
        key = os.environ["ANTHROPIC_API_KEY"].encode()
        for stream in (sys.stdout.buffer, sys.stderr.buffer):
            for piece in (b"key=" + key[:5], key[5:20], key[20:] + b" region=" + os.environ["REGION"].encode() + b"\\n"):
                stream.write(piece); stream.flush(); time.sleep(0.05)
        sys.stdout.buffer.write(b"pem=" + os.environ["PEM"].encode() + b"\\n")
        """

    @Test("a key written to stdout and stderr in pieces comes out as ***; plain config is left alone", arguments: CLIMode.allCases)
    func splitWrites(mode: CLIMode) throws {
        let (cli, key, pem) = try maskVault(mode)
        let result = try cli.ok(["run", "--scope", "prod", "--mask", "--", "python3", "-c", Self.splitWriter])
        #expect(result.out == "key=*** region=eu-west-1\npem=***\n")
        #expect(result.err == "key=*** region=eu-west-1\n")
        #expect(!result.out.contains(key) && !result.err.contains(key) && !result.out.contains(pem))
        // Without --mask the output is the command's own, as before.
        let plain = try cli.ok(["run", "--scope", "prod", "--", "python3", "-c", Self.splitWriter])
        #expect(plain.out.contains(key))
    }

    @Test("exit status and signals pass through --mask", arguments: CLIMode.allCases)
    func statusAndSignals(mode: CLIMode) throws {
        let (cli, _, _) = try maskVault(mode)
        #expect(try cli.run(["run", "--scope", "prod", "--mask", "--", "sh", "-c", "exit 42"]).status == 42)
        let killed = try cli.run(["run", "--scope", "prod", "--mask", "--", "sh", "-c", "kill -TERM $$"])
        #expect(killed.signalled)
        #expect(killed.status == SIGTERM)
        #expect(try cli.run(["run", "--scope", "prod", "--mask", "--", "/nonexistent/cmd"]).status == 127)
        // Large output is relayed whole, masked, after the command exits.
        let large = try cli.ok(["run", "--scope", "prod", "--mask", "--", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo \"$i $ANTHROPIC_API_KEY\"; i=$((i+1)); done"])
        let lines = large.out.split(separator: "\n")
        #expect(lines.count == 20000)
        #expect(lines.last == "19999 ***")
    }

    @Test("values from an --env-file template are masked; other output passes byte for byte", arguments: CLIMode.allCases)
    func templateAndBinary(mode: CLIMode) throws {
        let (cli, key, _) = try maskVault(mode)
        let template = cli.directory.file("app.env.tpl")
        try Data("TOKEN=kw://prod/ANTHROPIC_API_KEY\n".utf8).write(to: URL(fileURLWithPath: template))
        let result = try cli.ok(["run", "--env-file", template, "--mask", "--", "sh", "-c", "echo \"t=$TOKEN\""])
        #expect(result.out == "t=***\n")
        #expect(!result.out.contains(key))
        // Every byte value, several times over and in odd-sized writes: unchanged.
        let binary = cli.directory.file("binary")
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 251) }
        try Data(bytes).write(to: URL(fileURLWithPath: binary))
        let copied = try cli.ok(["run", "--scope", "prod", "--mask", "--", "dd", "if=\(binary)", "bs=997", "status=none"])
        #expect(copied.stdout == bytes)
    }

    @Test("a value inside a template line is masked on its own, not only as the whole rendered line", arguments: CLIMode.allCases)
    func templateReferenceInsideText(mode: CLIMode) throws {
        let (cli, key, _) = try maskVault(mode)
        let template = cli.directory.file("auth.env.tpl")
        try Data("AUTH=Bearer {{ kw://prod/ANTHROPIC_API_KEY }}\n".utf8).write(to: URL(fileURLWithPath: template))
        let result = try cli.ok(["run", "--env-file", template, "--mask", "--", "sh", "-c", "echo \"${AUTH#Bearer }\"; echo \"$AUTH\""])
        #expect(result.out == "***\n***\n")
        #expect(!result.out.contains(key))
    }

    @Test("while it supervises, keywarden's own core limit stays 0; the command gets the caller's")
    func coreLimit() throws {
        let (cli, _, _) = try maskVault(.direct)
        // The command reads its parent's (keywarden's) limits.
        let inner = "ulimit -S -c unlimited && exec \"$0\" run --scope prod --mask -- sh -c 'ulimit -c; grep \"Max core file size\" /proc/$PPID/limits'"
        let result = try CommandRunner.run("/bin/sh", ["-c", inner, CommandRunner.keywardenBinary], environment: cli.environment, timeout: 30)
        #expect(result.status == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n").map(String.init)
        #expect(lines.first == "unlimited", "\(result.out)")
        let soft = lines.dropFirst().first?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).first
        #expect(soft == "0", "\(result.out)")
    }

    /// Runs keywarden on a pty; once the command (which never reads its
    /// input) is ready, pastes 100 KB at it while reading all output.
    static let paster = #"""
        import os, select, subprocess, sys, time
        binary = sys.argv[1]
        master, slave = os.openpty()
        os.set_blocking(master, False)
        child = "echo ready; sleep 1; i=0; while [ $i -lt 3000 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done; echo done"
        p = subprocess.Popen([binary, "run", "--scope", "prod", "--mask", "--", "sh", "-c", child], stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        out = b""
        paste = (b"x" * 99 + b"\n") * 1000
        deadline = time.time() + 15
        while time.time() < deadline:
            want = [master] if b"ready" in out and paste else []
            r, w, _ = select.select([master], want, [], 0.2)
            if w:
                try:
                    paste = paste[os.write(master, paste[:4096]):]
                except BlockingIOError:
                    pass
            if r:
                try:
                    data = os.read(master, 65536)
                except BlockingIOError:
                    data = None
                except OSError:
                    break
                if data == b"":
                    break
                if data:
                    out += data
            if p.poll() is not None and not r:
                break
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
            sys.stdout.write("stuck\n")
        text = out.decode(errors="replace").replace("\r", "")
        sys.stdout.write("done-seen=%s\n" % ("\ndone\n" in text))
        sys.stdout.write("status=%d\n" % p.returncode)
        """#

    @Test("through a terminal: a large paste at a command that does not read it does not stall its output")
    func pasteDoesNotDeadlock() throws {
        let (cli, _, _) = try maskVault(.direct)
        let result = try CommandRunner.run("/usr/bin/env", ["python3", "-c", Self.paster, CommandRunner.keywardenBinary],
                                           environment: cli.environment, timeout: 40)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == "done-seen=True\nstatus=0\n", "\(result.out)")
    }

    /// Preloaded into keywarden: sends keywarden SIGTERM from inside
    /// posix_spawn, once SIGTERM has a handler, i.e. while the command is
    /// being started and its pid is not known yet.
    static let spawnSignaller = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <signal.h>
        #include <spawn.h>
        #include <unistd.h>
        typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *, char *const [], char *const []);
        int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attributes, char *const argv[], char *const envp[]) {
            static int sent = 0;
            struct sigaction current;
            if (!sent && sigaction(SIGTERM, NULL, &current) == 0 && current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) {
                sent = 1;
                kill(getpid(), SIGTERM);
            }
            return ((spawn_fn)dlsym(RTLD_NEXT, "posix_spawn"))(pid, path, actions, attributes, argv, envp);
        }
        """

    @Test("a signal that comes while the command is being started is passed on once it runs",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/cc")))
    func signalDuringSpawn() throws {
        let (cli, _, _) = try maskVault(.direct)
        let source = cli.directory.file("signaller.c")
        let library = cli.directory.file("signaller.so")
        try Data(Self.spawnSignaller.utf8).write(to: URL(fileURLWithPath: source))
        let compiled = try CommandRunner.run("/usr/bin/cc", ["-shared", "-fPIC", "-o", library, source, "-ldl"], environment: cli.environment)
        try #require(compiled.status == 0, "\(compiled.err)")
        let result = try cli.run(["run", "--scope", "prod", "--mask", "--", "sh", "-c", "sleep 3; echo ran"], env: ["LD_PRELOAD": library])
        #expect(result.signalled, "\(result.out) \(result.err)")
        #expect(result.status == SIGTERM)
        #expect(!result.out.contains("ran"))
    }

    @Test("a signal sent to keywarden reaches the command, whose exit status comes back")
    func forwardsSignals() throws {
        let (cli, key, _) = try maskVault(.direct)
        let ready = cli.directory.file("ready")
        let script = """
            import os, signal, sys, time
            def term(*_):
                print("got TERM", os.environ["ANTHROPIC_API_KEY"], flush=True); sys.exit(3)
            signal.signal(signal.SIGTERM, term)
            open(sys.argv[1], "w").close()
            time.sleep(30)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.keywardenBinary)
        process.arguments = ["run", "--scope", "prod", "--mask", "--", "python3", "-c", script, ready]
        process.environment = cli.environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: ready) { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: ready), "the command did not start")
        kill(process.processIdentifier, SIGTERM)
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 3)
        #expect(out == "got TERM ***\n")
        #expect(!out.contains(key))
    }

    @Test("through a terminal: the command sees a tty, its output is masked", arguments: CLIMode.allCases)
    func throughTerminal(mode: CLIMode) throws {
        let (cli, key, _) = try maskVault(mode)
        let binary = CommandRunner.keywardenBinary
        // `script` gives keywarden a terminal as stdin, stdout and stderr.
        let inner = "\(binary) run --scope prod --mask -- sh -c 'test -t 0 && test -t 1 && test -t 2 && echo tty-yes; stty size; echo \"k=$ANTHROPIC_API_KEY\"; printf \"%s\\n\" \"$PEM\"; read line; echo \"read=$line\"'"
        let result = try CommandRunner.run("/usr/bin/script", ["-q", "-e", "-c", inner, "/dev/null"], environment: cli.environment,
                                           stdin: Array("typed-input\n".utf8), timeout: 30)
        #expect(result.status == 0, "\(result.out) \(result.err)")
        #expect(result.out.contains("tty-yes"), "\(result.out)")
        #expect(result.out.contains("k=***"), "\(result.out)")
        #expect(result.out.contains("read=typed-input"), "\(result.out)")
        #expect(!result.out.contains(key), "the key reached the terminal")
        #expect(!result.out.contains("MIIEsecretpart"), "the multi-line value reached the terminal")
        let status = try CommandRunner.run("/usr/bin/script", ["-q", "-e", "-c", "\(binary) run --scope prod --mask -- sh -c 'exit 9'", "/dev/null"],
                                           environment: cli.environment, timeout: 30)
        #expect(status.status == 9)
    }

    @Test("a Ctrl-C typed at the terminal reaches a piped command once, not twice")
    func terminalInterruptOnce() throws {
        let (cli, _, _) = try maskVault(.direct)
        let counter = cli.directory.file("count.py")
        try Data("""
            import signal, time
            n = 0
            def h(*_):
                global n; n += 1
            signal.signal(signal.SIGINT, h)
            print("ready", flush=True)
            end = time.time() + 4
            while time.time() < end: time.sleep(0.05)
            print("SIGINTs=%d" % n, flush=True)
            """.utf8).write(to: URL(fileURLWithPath: counter))
        // stdout is a pipe (so no pty), stdin the terminal of `script`; ^C makes
        // the terminal signal the whole foreground group, keywarden included.
        let inner = "\(CommandRunner.keywardenBinary) run --scope prod --mask -- python3 \(counter) | (trap '' INT; cat)"
        let result = try CommandRunner.run("/bin/sh", ["-c", "(sleep 2; printf '\\003'; sleep 4) | script -q -e -c \"$0\" /dev/null", inner],
                                           environment: cli.environment, timeout: 30)
        #expect(result.out.contains("ready"), "\(result.out)")
        #expect(result.out.contains("SIGINTs=1"), "\(result.out)")
    }

    /// Runs keywarden on a pty of 40×100, resizes it to 50×120 once the
    /// command is ready and sends keywarden SIGWINCH, as a terminal would.
    static let resizer = #"""
        import fcntl, os, select, signal, struct, subprocess, sys, termios, time
        binary = sys.argv[1]
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        child = "stty size; trap 'stty size; exit 5' WINCH; echo ready; i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done"
        p = subprocess.Popen([binary, "run", "--scope", "prod", "--mask", "--", "sh", "-c", child], stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        out = b""
        deadline = time.time() + 20
        resized = False
        while time.time() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    break
                if not data:
                    break
                out += data
            if b"ready" in out and not resized:
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
                os.kill(p.pid, signal.SIGWINCH)
                resized = True
            if p.poll() is not None and not r:
                break
        p.wait(timeout=10)
        sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
        sys.stdout.write("status=%d\n" % p.returncode)
        """#

    @Test("through a terminal: the window size is the terminal's and follows it on SIGWINCH")
    func windowSize() throws {
        let (cli, _, _) = try maskVault(.direct)
        let result = try CommandRunner.run("/usr/bin/env", ["python3", "-c", Self.resizer, CommandRunner.keywardenBinary],
                                           environment: cli.environment, timeout: 40)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == "40 100\nready\n50 120\nstatus=5\n", "\(result.out)")
    }
}
