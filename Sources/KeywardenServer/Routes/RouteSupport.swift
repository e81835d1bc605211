import Foundation
import HTTPTypes
import Hummingbird
import KeywardenCore

/// What the route adapters share: reading a request (query, headers, JSON
/// body) and writing a JSON answer.
extension Request {
    /// `?scope=…`, which every read of a scope's keys or variables names.
    func requiredScope() throws -> String {
        guard let scope = uri.queryParameters["scope"] else { throw KeywardenError(.invalidInput, "missing ?scope=…") }
        return String(scope)
    }

    /// A short purpose from the CLI (`export to .env (dotenv)`), for the audit trail.
    var purpose: String { headers.keywardenPurpose }

    /// The JSON body as `T`. A body over the upload limit is a 413; one that
    /// is not `T` is invalid input naming the field at fault (never a value)
    /// and what was `expected`.
    func decodeJSON<T: Decodable>(as type: T.Type, context: AgentRequestContext, expected: @autoclosure () -> String) async throws -> T {
        let body: ByteBuffer
        do {
            body = try await self.body.collect(upTo: context.maxUploadSize)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw RequestRefused.tooLarge(limit: context.maxUploadSize)
        }
        // The body may hold values (a key added, an import): wiped once decoded.
        defer {
            body.withUnsafeReadableBytes { raw in
                if let base = raw.baseAddress { memset(UnsafeMutableRawPointer(mutating: base), 0, raw.count) }
            }
        }
        do {
            return try body.withUnsafeReadableBytes { bytes in
                // Decoded in place: no second copy of a body that may hold a value.
                guard let base = bytes.baseAddress, !bytes.isEmpty else { return try JSONDecoder().decode(T.self, from: Data()) }
                return try JSONDecoder().decode(T.self, from: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none))
            }
        } catch let error as DecodingError {
            throw KeywardenError(.invalidInput, "\(Self.fault(in: error)); expected \(expected())")
        }
    }

    /// Which part of the body was wrong, by field name only: a decoder's own
    /// description may quote the text, which can be a value.
    private static func fault(in error: DecodingError) -> String {
        func field(_ path: [any CodingKey]) -> String { path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") }
        switch error {
        case .keyNotFound(let key, let context): return "missing field `\(field(context.codingPath + [key]))`"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return context.codingPath.isEmpty ? "not a JSON object" : "field `\(field(context.codingPath))` has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "field `\(field(context.codingPath))` is not valid"
        @unknown default: return "the body is not valid"
        }
    }
}

extension Response {
    /// A JSON answer, with the field order stable for readers and tests.
    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // An answer may hold values (a reveal, an environment): the encoder's
        // bytes are wiped once copied into the response buffer.
        var encoded = try encoder.encode(value)
        defer { encoded.resetBytes(in: 0..<encoded.count) }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: encoded)))
    }
}

extension HTTPFields {
    /// `x-keywarden-purpose`, cut to one line of 120 characters ("served" when absent).
    var keywardenPurpose: String {
        guard let raw = self[.keywardenPurpose] else { return "served" }
        // The common case, without walking characters: short printable ASCII.
        if raw.utf8.count <= 120, raw.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return raw }
        return String(raw.prefix(120).filter { !$0.isNewline })
    }
}

extension HTTPField.Name {
    /// The CLI command a request comes from, for the audit trail.
    static let keywardenCommand = HTTPField.Name("x-keywarden-command")!
    /// Why a value is read (`export to .env (dotenv)`), for the audit trail.
    static let keywardenPurpose = HTTPField.Name("x-keywarden-purpose")!
}
