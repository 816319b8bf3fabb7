// swift-tools-version: 6.1
import Foundation
import PackageDescription

// Benchmarks (package-benchmark) are kept out of plain `swift build` / `swift test`: set
// WARDEN_BENCHMARKS=1 to add them (as `make bench` does). This keeps CI builds small.
let includeBenchmarks = ProcessInfo.processInfo.environment["WARDEN_BENCHMARKS"] != nil
// The libFuzzer targets of the NATS protocol parser (Fuzz/NATSProtocol) and the AMQP frame decoder (Fuzz/AMQPFrame)
// exist only when WARDEN_FUZZ is set, as scripts/fuzz.sh does. They are the fuzz targets that need a package
// (NIOCore); the others build with swiftc.
let includeFuzzTargets = ProcessInfo.processInfo.environment["WARDEN_FUZZ"] != nil

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

var package = Package(
    name: "Warden",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "warden", targets: ["warden"]),
        .library(name: "WardenCore", targets: ["WardenCore"]),
        .library(name: "WordPiece", targets: ["WordPiece"]),
        .library(name: "TorchBackend", targets: ["TorchBackend"]),
        .library(name: "WardenAPI", targets: ["WardenAPI"]),
        .library(name: "WardenGateway", targets: ["WardenGateway"]),
        .library(name: "WardenServer", targets: ["WardenServer"]),
        .library(name: "WardenClient", targets: ["WardenClient"]),
        .library(name: "WardenScore", targets: ["WardenScore"]),
        .library(name: "WardenTune", targets: ["WardenTune"]),
        .library(name: "WardenCompare", targets: ["WardenCompare"]),
        .library(name: "NATSClient", targets: ["NATSClient"]),
        .library(name: "AMQPClient", targets: ["AMQPClient"]),
        .library(name: "WardenStream", targets: ["WardenStream"]),
        .executable(name: "ChatServer", targets: ["ChatServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.21.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.2.0"),
    ],
    targets: [
        // C API over libtorch (TorchScript). Only TorchBackend imports it.
        .target(
            name: "CTorchShim",
            cxxSettings: [
                .unsafeFlags(["-std=c++17", "-O2", "-Wno-deprecated-declarations"]),
                .define("_GLIBCXX_USE_CXX11_ABI", to: "1"),
            ],
            linkerSettings: [
                .linkedLibrary("torch"),
                .linkedLibrary("torch_cpu"),
                .linkedLibrary("c10"),
                .linkedLibrary("dl"),
            ]
        ),
        .target(
            name: "TorchBackend",
            dependencies: [
                "CTorchShim", "WardenCore",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "WordPiece", swiftSettings: swiftSettings),
        .target(
            name: "WardenCore",
            dependencies: [
                "WordPiece",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Measures the engine over batching settings for `warden tune` (no model runtime of its own).
        .target(
            name: "WardenCompare",
            dependencies: ["WardenScore", "WardenCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WardenTune",
            dependencies: [
                "WardenCore", "WordPiece",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // zlib, for gzip input to `warden score` (Debian's zlib1g-dev).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // `warden score` without the command line: record files in and out, and the scoring loop over the engine.
        .target(
            name: "WardenScore",
            dependencies: [
                "WardenGateway", "WardenCore", "WordPiece", "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // A small NATS + JetStream protocol client on SwiftNIO; knows nothing of Warden (see docs/ARCHITECTURE.md).
        .target(
            name: "NATSClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // A small AMQP 0-9-1 (RabbitMQ) client on SwiftNIO; knows nothing of Warden (see docs/ARCHITECTURE.md).
        .target(
            name: "AMQPClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // `warden worker` without the command line: the JetStream consumer, the request/reply service and the RabbitMQ
        // consumer over the engine.
        .target(
            name: "WardenStream",
            dependencies: [
                "WardenGateway", "WardenCore", "WardenAPI", "WardenPolicies", "NATSClient", "AMQPClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Wire types shared by the server and the client; depends on nothing.
        .target(name: "WardenAPI", swiftSettings: swiftSettings),
        // The contract of every transport: request body -> engine call -> response body, the one fault
        // catalogue (code, status, message) and the one JSON scanner.
        .target(
            name: "WardenGateway",
            dependencies: [
                "WardenCore", "WardenAPI", "WordPiece", "WardenPolicies",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ], swiftSettings: swiftSettings),
        // Named threshold sets per community, read from a policies file (YAML or JSON) and reloaded in place.
        .target(
            name: "WardenPolicies",
            dependencies: [.product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .target(
            name: "WardenServer",
            dependencies: [
                "WardenGateway", "WardenCore", "WardenAPI", "WordPiece", "WardenPolicies",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The client a chat server links: wire types + AsyncHTTPClient, nothing heavy.
        .target(
            name: "WardenClient",
            dependencies: [
                "WardenAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Example: a WebSocket chat server that moderates every message through WardenClient.
        .executableTarget(
            name: "ChatServer",
            dependencies: [
                "WardenClient", "WardenAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/ChatServer",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "warden",
            dependencies: [
                "WardenCore", "TorchBackend", "WordPiece", "WardenGateway", "WardenServer", "WardenScore", "WardenTune", "WardenCompare", "WardenAPI",
                "WardenPolicies",
                "NATSClient", "AMQPClient", "WardenStream",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TorchBackendTests",
            dependencies: [
                "TorchBackend", "WardenCore", "WordPiece", "WardenTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

if includeBenchmarks {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.27.0", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "WardenBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                "WardenCore", "TorchBackend", "WordPiece",
            ],
            path: "Benchmarks/WardenBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]))
}
if includeFuzzTargets {
    // The parser's files are linked into Fuzz/NATSProtocol and compiled there, with libFuzzer's coverage and
    // AddressSanitizer, optimised but with the standard library's debug checks; its dependency (NIOCore) is the
    // ordinary build, so the target builds in seconds after `swift build`. Its main runs libFuzzer's driver.
    let fuzzFlags = ["-sanitize=fuzzer,address", "-O", "-assert-config", "Debug", "-enable-experimental-feature", "Extern"]
    package.targets.append(
        .executableTarget(
            name: "NATSProtocolFuzz",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/NATSProtocol",
            exclude: ["README.md", "corpus", "nats.dict"],
            swiftSettings: swiftSettings + [.unsafeFlags(fuzzFlags)],
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]))
    // The AMQP frame decoder and its method, header and field-table codecs, built the same way.
    package.targets.append(
        .executableTarget(
            name: "AMQPFrameFuzz",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/AMQPFrame",
            exclude: ["README.md", "corpus", "amqp.dict"],
            swiftSettings: swiftSettings + [.unsafeFlags(fuzzFlags)],
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]))
}
package.targets += [
    .testTarget(
        name: "WardenCLITests",
        dependencies: [
            "warden", "WardenTestSupport", "AMQPClient", "WardenCore", "WardenGateway", "WardenScore", "WardenServer", "WardenStream",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings),
    // Test-only code shared by the suites: fixture paths, the warden binary and process launcher, gates,
    // deterministic backends and a stub Warden.
    .target(
        name: "WardenTestSupport",
        dependencies: [
            "WardenCore", "WardenAPI",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
        ],
        path: "Tests/WardenTestSupport",
        swiftSettings: swiftSettings),
    .testTarget(
        name: "NATSClientTests",
        dependencies: [
            "NATSClient", "WardenTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "AMQPClientTests",
        dependencies: [
            "AMQPClient", "WardenTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "WardenStreamTests",
        dependencies: ["NATSClient", "AMQPClient", "WardenAPI", "WardenStream", "WardenTestSupport", "warden"],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "WardenClientTests",
        dependencies: [
            "WardenClient", "WardenAPI", "WardenCore", "WardenTestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "ChatServerTests",
        dependencies: [
            "ChatServer", "WardenClient", "WardenAPI", "WardenTestSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings),
    .testTarget(name: "WordPieceTests", dependencies: ["WordPiece", "WardenCore", "WardenTestSupport"], swiftSettings: swiftSettings),
    .testTarget(
        name: "WardenCoreTests",
        dependencies: [
            "WardenCore", "WordPiece", "WardenTestSupport",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings),
    .testTarget(name: "WardenGatewayTests", dependencies: ["WardenGateway", "WardenCore", "WardenAPI", "WardenTestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "WardenPoliciesTests", dependencies: ["WardenPolicies", "WardenTestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "WardenCompareTests", dependencies: ["WardenCompare", "WardenCore", "WardenTestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "WardenTuneTests", dependencies: ["WardenTune", "WardenCore", "WordPiece", "WardenTestSupport"], swiftSettings: swiftSettings),
    .testTarget(
        name: "WardenScoreTests",
        dependencies: [
            "WardenScore", "WardenCore", "WordPiece", "CZlib", "WardenTestSupport",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "WardenServerTests",
        dependencies: [
            "WardenServer", "WardenCore", "WardenGateway", "TorchBackend", "WardenAPI", "WordPiece", "WardenTestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ],
        swiftSettings: swiftSettings),
]
