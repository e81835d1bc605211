import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import KeywardenCore
import NIOCore
import NIOPosix
import NIOSSL

/// The gateway's own answer when it forwards nothing (a refused caller, a
/// bad request) or gets no answer upstream: the agent's error shape
/// `{"error": …, "kind": …}`. `final` adds `x-should-retry: false`, so an
/// SDK does not repeat a configuration error (TLS, DNS, proxy, a redirect).
struct GatewayRefusal: Error, Sendable {
    var status: HTTPResponse.Status
    var kind: String
    var message: String
    var final: Bool
    /// How it counts in metrics and the 24-hour view.
    var outcome: GatewayOutcome

    init(status: HTTPResponse.Status, kind: String, _ message: String, final: Bool = false, outcome: GatewayOutcome = .refused) {
        self.status = status
        self.kind = kind
        self.message = message
        self.final = final
        self.outcome = outcome
    }

    var response: Response {
        Response(status: status, headers: headerFields, body: ResponseBody(byteBuffer: body))
    }

    /// The answer's fields (Hummingbird, or ``FastForwarding``, adds the length, date and server).
    var headerFields: HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json"]
        if final { headers[HTTPField.Name("x-should-retry")!] = "false" }
        return headers
    }

    /// `{"error": …, "kind": …}`.
    var body: ByteBuffer {
        struct Body: Encodable {
            var error: String
            var kind: String
        }
        var buffer = ByteBuffer()
        buffer.writeString((try? String(decoding: JSONEncoder.compact.encode(Body(error: message, kind: kind)), as: UTF8.self)) ?? "{}")
        return buffer
    }
}

private extension JSONEncoder {
    static let compact: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

/// What an error before the provider's answer head means (§4.6 of the design):
/// transient ones are retried; the others end the request with a 502, 503 or 504.
enum UpstreamFailure {
    static func classify(_ error: any Error, host: String) -> GatewayRefusal {
        if error is CancellationError { return GatewayRefusal(status: .badGateway, kind: "cancelled", "the request was cancelled", outcome: .cancelled) }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout, .tlsHandshakeTimeout:
                return GatewayRefusal(status: .gatewayTimeout, kind: "timeout", "connecting to \(host) timed out", outcome: .timeout)
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return GatewayRefusal(status: .gatewayTimeout, kind: "timeout", "\(host) did not answer in time", outcome: .timeout)
            case .remoteConnectionClosed:
                return GatewayRefusal(status: .badGateway, kind: "connect_error", "\(host) closed the connection before answering", outcome: .connectError)
            case .getConnectionFromPoolTimeout:
                return GatewayRefusal(status: .serviceUnavailable, kind: "pool_saturated", "no connection to \(host) became free in time", outcome: .poolSaturated)
            case .httpProxyHandshakeTimeout, .invalidProxyResponse, .proxyAuthenticationRequired, .socksHandshakeTimeout:
                return GatewayRefusal(status: .badGateway, kind: "proxy_error", "the proxy refused or failed the connection to \(host) (\(client.shortDescription))", final: true, outcome: .proxyError)
            case .cancelled, .requestStreamCancelled:
                return GatewayRefusal(status: .badGateway, kind: "cancelled", "the request was cancelled", outcome: .cancelled)
            default:
                return GatewayRefusal(status: .badGateway, kind: "unexpected", "the request to \(host) failed: \(client.shortDescription)", outcome: .unexpected)
            }
        }
        if let connection = error as? NIOConnectionError {
            if connection.connectionErrors.isEmpty, connection.dnsAError != nil || connection.dnsAAAAError != nil {
                return GatewayRefusal(status: .badGateway, kind: "dns_error", "\(host) did not resolve", final: true, outcome: .dnsError)
            }
            return GatewayRefusal(status: .badGateway, kind: "connect_error", "could not connect to \(host): \(ProbeClient.describe(error))", outcome: .connectError)
        }
        if error is NIOSSLError || error is BoringSSLError {
            return GatewayRefusal(status: .badGateway, kind: "tls_error", "TLS with \(host) failed: \(ProbeClient.describe(error))", final: true, outcome: .tlsError)
        }
        if let broken = error as? UpstreamAnswerReader.Failure {
            return GatewayRefusal(status: .badGateway, kind: "unexpected", "\(host) sent an answer that is not valid HTTP/1.1: \(broken.reason)", outcome: .unexpected)
        }
        if case ChannelError.connectTimeout = error {
            return GatewayRefusal(status: .gatewayTimeout, kind: "timeout", "connecting to \(host) timed out", outcome: .timeout)
        }
        if error is IOError || error is ChannelError {
            return GatewayRefusal(status: .badGateway, kind: "connect_error", "the connection to \(host) failed: \(ProbeClient.describe(error))", outcome: .connectError)
        }
        return GatewayRefusal(status: .badGateway, kind: "unexpected", "the request to \(host) failed: \(ProbeClient.describe(error))", outcome: .unexpected)
    }
}
