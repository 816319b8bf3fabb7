// swift-tools-version: 6.1
import Foundation
import PackageDescription

// Benchmarks (package-benchmark) are kept out of plain `swift build` / `swift test`: set
// WARDEN_BENCHMARKS=1 to add them (as `make bench` does). This keeps CI builds small.
let includeBenchmarks = ProcessInfo.processInfo.environment["WARDEN_BENCHMARKS"] != nil

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

var package = Package(
    name: "Warden",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "warden", targets: ["warden"]),
        .library(name: "WardenCore", targets: ["WardenCore"]),
        .library(name: "WordPiece", targets: ["WordPiece"]),
        .library(name: "TorchBackend", targets: ["TorchBackend"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
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
        .executableTarget(
            name: "warden",
            dependencies: [
                "WardenCore", "TorchBackend", "WordPiece",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TorchBackendTests",
            dependencies: ["TorchBackend", "WardenCore"],
            swiftSettings: swiftSettings
        ),
    ]
)

if includeBenchmarks {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.27.0", traits: ["MallocInterposer"]))
}
package.targets.append(
    .testTarget(name: "WardenCoreTests", dependencies: ["WardenCore"], swiftSettings: swiftSettings))
