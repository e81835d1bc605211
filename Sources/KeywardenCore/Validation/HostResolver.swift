import NIOCore
import NIOPosix

/// Resolves host names; tests inject one that fails on purpose.
public protocol HostResolver: Sendable {
    func resolve(host: String, port: Int) async throws -> [SocketAddress]
}

/// `getaddrinfo`, on NIO's blocking-I/O thread pool.
public struct SystemResolver: HostResolver {
    public init() {}
    public func resolve(host: String, port: Int) async throws -> [SocketAddress] {
        try await NIOThreadPool.singleton.runIfActive {
            if let literal = try? SocketAddress(ipAddress: host, port: port) { return [literal] }
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_family = AF_UNSPEC
            var result: UnsafeMutablePointer<addrinfo>?
            let rc = getaddrinfo(host, String(port), &hints, &result)
            guard rc == 0, let first = result else {
                throw ResolutionError(code: rc, message: String(cString: gai_strerror(rc)))
            }
            defer { freeaddrinfo(first) }
            var addresses: [SocketAddress] = []
            var node: UnsafeMutablePointer<addrinfo>? = first
            while let current = node {
                if let address = current.pointee.ai_addr {
                    switch Int32(address.pointee.sa_family) {
                    case AF_INET:
                        address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { addresses.append(SocketAddress($0.pointee, host: host)) }
                    case AF_INET6:
                        address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { addresses.append(SocketAddress($0.pointee, host: host)) }
                    default: break
                    }
                }
                node = current.pointee.ai_next
            }
            // IPv4 first: many sandboxes and VPNs have broken IPv6 routes.
            return addresses.sorted { a, _ in if case .v4 = a { return true } else { return false } }
        }
    }

    public struct ResolutionError: Error, CustomStringConvertible {
        public var code: Int32
        public var message: String
        public var description: String { message }
    }
}
