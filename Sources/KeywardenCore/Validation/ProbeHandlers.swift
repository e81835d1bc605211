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

/// Encodes the probe's HTTP/1.1 request, adding the key from guarded memory
/// as the head is written, and wipes that buffer once the socket is done with
/// it. Stands where NIO's `HTTPRequestEncoder` would, so the key never passes
/// through an `HTTPHeaders` value or any other Swift `String`.
final class CredentialRequestEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = ByteBuffer

    private let credential: ProbeCredential

    init(credential: ProbeCredential) { self.credential = credential }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            let held = HeldBuffer()
            var buffer = context.channel.allocator.buffer(capacity: 1024)
            credential.writeHead(method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }, into: &buffer)
            held.buffer = buffer
            let written = promise ?? context.eventLoop.makePromise()
            // Once written, ours is the only reference left, so the wipe
            // reaches the bytes that held the key (not a copy of them).
            written.futureResult.whenComplete { _ in held.wipe() }
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

/// Writes one request and collects its response, up to a body limit.
final class ExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private let body: [UInt8]
    private let bodyLimit: Int
    private let done: EventLoopPromise<ProbeResponse>
    private var response: ProbeResponse?

    init(head: HTTPRequestHead, body: [UInt8], bodyLimit: Int, done: EventLoopPromise<ProbeResponse>) {
        self.head = head
        self.body = body
        self.bodyLimit = bodyLimit
        self.done = done
    }

    func handlerAdded(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            response = ProbeResponse(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: [])
        case .body(var chunk):
            guard var current = response else { return }
            let room = max(0, bodyLimit - current.body.count)
            current.body += chunk.readBytes(length: min(room, chunk.readableBytes)) ?? []
            response = current
        case .end:
            if let response { done.succeed(response) }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(ProbeFailure(stage: .http, outcome: .connectError, detail: "connection closed before a complete answer"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
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

    private static func parsed(_ certificate: NIOSSLCertificate) -> Certificate? {
        guard let der = try? certificate.toDERBytes() else { return nil }
        return try? Certificate(derEncoded: der)
    }
}
