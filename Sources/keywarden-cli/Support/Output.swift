#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KeywardenCore

/// Writing to stdout and stderr. Human output is aligned tables; `--json` is
/// a pretty-printed JSON document with the model's field names.
///
/// Commands write through their context's `Output` (``CLIContext/output``);
/// the static forms write to the process's own streams.
struct Output: Sendable {
    /// Writes bytes to standard output.
    var standardOutput: @Sendable (UnsafeRawBufferPointer) -> Void = Output.writeStandardOutput
    /// Writes bytes to standard error.
    var standardError: @Sendable (UnsafeRawBufferPointer) -> Void = Output.writeStandardError
    /// Whether standard output is a terminal (a revealed value then ends with a newline).
    var isTerminal: @Sendable () -> Bool = { isatty(STDOUT_FILENO) == 1 }

    func line(_ text: String = "") {
        Array((text + "\n").utf8).withUnsafeBytes(standardOutput)
    }

    func error(_ text: String) {
        Array((text + "\n").utf8).withUnsafeBytes(standardError)
    }

    func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        line(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    func raw(_ bytes: UnsafeRawBufferPointer) {
        standardOutput(bytes)
    }

    func raw(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes(standardOutput)
    }

    /// Rewrites one status line on stderr (a terminal), e.g. progress.
    func progress(_ text: String) {
        Array(("\r\u{1B}[K" + text).utf8).withUnsafeBytes(standardError)
    }

    /// Prints rows under headers, columns padded to their widest cell (``Output/tableLines(_:_:)``).
    func table(_ headers: [String], _ rows: [[String]]) {
        for text in Output.tableLines(headers, rows) { line(text) }
    }

    static func writeStandardOutput(_ bytes: UnsafeRawBufferPointer) { writeAll(bytes, to: STDOUT_FILENO) }

    static func writeStandardError(_ bytes: UnsafeRawBufferPointer) { writeAll(bytes, to: STDERR_FILENO) }

    /// Writes every byte, after flushing Swift's own buffer (`print` buffers stdout).
    static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) {
        fflush(nil)
        var offset = 0
        while offset < bytes.count {
            let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n <= 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }

    /// The rows of a table under its headers, columns padded to their widest
    /// cell. Cells hold stored text (details, labels, names), so terminal
    /// controls and bidi overrides are replaced before they reach the terminal.
    static func tableLines(_ headers: [String], _ rows: [[String]]) -> [String] {
        let rows = rows.map { $0.map(DisplayText.sanitized) }
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func render(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return [render(headers)] + rows.map(render)
    }

    /// A short form of a fingerprint for tables (JSON has all 64 digits).
    static func short(_ fingerprint: String) -> String { String(fingerprint.prefix(12)) }

    static func time(_ t: Timestamp?) -> String {
        guard let t else { return "-" }
        return String(t.iso8601.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }
}
