import Foundation

/// What one answer (or failure) of the gateway means: the outcomes of
/// `validate`, plus what only traffic shows (a client's own bad request, a
/// stream broken after its head, a client that left).
public enum GatewayOutcome: String, Codable, Sendable, CaseIterable {
    case ok
    /// A 4xx no key rule explains (400 bad request, 404, 413, 422): the request is at fault, not the key.
    case clientError = "client_error"
    case invalid, forbidden
    case noCredit = "no_credit"
    case rateLimited = "rate_limited"
    case providerError = "provider_error"
    case timeout
    case connectError = "connect_error"
    case dnsError = "dns_error"
    case tlsError = "tls_error"
    case proxyError = "proxy_error"
    case unexpected
    /// No upstream connection could be had in time.
    case poolSaturated = "pool_saturated"
    /// The upstream broke off after the head was sent on.
    case streamError = "stream_error"
    /// The client left before the answer.
    case cancelled
    /// The gateway refused the caller (no token, a scope it does not grant).
    case refused

    public init(_ outcome: ValidationOutcome) {
        switch outcome {
        case .valid: self = .ok
        case .invalid: self = .invalid
        case .forbidden: self = .forbidden
        case .noCredit: self = .noCredit
        case .rateLimited: self = .rateLimited
        case .providerError: self = .providerError
        case .dnsError: self = .dnsError
        case .connectError: self = .connectError
        case .tlsError: self = .tlsError
        case .timeout: self = .timeout
        case .proxyError: self = .proxyError
        case .unexpected: self = .unexpected
        }
    }

    /// The key's health outcome this answer reports, for the key's record; nil when it says nothing about the key.
    public var validationOutcome: ValidationOutcome? {
        switch self {
        case .ok: .valid
        case .invalid: .invalid
        case .forbidden: .forbidden
        case .noCredit: .noCredit
        default: nil
        }
    }

    /// The key itself cannot serve: the request goes once more on another key.
    public var isAuthFailure: Bool { self == .invalid || self == .forbidden || self == .noCredit }

    /// Worth a transient retry on the same key (5xx, 529, 408, a timeout or a dropped connection before the head).
    public var isTransient: Bool { self == .providerError || self == .timeout || self == .connectError }

    /// The 24-hour view's column this outcome counts in.
    public var trafficClass: GatewayTrafficClass {
        switch self {
        case .ok, .clientError: .ok
        case .invalid, .forbidden, .noCredit: .failed
        case .rateLimited: .rateLimited
        case .cancelled, .refused: .none
        default: .errors
        }
    }
}

/// The columns of the last-24-hours view.
public enum GatewayTrafficClass: String, Codable, Sendable {
    case ok, failed
    case rateLimited = "rate_limited"
    case errors
    /// Not counted against a key.
    case none
}
