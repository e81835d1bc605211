// swift-tools-version: 6.1
import PackageDescription

// Release builds of the command-line client's own code (the executable and
// KeywardenClient) make generic types through direct metadata accessors, not
// mangled names: for a mangled name the runtime checks each generic
// requirement by scanning every protocol conformance in the binary (11,000),
// which a short-lived command pays once per type.
let directMetadataAccessors: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"], .when(configuration: .release)),
]

// Release links pack relative relocations (DT_RELR) where the C library
// loads them: glibc 2.36 and later (Debian 12; not Ubuntu 22.04's 2.35),
// whose binutils (2.38 and later) write them. A binary linked so elsewhere
// would not start.
#if os(Linux)
import Glibc
let packedRelocations: [String] = {
    var buffer = [CChar](repeating: 0, count: 64)
    guard confstr(Int32(_CS_GNU_LIBC_VERSION), &buffer, buffer.count) > 0 else { return [] }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)  // "glibc 2.36"
    let numbers = text.split(separator: " ").last?.split(separator: ".").compactMap { Int($0) } ?? []
    guard numbers.count >= 2, (numbers[0], numbers[1]) >= (2, 36) else { return [] }
    return ["-use-ld=bfd", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]
}()
#else
let packedRelocations: [String] = []
#endif

// Linux release builds of both executables: no symbol tables or debug info
// (187 MB → 85 MB), and no dynamic export of the program's own 47,000
// symbols, which `-static-stdlib` asks for and the Swift runtime's start-up
// `dladdr` walks one by one (1.6 M instructions per start). Relative
// relocations packed (DT_RELR, GNU ld; gold has no such option) where glibc
// loads them (`packedRelocations` above): the 139,000 of a PIE this size took
// a 3.3 MB table that every start read and kept resident; packed, 28 KB
// (`--version` 7.9 → 6.5 ms, the agent 1.9 MiB smaller).
let releaseLinking: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "--no-export-dynamic", "-Xlinker", "--strip-all"] + packedRelocations,
                 .when(platforms: [.linux], configuration: .release)),
]

let package = Package(
    name: "Keywarden",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "keywarden", targets: ["keywarden"]),
        .executable(name: "keywarden-cli", targets: ["keywarden-cli"]),
        .executable(name: "keywarden-mock", targets: ["keywarden-mock"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The gateway's upstream client: pooled keep-alive HTTP/1 and HTTP/2, proxies, streaming both ways.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // The shared store for teams and fleets (KEYWARDEN_DATABASE_URL=postgres://…).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // libsodium, from the system (Debian: libsodium-dev).
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        // The only code that touches libsodium.
        .target(name: "KeywardenCrypto", dependencies: ["CSodium"]),
        // The schema: migrations/NNNN_name.sql, embedded in the binary and applied in order.
        .target(
            name: "KeywardenMigrations",
            path: "migrations",
            exclude: ["README.md"],
            resources: [
                .embedInCode("0001_initial.sql"),
                .embedInCode("0002_agent_tokens.sql"),
                .embedInCode("0003_rotation.sql"),
                .embedInCode("0004_row_macs.sql"),
                .embedInCode("0005_revoke_timeout.sql"),
                .embedInCode("0006_agent.sql"),
                .embedInCode("0007_provider_insecure.sql"),
                .embedInCode("0008_gateway.sql"),
                .embedInCode("0009_key_health.sql"),
                .embedInCode("0010_key_headroom.sql"),
                .embedInCode("0011_provider_rotation.sql"),
                // The same schema in PostgreSQL's dialect, with the same identifiers.
                .embedInCode("postgresql/0001_initial.pg.sql"),
                .embedInCode("postgresql/0002_agent_tokens.pg.sql"),
                .embedInCode("postgresql/0003_rotation.pg.sql"),
                .embedInCode("postgresql/0004_row_macs.pg.sql"),
                .embedInCode("postgresql/0005_revoke_timeout.pg.sql"),
                .embedInCode("postgresql/0006_agent.pg.sql"),
                .embedInCode("postgresql/0007_provider_insecure.pg.sql"),
                .embedInCode("postgresql/0008_gateway.pg.sql"),
                .embedInCode("postgresql/0009_key_health.pg.sql"),
                .embedInCode("postgresql/0010_key_headroom.pg.sql"),
                .embedInCode("postgresql/0011_provider_rotation.pg.sql"),
            ]
        ),
        // The domain: vault, store, providers, audit. No CLI, no HTTP server.
        .target(
            name: "KeywardenCore",
            dependencies: [
                "KeywardenCrypto",
                "KeywardenLaunch",
                "KeywardenMigrations",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        // `struct ucred` / SO_PEERCRED, which Swift's Glibc hides.
        .target(name: "CPeerCredentials"),
        // What the small `keywarden` launcher shares with the full command
        // line, kept free of KeywardenCore (and of Foundation) so that the
        // launcher stays small: the agent's socket (a blocking Unix socket,
        // the trust checks, one HTTP/1.1 exchange with SwiftNIO's codec in an
        // EmbeddedChannel), starting a command (PATH search, signals,
        // descriptors, core dumps) and the names those need.
        .target(
            name: "KeywardenLaunch",
            dependencies: [
                "CPeerCredentials",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: directMetadataAccessors
        ),
        // The agent: HTTP/1.1 over a Unix socket, peer checks, tokens, metrics.
        .target(
            name: "KeywardenServer",
            dependencies: [
                "KeywardenCrypto",
                "KeywardenCore",
                "KeywardenLaunch",
                "CPeerCredentials",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The Keywarden API through the agent's socket (a blocking socket and
        // SwiftNIO's HTTP client codec in an EmbeddedChannel: no event loop),
        // the trust checks before anything is sent, and the one decision
        // between the agent and the vault in-process.
        .target(
            name: "KeywardenClient",
            dependencies: [
                "KeywardenCore",
                "KeywardenLaunch",
                "CPeerCredentials",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: directMetadataAccessors
        ),
        // `keywarden`, the launcher: `--version` and `run` through the agent
        // (its everyday form) are answered by this small binary, which starts
        // in about half the time of the full command line; everything else is
        // handed to `keywarden-cli` by exec (same process, same arguments).
        .executableTarget(
            name: "keywarden",
            dependencies: ["KeywardenLaunch"],
            swiftSettings: directMetadataAccessors,
            linkerSettings: releaseLinking
        ),
        // The full command line: argument parsing and printing, one file per subcommand.
        .executableTarget(
            name: "keywarden-cli",
            dependencies: [
                "KeywardenCore",
                "KeywardenClient",
                "KeywardenLaunch",
                "KeywardenServer",
                "CPeerCredentials",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: directMetadataAccessors,
            linkerSettings: releaseLinking
        ),
        // Helpers shared by the test targets: temporary folders, a process runner.
        .target(name: "KeywardenTestSupport", dependencies: ["CPeerCredentials"]),
        // The providers, played on loopback with their real answers and faults (tests, README demo).
        .target(
            name: "KeywardenMockProvider",
            dependencies: [
                "KeywardenCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(name: "keywarden-mock", dependencies: ["KeywardenMockProvider", "KeywardenCore"]),
        .testTarget(name: "KeywardenCryptoTests", dependencies: ["KeywardenCrypto"]),
        .testTarget(name: "KeywardenLaunchTests", dependencies: ["KeywardenLaunch", "KeywardenCore"]),
        .testTarget(
            name: "KeywardenCoreTests",
            dependencies: ["KeywardenCore", "KeywardenTestSupport", "KeywardenMockProvider", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The agent's routes in-process (HummingbirdTesting) against a temporary
        // vault, and once over a real Unix socket through KeywardenClient.
        .testTarget(
            name: "KeywardenServerTests",
            dependencies: [
                "KeywardenServer",
                "KeywardenCore",
                "KeywardenClient",
                "KeywardenTestSupport",
                "KeywardenMockProvider",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Runs the built `keywarden` binary as a user would.
        .testTarget(name: "EndToEndTests", dependencies: ["keywarden", "keywarden-cli", "keywarden-mock", "KeywardenServer", "KeywardenTestSupport", "KeywardenMockProvider",
                                                         .product(name: "AsyncHTTPClient", package: "async-http-client")]),
    ],
    swiftLanguageModes: [.v6]
)
