// The start-up ceiling of scripts/bench.sh: a static Swift binary that
// imports Foundation, reads the environment and prints, as `keywarden
// --version` does. Compiled with `swiftc -O -static-stdlib`.
import Foundation

let home = ProcessInfo.processInfo.environment["HOME"] ?? "/"
print("hello \(home.isEmpty ? "" : "0.1.0")")
