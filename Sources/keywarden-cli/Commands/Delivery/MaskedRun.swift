#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPeerCredentials
import KeywardenCore
import KeywardenLaunch

/// `run --mask`: the command runs as a child whose stdout and stderr pass
/// through an ``OutputMasker`` on their way to ours.
///
/// When our stdout is a terminal the child writes to a pseudo-terminal
/// instead of a pipe, so it still sees a terminal (colours, line buffering,
/// prompts); our terminal is put in raw mode and keystrokes go to it as they
/// are typed, the window size follows ours (SIGWINCH). Signals sent to
/// keywarden are passed on to the child; the child's exit status becomes
/// ours, and a child killed by a signal makes keywarden die of the same one.
enum MaskedRun {
    /// The child's pid and the write end of the wake-up pipe, for the signal
    /// handler (only async-signal-safe calls there).
    nonisolated(unsafe) private static var wakeDescriptor: Int32 = -1
    /// Whether signals the terminal generated are passed on too: only when
    /// the child has a session of its own (pty), else the terminal already
    /// sent them to the child's process group, which is ours.
    nonisolated(unsafe) private static var forwardTerminalSignals = false
    nonisolated(unsafe) private static var childProcess: pid_t = 0
    /// Signals to pass on that came before the child's pid was known, on a
    /// thread that did not block them (one flag per signal number).
    nonisolated(unsafe) private static var earlySignals: UnsafeMutablePointer<Int32>?

    /// The signals passed on to the child.
    static let forwarded: [Int32] = [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGCONT, SIGALRM]

    /// Spawns `executable` with `arguments` and the current environment, relays
    /// its output masked, and exits as it did.
    static func run(executable: String, arguments: [String], masking values: [Secret]) throws -> Never {
        let usePTY = isatty(STDOUT_FILENO) == 1
        let stdinIsTerminal = isatty(STDIN_FILENO) == 1
        var streams: [Stream] = []
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        var master: Int32 = -1
        /// Descriptors only the child may hold, closed here once it runs.
        var childEnds: [Int32] = []
        if usePTY {
            let pty = try openTerminal(like: stdinIsTerminal ? STDIN_FILENO : STDOUT_FILENO)
            master = pty.master
            // A new session whose controlling terminal is the pty: opening it
            // there (not inheriting a descriptor) makes it so.
            posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, pty.slavePath, O_RDWR, 0)
            if stdinIsTerminal { posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDIN_FILENO) }
            if isatty(STDERR_FILENO) == 1 { posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO) }
            streams.append(Stream(read: master, write: STDOUT_FILENO, values: ptyVariants(values)))
        } else {
            let out = try pipePair()
            posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO)
            childEnds.append(out.write)
            streams.append(Stream(read: out.read, write: STDOUT_FILENO, values: values))
        }
        if !usePTY || isatty(STDERR_FILENO) != 1 {
            let err = try pipePair()
            posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO)
            childEnds.append(err.write)
            streams.append(Stream(read: err.read, write: STDERR_FILENO, values: values))
        }

        // The child starts with default dispositions and nothing blocked, as
        // after exec without --mask.
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if usePTY { flags |= Int32(kw_posix_spawn_setsid()) }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in 1..<32 where sig != SIGKILL && sig != SIGSTOP { sigaddset(&defaults, Int32(sig)) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        // Signals are caught before the child exists, and held (blocked)
        // until its pid is known, so none is lost between: one that comes
        // while it is spawned stays pending and is passed on at the unblock;
        // one that another thread (which did not block it) takes meanwhile is
        // noted in `earlySignals` and passed on just after. (The child itself
        // starts with an empty mask: setsigmask above.)
        let wake = try pipePair()
        setNonBlocking(wake.read)
        setNonBlocking(wake.write)
        // Set before any handler runs, so the handler never initializes a global.
        wakeDescriptor = wake.write
        forwardTerminalSignals = usePTY
        childProcess = 0
        let early = UnsafeMutablePointer<Int32>.allocate(capacity: 65)
        early.initialize(repeating: 0, count: 65)
        earlySignals = early
        var held = sigset_t()
        sigemptyset(&held)
        for sig in forwarded + [SIGCHLD, SIGWINCH] { sigaddset(&held, sig) }
        pthread_sigmask(SIG_BLOCK, &held, nil)
        for sig in forwarded + [SIGCHLD, SIGWINCH] { catchSignal(sig) }
        // Our own writes to a closed reader fail with EPIPE instead of killing us.
        signal(SIGPIPE, SIG_IGN)

        var pid = pid_t()
        // The command gets the caller's core limit; keywarden, whose
        // environment holds the values, has 0 again right after.
        CoreDumps.restoreForChild()
        var status = spawn(&pid, executable, arguments, &actions, &attributes)
        if status == ENOEXEC {
            // A script without a #! line: run it with sh, as execvp does.
            status = spawn(&pid, "/bin/sh", ["sh", executable] + arguments.dropFirst(), &actions, &attributes)
        }
        CoreDumps.disableAfterSpawn()
        if status == 0 { childProcess = pid }
        pthread_sigmask(SIG_UNBLOCK, &held, nil)
        if status == 0 {
            for sig in forwarded where early[Int(sig)] != 0 {
                early[Int(sig)] = 0
                kill(pid, sig)
            }
        }
        guard status == 0 else {
            throw CommandFailure(code: status == ENOENT ? 127 : 126, message: "cannot run \(arguments[0]): \(String(cString: strerror(status)))")
        }
        // The child holds its ends now; ours must go so that EOF can come.
        for fd in childEnds { close(fd) }

        var rawTerminal: termios?
        if usePTY && stdinIsTerminal {
            var saved = termios()
            if tcgetattr(STDIN_FILENO, &saved) == 0 {
                var raw = saved
                cfmakeraw(&raw)
                if tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0 { rawTerminal = saved }
            }
        }
        let exitStatus = relay(streams: &streams, wake: wake.read, master: usePTY ? master : -1, stdinToMaster: usePTY && stdinIsTerminal, child: pid)
        if var saved = rawTerminal { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
        for index in streams.indices { streams[index].finish() }
        exitLike(exitStatus)
    }

    /// One output of the child on its way to ours.
    struct Stream {
        let read: Int32
        let write: Int32
        let masker: OutputMasker
        var open = true

        init(read: Int32, write: Int32, values: [Secret]) {
            self.read = read
            self.write = write
            self.masker = OutputMasker(values: values)
        }

        /// Shows what the masker still holds and closes our end.
        mutating func finish() {
            guard open else { return }
            open = false
            var rest = masker.finish()
            writeAll(write, rest)
            Secrets.wipe(&rest)
            close(read)
        }
    }

    /// Moves output until the child has exited and its outputs are drained;
    /// returns its wait status.
    private static func relay(streams: inout [Stream], wake: Int32, master: Int32, stdinToMaster: Bool, child: pid_t) -> Int32 {
        var buffer = [UInt8](repeating: 0, count: 65536)
        defer { Secrets.wipe(&buffer) }
        var childStatus: Int32?
        var stdinOpen = stdinToMaster
        // After the child exits, output still in flight is drained; a
        // grandchild that keeps the pipe open is not waited for.
        var drainDeadline: Double?
        // Keystrokes on their way to the pty: the master is non-blocking and
        // written when poll says it has room, so a command that does not read
        // its input cannot stop the relay of its output (and so itself).
        // While the queue is full, our stdin is not read: the terminal holds the rest.
        var input: [UInt8] = []
        defer { Secrets.wipe(&input) }
        if stdinToMaster { setNonBlocking(master) }
        while true {
            if childStatus == nil {
                var status: Int32 = 0
                if waitpid(child, &status, WNOHANG) == child {
                    childStatus = status
                    drainDeadline = now() + 0.5
                }
            }
            let openStreams = streams.indices.filter { streams[$0].open }
            if let status = childStatus, openStreams.isEmpty || now() > (drainDeadline ?? 0) { return status }
            var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            for index in openStreams { fds.append(pollfd(fd: streams[index].read, events: Int16(POLLIN), revents: 0)) }
            var stdinSlot: Int?
            if stdinOpen && input.count < inputQueueLimit {
                stdinSlot = fds.count
                fds.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0))
            }
            var masterSlot: Int?
            if !input.isEmpty {
                masterSlot = fds.count
                fds.append(pollfd(fd: master, events: Int16(POLLOUT), revents: 0))
            }
            let ready = poll(&fds, nfds_t(fds.count), childStatus == nil ? 1000 : 50)
            if ready < 0 && errno != EINTR { return childStatus ?? 0 }
            if ready <= 0 { continue }
            if fds[0].revents != 0 { handleSignals(wake: wake, master: master) }
            for (slot, index) in openStreams.enumerated() where fds[slot + 1].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(streams[index].read, $0.baseAddress, $0.count) }
                if count > 0 {
                    var shown = buffer.withUnsafeBytes { streams[index].masker.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                    if !writeAll(streams[index].write, shown) {
                        // Our reader went away: close the child's pipe so it learns too.
                        streams[index].open = false
                        close(streams[index].read)
                    }
                    Secrets.wipe(&shown)
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    // EOF, or EIO on a pty whose last writer closed it.
                    streams[index].finish()
                }
            }
            if let slot = stdinSlot, fds[slot].revents != 0 {
                let room = min(buffer.count, inputQueueLimit - input.count)
                let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, room) }
                if count > 0 {
                    buffer.withUnsafeBytes { input.append(contentsOf: $0[0..<count]) }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    stdinOpen = false
                }
            }
            if let slot = masterSlot, fds[slot].revents != 0 {
                let written = input.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
                if written > 0 {
                    input.removeFirst(written)
                } else if written < 0 && errno != EINTR && errno != EAGAIN {
                    // The pty is gone (EIO): what was typed has nowhere to go.
                    Secrets.wipe(&input)
                    input = []
                    stdinOpen = false
                }
            }
        }
    }

    /// The most keystrokes held for the pty at once.
    static let inputQueueLimit = 65536

    /// Empties the wake-up pipe; passes window size changes to the pty.
    private static func handleSignals(wake: Int32, master: Int32) {
        var signals = [UInt8](repeating: 0, count: 64)
        while read(wake, &signals, signals.count) > 0 {}
        if master >= 0 {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 { _ = ioctl(master, UInt(TIOCSWINSZ), &size) }
        }
    }

    private static func catchSignal(_ sig: Int32) {
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { sig, info, _ in
            let saved = errno
            if sig != SIGCHLD && sig != SIGWINCH {
                // A signal the terminal sent (SI_KERNEL) reached the child
                // already when it shares our process group.
                let fromTerminal = info.map { $0.pointee.si_code == SI_KERNEL } ?? false
                if MaskedRun.forwardTerminalSignals || !fromTerminal {
                    let child = MaskedRun.childProcess
                    if child > 0 {
                        kill(child, sig)
                    } else if sig > 0 && sig < 65, let early = MaskedRun.earlySignals {
                        // Still being spawned: passed on once the pid is known.
                        early[Int(sig)] = 1
                    }
                }
            }
            var byte = UInt8(truncatingIfNeeded: sig)
            _ = write(MaskedRun.wakeDescriptor, &byte, 1)
            errno = saved
        }
        action.sa_flags = SA_SIGINFO | SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(sig, &action, nil)
    }

    /// Exits with the child's status; a child killed by a signal makes us
    /// die of the same signal, so our parent sees what it would have seen.
    private static func exitLike(_ status: Int32) -> Never {
        let signalNumber = status & 0x7F
        if signalNumber == 0 { exit((status >> 8) & 0xFF) }
        // A child's SIGSEGV or SIGQUIT must not leave a core of keywarden.
        CoreDumps.forbidBeforeDying()
        signal(signalNumber, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signalNumber)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        kill(getpid(), signalNumber)
        // A signal whose default is to go on (SIGCHLD, SIGWINCH…): the shell convention.
        exit(128 + signalNumber)
    }

    private static func spawn(_ pid: inout pid_t, _ path: String, _ arguments: [String],
                              _ actions: inout posix_spawn_file_actions_t, _ attributes: inout posix_spawnattr_t) -> Int32 {
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        return posix_spawn(&pid, path, &actions, &attributes, &argv, environ)
    }

    /// In a pty the line discipline writes LF as CRLF: a value with a line
    /// break reaches us in that form too.
    private static func ptyVariants(_ values: [Secret]) -> [Secret] {
        var all = values
        for value in values {
            var bytes = value.copyBytes()
            defer { Secrets.wipe(&bytes) }
            guard bytes.contains(0x0A) else { continue }
            var crlf: [UInt8] = []
            defer { Secrets.wipe(&crlf) }
            for byte in bytes {
                if byte == 0x0A { crlf.append(0x0D) }
                crlf.append(byte)
            }
            all.append(Secrets.secret(copying: crlf))
        }
        return all
    }

    private static func pipePair() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard kw_pipe_cloexec(&fds) == 0 else {
            throw CommandFailure(code: 1, message: "cannot create a pipe for --mask: \(String(cString: strerror(errno)))")
        }
        return (fds[0], fds[1])
    }

    /// A pseudo-terminal with the settings and window size of `terminal`
    /// (where that is one). The slave is opened by the child, by path.
    private static func openTerminal(like terminal: Int32) throws -> (master: Int32, slavePath: String) {
        func failure() -> CommandFailure {
            CommandFailure(code: 1, message: "cannot open a pseudo-terminal for --mask: \(String(cString: strerror(errno)))")
        }
        var name = [CChar](repeating: 0, count: 128)
        let master = kw_open_pty_master(&name, name.count)
        guard master >= 0 else { throw failure() }
        let slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Settings are made through a slave opened here for the moment.
        let slave = open(slavePath, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else { throw failure() }
        defer { close(slave) }
        var settings = termios()
        if tcgetattr(terminal, &settings) == 0 { tcsetattr(slave, TCSANOW, &settings) }
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 { _ = ioctl(master, UInt(TIOCSWINSZ), &size) }
        return (master, slavePath)
    }

    private static func setCloseOnExec(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    private static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Writes all of `bytes`; false when the reader is gone.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    var wait = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&wait, 1, 100)
                    continue
                }
                return false
            }
            offset += written
        }
        return true
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
