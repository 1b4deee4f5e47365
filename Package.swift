// swift-tools-version:6.0
import PackageDescription

// Linux only: the worker runs on Debian behind nginx, uses epoll, and links Debian's -dev
// packages (liblmdb, libfcgi, libcurl, libcrypto). SwiftPM has no `platforms` entry for
// Linux, so none is listed.

let package = Package(
    name: "VoxFCGI",
        products: [
        .executable(name: "voxfcgi", targets: ["VoxFCGI"]),
        .executable(name: "voxbench", targets: ["VoxBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Thin module maps over Debian's -dev packages. Nothing above the Swift wrapper that
        // owns each library imports these.
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CQRencode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Small pure functions several layers need, each defined once: RFC 3986 percent-encoding
        // and exponential backoff with jitter. No dependencies.
        .target(name: "Essentials"),
        .target(name: "KVStore", dependencies: ["CLMDB"]),
        .target(name: "CryptoPrimitives", dependencies: ["COpenSSL"]),
        // QR codes as SVG (libqrencode), for enrolling an authenticator app.
        .target(name: "QRCode", dependencies: ["CQRencode"]),
        // gzip streams (zlib), for backups.
        .target(name: "Compression", dependencies: ["CZlib"]),
        .target(name: "Threads"),
        // Mustache templates parsed once and rendered from a closed value type (see Template).
        .target(name: "Templating"),
        .target(name: "FastCGI", dependencies: ["CFastCGI", "Threads", "Essentials"]),
        // The HTTP client every upstream shares: libcurl, retries, rate limits, outbound policy,
        // file regions. It knows no vendor.
        .target(
            name: "HTTPTransport",
            dependencies: ["CCurl", "Essentials", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")]
        ),
        // Voximplant's and ElevenLabs' APIs as typed clients over the transport.
        .target(name: "Integrations", dependencies: ["HTTPTransport", "CryptoPrimitives", "Essentials"]),
        // Local disk and S3-compatible stores; SigV4 as a pure function.
        .target(
            name: "ObjectStore",
            dependencies: ["HTTPTransport", "CryptoPrimitives", "Essentials", .product(name: "Logging", package: "swift-log")]
        ),
        // The domain: no vendor, web or network code.
        .target(
            name: "VoxCore",
            dependencies: ["KVStore", "CryptoPrimitives", "Threads", "Essentials", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")]
        ),
        // The work that is not HTTP: sync, ingest, transcripts, recordings, deployment, housekeeping.
        .target(
            name: "VoxServices",
            dependencies: [
                "VoxCore", "KVStore", "Integrations", "ObjectStore", "HTTPTransport", "CryptoPrimitives", "Threads", "Essentials",
                "Compression",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Router, CSRF, templates, pages: parse, call a service, render.
        .target(
            name: "VoxWeb",
            dependencies: [
                "VoxServices", "VoxCore", "KVStore", "FastCGI", "Integrations", "ObjectStore", "CryptoPrimitives", "QRCode", "Essentials",
                "Compression",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                "Templating",
            ],
            resources: [.copy("Templates")]
        ),
        // The composition root: settings, and the one function that builds the worker from them.
        .target(
            name: "VoxWorker",
            dependencies: [
                "VoxWeb", "VoxServices", "VoxCore", "FastCGI", "KVStore", "HTTPTransport", "Threads",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "VoxFCGI",
            dependencies: [
                "VoxWorker", "VoxWeb", "VoxCore", "KVStore", "HTTPTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // `make bench`: the query and ingest benchmarks (server-side timings), and S3 uploads.
        .executableTarget(
            name: "VoxBench",
            dependencies: ["VoxCore", "KVStore", "ObjectStore", "Integrations", .product(name: "Logging", package: "swift-log")]
        ),

        // Starting the Python test servers, shared by the test targets that use them.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "KVStoreTests", dependencies: ["KVStore"]),
        // swift-mustache, the implementation our renderer replaced, is the reference it is checked against.
        .testTarget(name: "TemplatingTests", dependencies: ["Templating", .product(name: "Mustache", package: "swift-mustache")]),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI"]),
        .testTarget(name: "VoxCoreTests", dependencies: ["VoxCore", "CryptoPrimitives", "QRCode", .product(name: "Logging", package: "swift-log")], resources: [.copy("Expected")]),
        .testTarget(name: "VoxWebTests", dependencies: ["VoxWorker", "VoxWeb", "VoxServices", "VoxCore", "FastCGI", "ObjectStore", "Essentials", "HTTPTransport", "Integrations", "Compression", "CryptoPrimitives", "KVStore", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "HTTPTransportTests",
            dependencies: ["HTTPTransport", "Essentials", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "IntegrationsTests",
            dependencies: ["Integrations", "HTTPTransport", "CryptoPrimitives", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "ObjectStoreTests",
            dependencies: ["ObjectStore", "HTTPTransport", "CryptoPrimitives", "Essentials", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
    ]
)
