#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTPTypes
import NIOCore
import NIOHTTP1

/// The heads of the answers ``HotKeyReads`` writes, field for field what
/// Hummingbird writes for a route's `Response` with a JSON body:
/// `Content-Type`, `Content-Length`, `Date` (RFC 9110, to the second), and
/// `Server`. One per connection; the last head is reused while its second,
/// status and length stay the same, so a busy connection builds one per second.
/// ``RawKeyReads`` writes the same head as bytes, as NIO's HTTP/1.1 encoder
/// writes it.
struct AnswerHeads {
    /// The `Server` field, as the agent's application configuration names it.
    static let serverName = "keywarden-agent"

    private var second = -1
    private var date = ""
    private var last: (status: HTTPResponse.Status, length: Int, head: HTTPResponse)?
    private var lastBytes: (second: Int, status: HTTPResponse.Status, length: Int, bytes: ByteBuffer)?

    mutating func head(status: HTTPResponse.Status, contentLength: Int) -> HTTPResponse {
        let now = time(nil)
        if now != second {
            second = now
            date = Self.httpDate(now)
            last = nil
        }
        if let last, last.status == status, last.length == contentLength { return last.head }
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(contentLength)
        fields[.date] = date
        fields[.server] = Self.serverName
        let head = HTTPResponse(status: status, headerFields: fields)
        last = (status, contentLength, head)
        return head
    }

    /// The head as bytes: `HTTP/1.1 200 OK`, each field as `Name: value`, an empty line.
    mutating func bytes(status: HTTPResponse.Status, contentLength: Int) -> ByteBuffer {
        let head = head(status: status, contentLength: contentLength)
        if let lastBytes, lastBytes.second == second, lastBytes.status == status, lastBytes.length == contentLength { return lastBytes.bytes }
        var bytes = ByteBuffer()
        bytes.writeHead(head)
        lastBytes = (second, status, contentLength, bytes)
        return bytes
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110's IMF-fixdate), whatever the locale.
    static func httpDate(_ seconds: time_t) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

extension ByteBuffer {
    /// An answer's head as NIO's HTTP/1.1 encoder writes it: the status line,
    /// each field as `Name: value`, an empty line. For the answers written
    /// without the encoder (``RawKeyReads``, ``RawForwarding``).
    mutating func writeHead(_ head: HTTPResponse) {
        writeStatusLine(head.status.code, reason: head.status.reasonPhrase)
        for field in head.headerFields {
            writeString(field.name.rawName)
            writeStaticString(": ")
            writeString(field.value)
            writeStaticString("\r\n")
        }
        writeStaticString("\r\n")
    }

    /// `HTTP/1.1 200 OK`; without a `reason`, the standard one from NIO's
    /// table (HTTPTypes' `Status(code:)` has none).
    mutating func writeStatusLine(_ status: Int, reason: String = "") {
        writeStaticString("HTTP/1.1 ")
        writeString(String(status))
        writeStaticString(" ")
        writeString(reason.isEmpty ? HTTPResponseStatus(statusCode: status).reasonPhrase : reason)
        writeStaticString("\r\n")
    }
}
