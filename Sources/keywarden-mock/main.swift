import Foundation
import KeywardenCore
import KeywardenMockProvider

// A local stand-in for the LLM providers, for trying `keywarden validate` and
// `doctor` without real keys or network: `keywarden-mock [PORT]`.
/// Unbuffered, so the URLs show up at once when piped to a file.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let requested = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 8787
let server = try await MockProviderServer.start(port: requested)
say("Mock providers on http://127.0.0.1:\(server.port) (TLS, self-signed: https://127.0.0.1:\(server.tlsPort))")
say("Point keywarden at it:")
for provider in BuiltinProviders.all {
    say("  keywarden provider set \(provider.name) --base-url \(server.baseURL(for: provider.name))")
}
say("A key's words choose the answer: valid, invalid, nocredit, ratelimited, overloaded, … hang, slow, reset, flaky, redirect, portal.")
say("Ctrl-C to stop.")
while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
