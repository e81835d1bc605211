/// Replaces every occurrence of secret values in a byte stream with `***`
/// (`keywarden run --mask`).
///
/// The stream arrives in chunks that may split a value anywhere, so the
/// masker holds back the end of a chunk while it could still be the start of
/// a value, and only that: the held bytes are at most the longest value's
/// length minus one, and output that cannot begin a value goes out at once
/// (an interactive prompt is not delayed). Values that overlap or touch are
/// masked together as one `***`, so no tail of a longer value shows.
///
/// The values stay in guarded memory (``Secret``) and are compared in place;
/// the bytes held back, which may be part of a value, are wiped when they go.
public final class OutputMasker {
    /// What a value is replaced with.
    public static let replacement: [UInt8] = Array("***".utf8)
    /// Values shorter than this are not masked: a one- to three-byte value
    /// would replace ordinary text everywhere and gives little away.
    public static let minimumLength = 4

    private let values: [Secret]
    /// Whether a byte can begin some value, so most bytes are passed on
    /// after one table look-up.
    private var starts = [Bool](repeating: false, count: 256)
    private var pending: [UInt8] = []

    /// A masker for `values`; those shorter than ``minimumLength`` are left
    /// out, and so are repeats.
    public init(values: [Secret]) {
        var kept: [Secret] = []
        for value in values where value.count >= Self.minimumLength {
            if !kept.contains(where: { $0.constantTimeEquals(value) }) { kept.append(value) }
        }
        // Longest first: the first full match at a position is the longest.
        self.values = kept.sorted { $0.count > $1.count }
        for value in self.values {
            value.withUnsafeBytes { starts[Int($0[0])] = true }
        }
    }

    /// Whether there is anything to mask at all.
    public var isEmpty: Bool { values.isEmpty }

    /// The number of bytes held back, waiting to see whether they begin a value.
    public var heldCount: Int { pending.count }

    /// Takes the next chunk of the stream and returns what may be shown now.
    public func feed(_ chunk: UnsafeRawBufferPointer) -> [UInt8] {
        pending.append(contentsOf: chunk)
        return drain(final: false)
    }

    /// Takes the next chunk of the stream and returns what may be shown now.
    public func feed(_ chunk: [UInt8]) -> [UInt8] {
        chunk.withUnsafeBytes { feed($0) }
    }

    /// The end of the stream: returns the bytes still held back, masked
    /// where they hold a whole value.
    public func finish() -> [UInt8] {
        drain(final: true)
    }

    /// Whether the last masked run ended exactly where `pending` now starts
    /// (plus `covered`): a value that begins inside that run or right after
    /// it extends the run instead of getting a `***` of its own.
    private var inRun = false
    /// The leading bytes of `pending` already replaced by a `***` shown:
    /// kept only because a value that overlaps them may still run on.
    private var covered = 0

    /// At each position the longest value that occurs there is found; values
    /// that overlap or touch form one masked run, shown as one `***`, so no
    /// part of any value is shown. The `***` goes out as soon as a run starts.
    private func drain(final: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(pending.count)
        var index = 0
        // Where the current masked run ends, in `pending`; nil outside a run.
        var runEnd: Int? = inRun ? covered : nil
        scan: while index < pending.count {
            let byte = pending[index]
            var matchEnd: Int?
            if starts[Int(byte)] {
                let remaining = pending.count - index
                // Longest first: the first whole match is the longest, and a
                // prefix seen before it is of a longer value.
                search: for value in values {
                    switch match(value, at: index, remaining: remaining) {
                    case .whole:
                        matchEnd = index + value.count
                        break search
                    case .prefix where !final:
                        // A longer value may still be completed by the next chunk.
                        break scan
                    case .prefix, .none:
                        continue
                    }
                }
            }
            if let end = matchEnd {
                if let current = runEnd, index <= current {
                    runEnd = max(current, end)
                } else {
                    out.append(contentsOf: Self.replacement)
                    runEnd = end
                }
            } else if let current = runEnd, index < current {
                // Inside a run already shown as ***.
            } else {
                out.append(byte)
                runEnd = nil
            }
            index += 1
        }
        if final {
            inRun = false
            covered = 0
        } else if let current = runEnd, current >= index {
            inRun = true
            covered = current - index
        } else {
            inRun = false
            covered = 0
        }
        var rest = Array(pending[index...])
        swap(&rest, &pending)
        Secrets.wipe(&rest)
        return out
    }

    private enum Match { case whole, prefix, none }

    /// Whether `value` occurs at `index` of `pending`, or the pending bytes
    /// from there are a proper prefix of it.
    private func match(_ value: Secret, at index: Int, remaining: Int) -> Match {
        let length = min(value.count, remaining)
        let equal = value.withUnsafeBytes { bytes in
            pending.withUnsafeBufferPointer { buffer in
                for offset in 0..<length where buffer[index + offset] != bytes[offset] { return false }
                return true
            }
        }
        guard equal else { return .none }
        return length == value.count ? .whole : .prefix
    }

    deinit {
        Secrets.wipe(&pending)
    }
}
