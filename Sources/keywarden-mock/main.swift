import Foundation
import KeywardenCore
import KeywardenMockProvider

// A local stand-in for the LLM providers, for trying `keywarden validate` and
// `doctor` without real keys or network: `keywarden-mock [PORT]`.
let requested = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 8787
let server = try await MockProviderServer.start(port: requested)
print("Mock providers on http://127.0.0.1:\(server.port) (TLS, self-signed: https://127.0.0.1:\(server.tlsPort))")
print("Point keywarden at it:")
for provider in BuiltinProviders.all {
    print("  keywarden provider set \(provider.name) --base-url \(server.baseURL(for: provider.name))")
}
print("A key's words choose the answer: valid, invalid, nocredit, ratelimited, overloaded, … hang, slow, reset, flaky, redirect, portal.")
print("Ctrl-C to stop.")
while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
