import Foundation

/// Reads a provider's answer to forwarded traffic with the rules `validate`
/// uses, so that the gateway and a check agree on what a key's answer means.
public enum GatewayClassifier {
    /// The outcome of an answer with `status`, `headers` and (for non-2xx) its
    /// `body`, and the reason in words (never a header value). A 2xx is `ok`
    /// without reading the body (an SSE stream is not JSON).
    public static func classify(status: Int, headers: [(String, String)], body: [UInt8], provider: ProviderDefinition) -> (outcome: GatewayOutcome, reason: String) {
        if (200...299).contains(status) { return (.ok, "HTTP \(status)") }
        let classification = Validator.classify(ProbeResponse(status: status, headers: headers, body: body), provider: provider)
        let outcome = GatewayOutcome(classification.outcome)
        if outcome == .unexpected, (400...499).contains(status) { return (.clientError, "HTTP \(status): the request was refused, not the key") }
        return (outcome, classification.reason)
    }
}
