import Foundation
import KeywardenCore
import KeywardenMockProvider

// A local stand-in for the LLM providers, for trying `keywarden validate` and
// `doctor` without real keys or network: `keywarden-mock [PORT]`.
// `keywarden-mock --bench [--port N]` serves fixed answers for benchmarks
// (`MockBenchServer`). `--stream-delay-ms N` sets the pause between streamed
// events (default 10 ms; bench mode always 1 ms).
/// Unbuffered, so the URLs show up at once when piped to a file.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let arguments = Array(CommandLine.arguments.dropFirst())
/// The value after `flag`, if given.
func option(_ flag: String) -> String? {
    arguments.firstIndex(of: flag).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
/// `N` or `HOST:N` (the port is all that is used: the mock listens on 127.0.0.1).
func port(_ text: String) -> Int? { Int(text.split(separator: ":").last ?? "") }
let positional = arguments.enumerated().first { index, argument in
    !argument.hasPrefix("--") && (index == 0 || !["--port", "--stream-delay-ms"].contains(arguments[index - 1]))
}?.element
let requested = option("--port").flatMap(port) ?? positional.flatMap(port) ?? 8787

if arguments.contains("--bench") {
    let server = try await MockBenchServer.start(port: requested)
    say("Mock providers on http://127.0.0.1:\(server.port) (bench: any key, fixed answers, no recording)")
    while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
}

let server = try await MockProviderServer.start(port: requested)
if let delay = option("--stream-delay-ms").flatMap(Int64.init) { server.streamDelay = .milliseconds(delay) }
say("Mock providers on http://127.0.0.1:\(server.port) (TLS, self-signed: https://127.0.0.1:\(server.tlsPort))")
say("Point keywarden at it:")
for provider in BuiltinProviders.all {
    say("  keywarden provider set \(provider.name) --base-url \(server.baseURL(for: provider.name))")
}
say("A key's words choose the answer: valid, invalid, nocredit, ratelimited, overloaded, … hang, hangbody, slow, reset, flaky, flakyoverload, redirect, portal, gzip.")
say("A one-api/new-api relay, for a provider you define (token words: invalid, nochannel, noquota):")
say("  keywarden provider add relay --base-url http://127.0.0.1:\(server.port)/relay --env RELAY_API_KEY --probe-path /v1/models")
say("Ctrl-C to stop.")
while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
