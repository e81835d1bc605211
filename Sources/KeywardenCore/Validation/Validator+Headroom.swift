import Foundation
import NIOCore

extension Validator {
    /// What a check learns besides the outcome: the rate-limit headers of
    /// the probe's answer, and the key's balance where the provider tells
    /// one — read from the probe's answer, or asked with one more `GET`
    /// (Moonshot) once the key has authenticated (`valid` or `no_credit`),
    /// within the check's deadline. The extra request costs no tokens; when
    /// it fails the check stands as it was, without a balance.
    func headroom(of item: KeyToCheck, request: ProbeRequest, answer: ProbeResponse, outcome: ValidationOutcome, deadline: NIODeadline,
                  slot: @Sendable () async -> Void, release: @Sendable () async -> Void) async -> (KeyBalance?, RateLimitHeadroom?) {
        let rateLimits = RateLimitHeadroom.parse(answer.headers, at: .now(), source: "validate")
        guard let probe = item.provider.balance, [.valid, .noCredit].contains(outcome) else { return (nil, rateLimits) }
        guard let path = probe.path else {
            return (answer.status == 200 ? probe.read(answer.body, host: request.host, at: .now()) : nil, rateLimits)
        }
        var asking = item.provider
        asking.probe = Probe(method: "GET", path: path)
        guard let balanceRequest = try? ProbeRequest.make(provider: asking, key: item.value) else { return (nil, rateLimits) }
        let remaining = deadline - NIODeadline.now()
        guard remaining > .milliseconds(50) else { return (nil, rateLimits) }
        await slot()
        let reply = await client.send(balanceRequest, timeout: remaining)
        await release()
        guard case .success(let balanceAnswer) = reply, balanceAnswer.status == 200 else { return (nil, rateLimits) }
        return (probe.read(balanceAnswer.body, host: request.host, at: .now()), rateLimits)
    }
}
