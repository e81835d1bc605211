/// The mock's chat answers: one fixed reply, as an Anthropic Messages body,
/// an OpenAI `chat.completion` body, or either provider's SSE stream of it.
/// Every byte is fixed (ids, timestamps, text), so the same request always
/// gets the same bytes and a test can compare a direct stream with a proxied
/// one byte for byte.
enum MockStreams {
    /// Events per stream, in both framings.
    static let eventCount = 20

    /// The reply's text, streamed as word groups.
    static let text = "Keywarden keeps each provider key sealed in a local vault and lends it only to the programs "
        + "the user allowed, for as long as the token says. The gateway forwards this request upstream, picks a key "
        + "from the pool, retries what the provider says may be retried, and passes the answer back untouched, "
        + "one event at a time, without ever showing the key to the caller."

    static let anthropicModel = "claude-sonnet-4-5-20250929"
    static let openAIModel = "gpt-4o-mini-2024-07-18"
    static let anthropicID = "msg_01MockKeywardenStream00001"
    static let openAIID = "chatcmpl-MockKeywardenStream000000001"
    static let created = 1_735_689_600

    /// The non-streamed Anthropic answer (`POST /v1/messages`), about 600 bytes.
    static let anthropicMessage: [UInt8] = Array(
        #"{"id":"\#(anthropicID)","type":"message","role":"assistant","model":"\#(anthropicModel)","content":[{"type":"text","text":"\#(text)"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":24,"output_tokens":68}}"#.utf8)

    /// The non-streamed OpenAI answer (`POST …/chat/completions`).
    static let openAICompletion: [UInt8] = Array(
        #"{"id":"\#(openAIID)","object":"chat.completion","created":\#(created),"model":"\#(openAIModel)","choices":[{"index":0,"message":{"role":"assistant","content":"\#(text)","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":68,"total_tokens":92},"system_fingerprint":"fp_mock00000"}"#.utf8)

    /// `text` cut into `count` runs of whole words (each but the first keeping its leading space).
    static func pieces(_ count: Int) -> [String] {
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        return (0..<count).map { index in
            let run = words[(index * words.count / count)..<((index + 1) * words.count / count)].joined(separator: " ")
            return index == 0 ? run : " " + run
        }
    }

    /// Anthropic's framing (`event: <name>\ndata: <json>\n\n`), 20 events:
    /// message_start, content_block_start, ping, 14 text deltas,
    /// content_block_stop, message_delta, message_stop.
    static let anthropicEvents: [[UInt8]] = {
        func event(_ name: String, _ data: String) -> [UInt8] { Array("event: \(name)\ndata: \(data)\n\n".utf8) }
        let deltas = pieces(eventCount - 6).map {
            event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\#($0)"}}"#)
        }
        return [
            event("message_start", #"{"type":"message_start","message":{"id":"\#(anthropicID)","type":"message","role":"assistant","model":"\#(anthropicModel)","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":24,"output_tokens":1}}}"#),
            event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
            event("ping", #"{"type":"ping"}"#),
        ] + deltas + [
            event("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
            event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":68}}"#),
            event("message_stop", #"{"type":"message_stop"}"#),
        ]
    }()

    /// OpenAI's framing (`data: <json>\n\n`), 20 events: the role, 17 text
    /// chunks, the finish reason, then `data: [DONE]`.
    static let openAIEvents: [[UInt8]] = {
        func chunk(_ delta: String, finish: String = "null") -> [UInt8] {
            Array(#"data: {"id":"\#(openAIID)","object":"chat.completion.chunk","created":\#(created),"model":"\#(openAIModel)","system_fingerprint":"fp_mock00000","choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finish)}]}"#.utf8) + Array("\n\n".utf8)
        }
        return [chunk(#"{"role":"assistant","content":"","refusal":null}"#)]
            + pieces(eventCount - 3).map { chunk(#"{"content":"\#($0)"}"#) }
            + [chunk("{}", finish: #""stop""#), Array("data: [DONE]\n\n".utf8)]
    }()

    /// The events `provider` streams: Anthropic's framing for `anthropic`, OpenAI's for the rest.
    static func events(provider: String) -> [[UInt8]] {
        provider.lowercased() == "anthropic" ? anthropicEvents : openAIEvents
    }

    /// Whether a request body asks for a stream (`"stream":true` or `"stream": true`).
    static func asksForStream<Bytes: Collection<UInt8>>(_ body: Bytes) -> Bool {
        contains(body, streamTrue) || contains(body, streamSpaceTrue)
    }

    private static let streamTrue = Array(#""stream":true"#.utf8)
    private static let streamSpaceTrue = Array(#""stream": true"#.utf8)

    private static func contains<Bytes: Collection<UInt8>>(_ haystack: Bytes, _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count, let first = needle.first else { return false }
        var index = haystack.startIndex
        while let start = haystack[index...].firstIndex(of: first) {
            if haystack[start...].starts(with: needle) { return true }
            index = haystack.index(after: start)
        }
        return false
    }
}

extension MockProviderServer {
    /// The exact body bytes (after de-chunking) of the SSE stream the mock
    /// sends for a `"stream":true` chat request to `provider`: Anthropic's
    /// framing for `anthropic`, OpenAI's (ending `data: [DONE]`) for the others.
    public static func expectedStream(provider: String) -> [UInt8] {
        MockStreams.events(provider: provider).flatMap { $0 }
    }

    /// The exact body bytes of the same stream for a key containing `gzip`
    /// (`content-encoding: gzip`): `expectedStream(provider:)` gzip-encoded
    /// (stored deflate blocks, so the same bytes on every machine).
    public static func expectedGzipStream(provider: String) -> [UInt8] {
        MockGzip.encode(expectedStream(provider: provider))
    }

    /// The exact body of the non-streamed chat answer for `provider`
    /// (an Anthropic Messages object, or an OpenAI `chat.completion`).
    public static func expectedMessage(provider: String) -> [UInt8] {
        provider.lowercased() == "anthropic" ? MockStreams.anthropicMessage : MockStreams.openAICompletion
    }
}
