/// One `{{ kw://SCOPE/NAME }}` reference found in a template.
public struct TemplateReference: Sendable, Equatable, Hashable {
    /// The scope path, e.g. `team/app`: every segment but the last.
    public let scope: String
    /// The variable name: the last segment, `[A-Za-z_][A-Za-z0-9_]*`.
    public let name: String
    /// 1-based line of the opening `{{`.
    public let line: Int
    /// 1-based column of the opening `{{`, in Unicode scalars.
    public let column: Int
    /// The bytes of the whole reference, `{{` to `}}`, in the template.
    public let range: Range<Int>

    /// Creates a reference.
    public init(scope: String, name: String, line: Int, column: Int, range: Range<Int>) {
        self.scope = scope
        self.name = name
        self.line = line
        self.column = column
        self.range = range
    }
}

/// Fills `{{ kw://SCOPE/NAME }}` references in a template (`keywarden inject`).
///
/// A reference is `{{`, optional spaces or tabs, `kw://`, a scope of one or
/// more `/`-separated segments of `[A-Za-z0-9_.-]`, `/`, a variable name
/// `[A-Za-z_][A-Za-z0-9_]*`, optional spaces or tabs, and `}}`. A `{{` that is
/// not followed by `kw://` is ordinary text, so templates of other tools
/// (`{{ .Values.x }}`) pass through; once `kw://` is seen, anything else is a
/// ``TemplateError``. Text outside references is copied byte for byte.
///
/// ``references(in:file:)`` lists every reference first, so the caller can
/// check that each one resolves before anything is written.
public enum TemplateRenderer {
    /// Every reference in `template`, in order.
    ///
    /// - Throws: ``TemplateError`` at the first malformed reference.
    public static func references(in template: [UInt8], file: String = "template") throws(TemplateError)
        -> [TemplateReference]
    {
        var scanner = TemplateScanner(bytes: template, file: file)
        return try scanner.scan()
    }

    /// Renders `template`, replacing each reference with `resolve(scope, name)`.
    ///
    /// All references are parsed before `resolve` is first called, so a
    /// malformed template fails without touching any secret.
    ///
    /// - Throws: ``TemplateError`` for a malformed reference, or whatever
    ///   `resolve` throws.
    public static func render(
        _ template: [UInt8],
        file: String = "template",
        resolve: (_ scope: String, _ name: String) throws -> [UInt8]
    ) throws -> [UInt8] {
        let found = try references(in: template, file: file)
        var out: [UInt8] = []
        out.reserveCapacity(template.count)
        var copied = 0
        for reference in found {
            out.append(contentsOf: template[copied..<reference.range.lowerBound])
            out.append(contentsOf: try resolve(reference.scope, reference.name))
            copied = reference.range.upperBound
        }
        out.append(contentsOf: template[copied...])
        return out
    }
}

/// Finds references, tracking lines and columns for errors.
private struct TemplateScanner {
    let bytes: [UInt8]
    let file: String
    var line = 1
    var lineStart = 0

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    private static let open = UInt8(ascii: "{"), close = UInt8(ascii: "}"), slash = UInt8(ascii: "/")
    private static let scheme = Array("kw://".utf8)

    func column(_ offset: Int) -> Int {
        UTF8Bytes.scalarCount(bytes, lineStart..<offset) + 1
    }

    func error(at offset: Int, _ expected: String) -> TemplateError {
        TemplateError(file: file, line: line, column: column(offset), expected: expected)
    }

    func isBlank(_ offset: Int) -> Bool {
        offset < bytes.count && (bytes[offset] == UInt8(ascii: " ") || bytes[offset] == UInt8(ascii: "\t"))
    }

    static func isSegmentByte(_ byte: UInt8) -> Bool {
        PortableVariableName.isNameContinue(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    mutating func scan() throws(TemplateError) -> [TemplateReference] {
        var found: [TemplateReference] = []
        var offset = 0
        while offset < bytes.count {
            if bytes[offset] == 0x0A {
                offset += 1
                line += 1
                lineStart = offset
                continue
            }
            guard bytes[offset] == Self.open, offset + 1 < bytes.count, bytes[offset + 1] == Self.open else {
                offset += 1
                continue
            }
            var cursor = offset + 2
            while isBlank(cursor) { cursor += 1 }
            guard UTF8Bytes.matches(bytes, Self.scheme, at: cursor) else {
                // Not ours: `{{` of another template language is plain text.
                offset += 1
                continue
            }
            let reference = try parseReference(start: offset, pathStart: cursor + Self.scheme.count)
            found.append(reference)
            offset = reference.range.upperBound
        }
        return found
    }

    /// Parses `SCOPE/NAME }}` after `kw://`.
    func parseReference(start: Int, pathStart: Int) throws(TemplateError) -> TemplateReference {
        var segments: [Range<Int>] = []
        var cursor = pathStart
        while true {
            let segmentStart = cursor
            while cursor < bytes.count, Self.isSegmentByte(bytes[cursor]) { cursor += 1 }
            if cursor == segmentStart {
                throw error(
                    at: cursor,
                    segments.isEmpty ? "a scope after kw://" : "a scope segment or variable name after /")
            }
            segments.append(segmentStart..<cursor)
            guard cursor < bytes.count, bytes[cursor] == Self.slash else { break }
            cursor += 1
        }
        guard segments.count >= 2, let nameRange = segments.last else {
            throw error(at: cursor, "/NAME after the scope (references are kw://SCOPE/NAME)")
        }
        let nameBytes = bytes[nameRange]
        guard let first = nameBytes.first, PortableVariableName.isNameStart(first),
            nameBytes.allSatisfy(PortableVariableName.isNameContinue)
        else {
            throw error(at: nameRange.lowerBound, "a variable name ([A-Za-z_][A-Za-z0-9_]*) after the last /")
        }
        while isBlank(cursor) { cursor += 1 }
        guard UTF8Bytes.matches(bytes, [Self.close, Self.close], at: cursor) else {
            throw error(at: cursor, "}} to close the reference")
        }
        let scopeRange = segments[0].lowerBound..<segments[segments.count - 2].upperBound
        return TemplateReference(
            scope: String(decoding: bytes[scopeRange], as: UTF8.self),
            name: String(decoding: nameBytes, as: UTF8.self),
            line: line, column: column(start),
            range: start..<(cursor + 2))
    }
}
