/// A span of time as users write it: `30s`, `15m`, `24h`, `30d`, `2w`.
///
/// The one duration type and parser: options (`--timeout`, `--every`,
/// `--ttl`, …) are read with ``init(option:_:examples:range:)``, stored
/// policies carry it, and the API sends it as the same text (`"30d"`).
public struct DurationSpec: Sendable, Hashable, Codable, CustomStringConvertible {
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    /// Parses `<number><unit>` with unit s, m, h, d or w.
    public init?(parsing text: String) {
        guard let unit = text.last, let n = Int64(text.dropLast()), n >= 0 else { return nil }
        let factor: Int64
        switch unit {
        case "s": factor = 1
        case "m": factor = 60
        case "h": factor = 3600
        case "d": factor = 86400
        case "w": factor = 604_800
        default: return nil
        }
        let (product, overflow) = n.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        seconds = product
    }

    /// Parses the value of the command-line option `--option`, which must
    /// lie within `range` (seconds). Anything else is the one message for a
    /// bad duration: `invalid --timeout 'forever': use a duration like …`,
    /// with `examples` saying what fits this option.
    public init(option: String, _ text: String, examples: String, range: ClosedRange<Int64> = 0...Int64.max) throws(KeywardenError) {
        guard let spec = DurationSpec(parsing: text), range.contains(spec.seconds) else {
            throw KeywardenError(.invalidInput, "invalid --\(option) '\(text)': use a duration like \(examples)")
        }
        self = spec
    }

    /// The largest whole unit that divides it: `86400` is `1d`, `90` is `90s`.
    public var description: String {
        for (unit, size) in [("w", Int64(604_800)), ("d", 86400), ("h", 3600), ("m", 60)] where seconds >= size && seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }

    /// The text form (`"30d"`), which reads back exactly.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let spec = DurationSpec(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad duration '\(text)': expected e.g. 30s, 15m, 24h or 30d"))
        }
        self = spec
    }
}
