// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "VoxFCGI",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "voxfcgi", targets: ["VoxFCGI"]),
        .executable(name: "voxbench", targets: ["VoxBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // Thin module maps over Debian's -dev packages. Nothing above the Swift wrapper that
        // owns each library imports these.
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        .target(name: "KVStore", dependencies: ["CLMDB"]),
        .target(name: "CryptoPrimitives", dependencies: ["COpenSSL"]),
        .target(name: "Threads"),
        .target(name: "FastCGI", dependencies: ["CFastCGI", "Threads"]),
        .target(
            name: "Integrations",
            dependencies: ["CCurl", "CryptoPrimitives", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "ObjectStore",
            dependencies: ["Integrations", "CryptoPrimitives", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "VoxCore",
            dependencies: ["KVStore", "CryptoPrimitives", "Threads"]
        ),
        .target(
            name: "VoxWeb",
            dependencies: [
                "VoxCore", "FastCGI", "CryptoPrimitives", "Integrations", "ObjectStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("Templates")]
        ),
        .executableTarget(
            name: "VoxFCGI",
            dependencies: [
                "VoxWeb", "VoxCore", "FastCGI", "KVStore", "CryptoPrimitives", "Threads",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `make bench`: the query and ingest benchmarks (server-side timings), and S3 uploads.
        .executableTarget(name: "VoxBench", dependencies: ["VoxCore", "KVStore", "ObjectStore"]),

        // Starting the Python test servers, shared by the test targets that use them.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "KVStoreTests", dependencies: ["KVStore"]),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI"]),
        .testTarget(name: "VoxCoreTests", dependencies: ["VoxCore", "CryptoPrimitives"], resources: [.copy("Expected")]),
        .testTarget(name: "VoxWebTests", dependencies: ["VoxWeb", "VoxCore", "FastCGI", "ObjectStore"]),
        .testTarget(name: "IntegrationsTests", dependencies: ["Integrations", "TestSupport"]),
        .testTarget(name: "ObjectStoreTests", dependencies: ["ObjectStore", "Integrations", "CryptoPrimitives", "TestSupport"]),
    ]
)
