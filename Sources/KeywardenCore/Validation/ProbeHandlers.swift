import Foundation
import KeywardenCrypto
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOTLS
import X509

/// Opens an HTTP CONNECT tunnel through a proxy, then removes itself.
final class ProxyTunnelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let target: String
    private let credentials: String?
    private let done: EventLoopPromise<Void>
    private var buffer: [UInt8] = []

    init(target: String, credentials: String?, done: EventLoopPromise<Void>) {
        self.target = target
        self.credentials = credentials
        self.done = done
    }

    func handlerAdded(context: ChannelHandlerContext) {
        var request = "CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\n"
        if let credentials { request += "Proxy-Authorization: Basic \(Data(credentials.utf8).base64EncodedString())\r\n" }
        request += "\r\n"
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer += bytes.readBytes(length: bytes.readableBytes) ?? []
        guard let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) else {
            if buffer.count > 16 * 1024 { done.fail(ProbeFailure(stage: .proxy, outcome: .proxyError, detail: "the proxy's answer to CONNECT is too long")) }
            return
        }
        let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n").first.map(String.init) ?? head
        let parts = statusLine.split(separator: " ")
        if parts.count >= 2, let status = Int(parts[1]), (200...299).contains(status) {
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
            done.succeed()
        } else {
            done.fail(ProbeFailure(stage: .proxy, outcome: .proxyError, detail: "the proxy answered \(statusLine)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(ProbeFailure(stage: .proxy, outcome: .proxyError, detail: "the proxy closed the connection"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }
}

/// Completes when the TLS handshake does, or fails with its error.
final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let done: EventLoopPromise<Void>

    init(done: EventLoopPromise<Void>) { self.done = done }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
            done.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(ProbeFailure(stage: .tls, outcome: .tlsError, detail: "the server closed the connection during the TLS handshake"))
        context.fireChannelInactive()
    }
}

/// Encodes each probe's HTTP/1.1 request, adding the key from guarded memory
/// as the head is written, and wipes that buffer once the socket is done with
/// it. Stands where NIO's `HTTPRequestEncoder` would, so the key never passes
/// through an `HTTPHeaders` value or any other Swift `String`. The key of a
/// request is handed over just before its head (`arm`) and dropped as soon as
/// the head is written, so a kept-alive connection holds no key between
/// requests.
///
/// It also counts the bytes the server sends, for one decision: a request
/// that fails on a reused connection may be sent again on a fresh one only
/// if the server answered nothing at all (it had closed the idle connection).
final class CredentialRequestEncoder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = ByteBuffer

    private var credential: ProbeCredential?
    /// Bytes received since the last `arm`.
    private(set) var receivedBytes = 0

    /// The key for the next request head.
    func arm(_ credential: ProbeCredential) {
        self.credential = credential
        receivedBytes = 0
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receivedBytes += unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            guard let credential else {
                // Every head is the ExchangeHandler's, which arms first; a
                // head without a key is a bug, and is not sent.
                promise?.fail(ChannelError.operationUnsupported)
                return
            }
            self.credential = nil
            let held = HeldBuffer()
            var buffer = context.channel.allocator.buffer(capacity: 1024)
            credential.writeHead(method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }, into: &buffer)
            held.buffer = buffer
            let written = promise ?? context.eventLoop.makePromise()
            // Once written, ours is the only reference left, so the wipe
            // reaches the bytes that held the key (not a copy of them).
            written.futureResult.assumeIsolated().whenComplete { _ in held.wipe() }
            context.write(wrapOutboundOut(buffer), promise: written)
        case .body(.byteBuffer(let bytes)):
            context.write(wrapOutboundOut(bytes), promise: promise)
        case .body(.fileRegion):
            promise?.fail(ChannelError.operationUnsupported)
        case .end:
            context.write(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        }
    }

    /// The request head's buffer, kept until it can be wiped.
    private final class HeldBuffer {
        var buffer: ByteBuffer?

        func wipe() {
            guard var bytes = buffer else { return }
            buffer = nil
            bytes.withUnsafeMutableReadableBytes { KeywardenCrypto.wipe($0) }
        }
    }
}

/// A complete answer, and whether its connection may carry another request.
struct ExchangeResult: Sendable {
    var response: ProbeResponse
    /// The server allows keep-alive (no `Connection: close`, not HTTP/1.0
    /// without keep-alive) and the body ended within the limit.
    var reusable: Bool
}

/// A request that got no complete answer.
struct ExchangeError: Error {
    var underlying: any Error
    /// Some byte of an answer arrived: the server saw the request, so it is
    /// not sent again.
    var answerStarted: Bool
}

/// Sends one request at a time on its connection and collects each answer,
/// up to a body limit. It stays in the pipeline, so a kept-alive connection
/// carries the next request; it never closes the connection after an answer
/// (the owner of the connection decides).
final class ExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let encoder: CredentialRequestEncoder
    private var context: ChannelHandlerContext?
    private var pending: Pending?

    private struct Pending {
        var done: EventLoopPromise<ExchangeResult>
        var bodyLimit: Int
        /// Closes the connection at the request's deadline.
        var timeout: Scheduled<Void>
        var response: ProbeResponse?
        var keepAlive = false
    }

    init(encoder: CredentialRequestEncoder) { self.encoder = encoder }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Writes a request (the key goes in through `encoder`); `done` gets its
    /// answer, or fails when the connection closes first, which it does at
    /// `deadline`.
    func start(head: HTTPRequestHead, body: [UInt8], credential: ProbeCredential, bodyLimit: Int, deadline: NIODeadline,
               done: EventLoopPromise<ExchangeResult>) {
        guard let context, pending == nil, context.channel.isActive else {
            done.fail(ExchangeError(underlying: ChannelError.ioOnClosedChannel, answerStarted: false))
            return
        }
        let channel = context.channel
        let timeout = context.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
        pending = Pending(done: done, bodyLimit: bodyLimit, timeout: timeout)
        encoder.arm(credential)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let flushed = context.eventLoop.makePromise(of: Void.self)
        flushed.futureResult.assumeIsolated().whenFailure { error in self.fail(error) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: flushed)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var current = pending else {
            // Nothing was asked (or the answer was cut at the limit): this
            // connection's bytes no longer line up with requests.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            current.response = ProbeResponse(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: [])
            current.keepAlive = head.isKeepAlive
            pending = current
        case .body(var chunk):
            guard var response = current.response else { return }
            let room = current.bodyLimit - response.body.count
            response.body += chunk.readBytes(length: min(max(0, room), chunk.readableBytes)) ?? []
            current.response = response
            pending = current
            // Enough to classify: answer now, and let the owner close the
            // connection rather than read the rest.
            if chunk.readableBytes > 0 { finish(reusable: false) }
        case .end:
            finish(reusable: current.keepAlive)
        }
    }

    private func finish(reusable: Bool) {
        guard let current = pending, let response = current.response else { return }
        pending = nil
        current.timeout.cancel()
        current.done.succeed(ExchangeResult(response: response, reusable: reusable))
    }

    private func fail(_ error: any Error) {
        guard let current = pending else { return }
        pending = nil
        current.timeout.cancel()
        current.done.fail(ExchangeError(underlying: error, answerStarted: encoder.receivedBytes > 0))
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ProbeFailure(stage: .http, outcome: .connectError, detail: "connection closed before a complete answer"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }
}

/// Subject and issuer of a certificate in the familiar `CN=…, O=…` form.
enum CertificateNames {
    static func subject(of certificate: NIOSSLCertificate) -> String? {
        parsed(certificate).map { String(describing: $0.subject) }
    }

    static func issuer(of certificate: NIOSSLCertificate) -> String? {
        parsed(certificate).map { String(describing: $0.issuer) }
    }

    /// The names a certificate is valid for: its DNS and IP subject
    /// alternative names, else (old certificates) its common name.
    static func validNames(of certificate: NIOSSLCertificate) -> [String] {
        guard let parsed = parsed(certificate) else { return [] }
        var names: [String] = []
        if let alternatives = try? parsed.extensions.subjectAlternativeNames {
            for name in alternatives {
                switch name {
                case .dnsName(let dns): names.append(dns)
                case .ipAddress(let octets): names.append(CertificateVerdict.ipText(Array(octets.bytes)))
                default: break
                }
            }
        }
        if names.isEmpty {
            for rdn in parsed.subject {
                for attribute in rdn where attribute.type == .RDNAttributeType.commonName { names.append(String(describing: attribute.value)) }
            }
        }
        return names
    }

    private static func parsed(_ certificate: NIOSSLCertificate) -> Certificate? {
        guard let der = try? certificate.toDERBytes() else { return nil }
        return try? Certificate(derEncoded: der)
    }
}
