#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPeerCredentials
import Foundation
import KeywardenClient
import KeywardenCore
import KeywardenCrypto
import KeywardenServer

/// A minimal blocking HTTP/1.1 client for the agent's Unix socket. The CLI
/// uses it when an unlocked agent answers, so commands need no passphrase and
/// no Argon2id run, and start in milliseconds.
struct AgentClient {
    let path: String

    struct Answer {
        var status: Int
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// The agent at the configured socket, if one answers unlocked and passes
    /// every ``AgentTrust`` check; nil when there is none, it is locked, or
    /// `KEYWARDEN_NO_AGENT` is set. An agent that fails a check gets nothing:
    /// a warning on stderr names the reason and the caller opens the vault.
    static func available(environment: [String: String]) -> AgentClient? {
        if let off = environment["KEYWARDEN_NO_AGENT"], !off.isEmpty, off != "0" { return nil }
        let path = AgentSocket.defaultPath(environment: environment)
        switch AgentTrust.checkFiles(socket: path) {
        case nil: return nil
        case .failure(let refusal)?:
            warnUntrusted(path, refusal)
            return nil
        case .success?: break
        }
        let client = AgentClient(path: path)
        let health: Answer
        do {
            health = try client.request("GET", "/v1/health")
        } catch let refusal as AgentTrust.Refusal {
            warnUntrusted(path, refusal)
            return nil
        } catch {
            return nil
        }
        // Decoded, not searched: a `locked` that is not a JSON boolean is not an answer we know.
        guard health.status == 200, let state = try? JSONDecoder().decode(Health.self, from: Data(health.body)), !state.locked else { return nil }
        return client
    }

    /// The part of `/v1/health` the CLI reads.
    struct Health: Decodable {
        var locked: Bool
        var startedAt: String?
        enum CodingKeys: String, CodingKey { case locked, startedAt = "started_at" }
    }

    /// The agent's `/v1/health`, or nil when it does not answer (as while it restarts).
    func health() -> Health? {
        guard let answer = try? request("GET", "/v1/health"), answer.status == 200 else { return nil }
        return try? JSONDecoder().decode(Health.self, from: Data(answer.body))
    }

    static func warnUntrusted(_ path: String, _ refusal: AgentTrust.Refusal) {
        Output.error("keywarden: warning: not using the agent at \(path): \(refusal.reason); opening the vault directly")
    }

    /// Sends one request and reads the whole answer. The listener's uid is
    /// checked (``AgentTrust/checkPeer(of:uid:)``) after connecting and
    /// before a byte is written; a failed check throws ``AgentTrust/Refusal``.
    func request(_ method: String, _ target: String, body: [UInt8] = [], purpose: String? = nil) throws -> Answer {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw KeywardenError(.failed, "cannot create a socket") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw KeywardenError(.invalidInput, "socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in for (i, b) in pathBytes.enumerated() { buffer[i] = b } }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw KeywardenError(.failed, "cannot reach the agent at \(path): \(String(cString: strerror(errno)))") }
        var credentials = kw_ucred()
        var length = socklen_t(MemoryLayout<kw_ucred>.size)
        guard getsockopt(fd, SOL_SOCKET, kw_so_peercred(), &credentials, &length) == 0 else { throw AgentTrust.Refusal(reason: "the kernel does not say who runs it") }
        if case .failure(let refusal) = AgentTrust.checkPeer(uid: credentials.uid, pid: credentials.pid) { throw refusal }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: keywarden\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
        if !body.isEmpty { head += "Content-Type: application/json\r\n" }
        if let purpose { head += "X-Keywarden-Purpose: \(purpose.filter { !$0.isNewline })\r\n" }
        var request = Array((head + "\r\n").utf8) + body
        defer { wipe(&request) }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            guard n > 0 else { throw KeywardenError(.failed, "the agent closed the connection") }
            sent += n
        }
        var response = WipingBuffer()
        defer { response.wipeAll() }
        var chunk = [UInt8](repeating: 0, count: 65536)
        defer { wipe(&chunk) }
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            response.append(chunk[0..<n])
        }
        // `response.bytes` is read in place, never bound to a local: a second
        // reference would make the final wipe copy the storage and wipe the copy.
        guard let split = response.bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { throw KeywardenError(.failed, "the agent sent an incomplete answer") }
        let headText = String(decoding: response.bytes[..<split.lowerBound], as: UTF8.self)
        let statusLine = headText.split(separator: "\r\n").first ?? ""
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        var bodyBytes = Array(response.bytes[split.upperBound...])
        if headText.lowercased().contains("transfer-encoding: chunked") {
            let dechunked = Self.dechunk(bodyBytes)
            wipe(&bodyBytes)
            bodyBytes = dechunked
        }
        return Answer(status: status, body: bodyBytes)
    }

    /// A growing byte buffer that wipes each old allocation when it grows, so
    /// an answer holding values leaves no stale copies on the heap.
    struct WipingBuffer {
        private(set) var bytes: [UInt8] = []

        mutating func append(_ more: ArraySlice<UInt8>) {
            if bytes.count + more.count > bytes.capacity {
                var grown: [UInt8] = []
                grown.reserveCapacity(max(2 * bytes.capacity, bytes.count + more.count, 4096))
                grown.append(contentsOf: bytes)
                wipe(&bytes)
                bytes = grown
            }
            bytes.append(contentsOf: more)
        }

        mutating func wipeAll() { wipe(&bytes) }
    }

    /// Throws the agent's error message for a non-2xx answer.
    func check(_ answer: Answer) throws(KeywardenError) -> Answer {
        guard !(200...299).contains(answer.status) else { return answer }
        let message = (try? JSONDecoder().decode([String: String].self, from: Data(answer.body)))?["error"] ?? "HTTP \(answer.status)"
        switch answer.status {
        case 404: throw KeywardenError(.notFound, message)
        case 400, 409, 422: throw KeywardenError(.invalidInput, message)
        case 403: throw KeywardenError(.locked, "the agent refused: \(message)")
        case 423: throw KeywardenError(.locked, message)
        default: throw KeywardenError(.failed, "the agent failed: \(message)")
        }
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            guard let lineEnd = bytes[i...].firstRange(of: Array("\r\n".utf8)) else { break }
            let size = Int(String(decoding: bytes[i..<lineEnd.lowerBound], as: UTF8.self), radix: 16) ?? 0
            if size == 0 { break }
            let start = lineEnd.upperBound
            out += bytes[start..<min(start + size, bytes.count)]
            i = start + size + 2
        }
        return out
    }

    static func query(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? value
    }
}
