import KeywardenCore

/// An OpenAI-compatible relay (one-api, new-api and their forks) at
/// `/relay/…`, for a user-defined provider whose base URL is
/// `baseURL(for: "relay")`. The token's words choose the answer, in the
/// relays' real shapes (status and `{"error":{"message","type","code"}}`):
///
/// - `invalid`: 401 "无效的令牌" (one-api);
/// - `nochannel`: 503 "当前分组 default 下对于模型 gpt-4o-mini 无可用渠道";
/// - `noquota`: 403 `insufficient_user_quota` "user quota is not enough" (new-api);
/// - anything else: `GET …/v1/models` lists two models, a chat request gets a
///   short completion.
///
/// Bodies as reported in songquanpeng/one-api #1009, #1270, #2340 and
/// QuantumNous/new-api users' reports (sparticleinc/chatgpt-google-summary-extension #222).
enum MockRelay {
    static let pathPrefix = "relay"
    static let json = [("content-type", "application/json; charset=utf-8")]

    static func respond(to request: MockRequest, count: Int) -> ProbeResponse {
        let token = request.headers.first { $0.name.lowercased() == "authorization" }?.value ?? ""
        let words = token.lowercased()
        let requestID = "2026113001000012345678\(String(count).leftPadded(to: 8))"
        if !token.hasPrefix("Bearer ") || words.contains("invalid") {
            return ProbeResponse(status: 401, headers: json,
                                 body: #"{"error":{"message":"无效的令牌 (request id: \#(requestID))","type":"one_api_error"}}"#)
        }
        if words.contains("nochannel") {
            return ProbeResponse(status: 503, headers: json,
                                 body: #"{"error":{"message":"当前分组 default 下对于模型 gpt-4o-mini 无可用渠道 (request id: \#(requestID))","type":"new_api_error"}}"#)
        }
        if words.contains("noquota") {
            return ProbeResponse(status: 403, headers: json,
                                 body: #"{"error":{"message":"user quota is not enough (request id: \#(requestID))","type":"new_api_error","param":"","code":"insufficient_user_quota"}}"#)
        }
        if request.method == "POST", request.path.hasSuffix("/chat/completions") {
            return ProbeResponse(status: 200, headers: json,
                                 body: #"{"id":"chatcmpl-\#(requestID)","object":"chat.completion","created":1764464400,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the relay."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}"#)
        }
        return ProbeResponse(status: 200, headers: json,
                             body: #"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1626777600,"owned_by":"openai"},{"id":"deepseek-chat","object":"model","created":1626777600,"owned_by":"deepseek"}],"success":true}"#)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
