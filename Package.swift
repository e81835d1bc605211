// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Keywarden",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "keywarden", targets: ["keywarden"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
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
            ]
        ),
        // The domain: vault, store, providers, audit. No CLI, no HTTP server.
        .target(
            name: "KeywardenCore",
            dependencies: [
                "KeywardenCrypto",
                "KeywardenMigrations",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The executable: one file per subcommand.
        .executableTarget(
            name: "keywarden",
            dependencies: [
                "KeywardenCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Helpers shared by the test targets: temporary folders, a process runner.
        .target(name: "KeywardenTestSupport"),
        .testTarget(name: "KeywardenCryptoTests", dependencies: ["KeywardenCrypto"]),
        .testTarget(
            name: "KeywardenCoreTests",
            dependencies: ["KeywardenCore", "KeywardenTestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Runs the built `keywarden` binary as a user would.
        .testTarget(name: "EndToEndTests", dependencies: ["keywarden", "KeywardenTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
