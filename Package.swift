// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Scutum",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "scutum", targets: ["scutum"]),
        .executable(name: "scutum-mock", targets: ["ScutumMockServer"]),
        .executable(name: "scutum-guardrail-bench", targets: ["GuardrailBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // OTLP over HTTP only: the gRPC exporter would add grpc-swift to every build.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // Debian's hiredis, used only as a RESP codec.
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // OpenAI wire types, model catalog, aliases, pricing, platform settings, errors, and the linear-time
        // regex engine (SafeRegex) that guardrails and workflow conditions share; no I/O.
        .target(
            name: "ScutumCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Content-safety detectors (PII, secrets, prompt injection, invisible text, banned topics (SafeRegex
        // patterns, from ScutumCore), malicious URLs) and the per-profile scanner for requests and streams; no I/O.
        .target(
            name: "ScutumGuardrails",
            dependencies: ["ScutumCore"],
            swiftSettings: swiftSettings
        ),
        // Times a full guardrail profile on a realistic 4 KB prompt: p50/p99 in microseconds.
        .executableTarget(
            name: "GuardrailBench",
            dependencies: ["ScutumGuardrails", "ScutumCore"],
            path: "Benchmarks/GuardrailBench",
            swiftSettings: swiftSettings
        ),
        // The Redis client (hiredis as the codec under SwiftNIO, pub/sub; TLS, ACL users, Sentinel) and the cluster's shared primitives:
        // leased rate-limit quotas, parallel-request slots, breakers, the spend ledger.
        .target(
            name: "ScutumRedis",
            dependencies: [
                "CHiredis", "ScutumCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // PostgreSQL access: migrations from sql/ and the key store.
        .target(
            name: "ScutumStore",
            dependencies: [
                "ScutumCore", "ScutumGuardrails",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // One adapter per provider family, translating OpenAI <-> native wire formats.
        .target(
            name: "ScutumProviders",
            dependencies: [
                "ScutumCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Work every node does for the cluster: cache invalidation (LISTEN/NOTIFY), spend recording and
        // the spend-log batch writer.
        .target(
            name: "ScutumCluster",
            dependencies: [
                "ScutumStore", "ScutumRedis", "ScutumCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The port-4000 proxy application: middleware and routes.
        .target(
            name: "ScutumProxy",
            dependencies: [
                "ScutumCore", "ScutumProviders", "ScutumStore", "ScutumRedis", "ScutumCluster", "ScutumGuardrails",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // MCP client (streamable HTTP and legacy SSE), SSRF guard, and agentgateway config for registered MCP servers.
        .target(
            name: "ScutumMCP",
            dependencies: [
                "ScutumCore", "ScutumStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Workflows: graphs and their validation, conditions, templates, the planner, their storage in
        // PostgreSQL, and the leader's runner (llm steps through a completion function, tool steps over MCP).
        .target(
            name: "ScutumWorkflows",
            dependencies: [
                "ScutumCore", "ScutumStore", "ScutumMCP",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The port-8086 Admin API (login, keys, teams, budgets, models, settings, spend...) and the
        // port-5173 admin console: its static files (Console/, served from memory) plus the same API.
        .target(
            name: "ScutumAdmin",
            dependencies: [
                "ScutumCore", "ScutumStore", "ScutumMCP", "ScutumGuardrails", "ScutumWorkflows",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Console")],
            swiftSettings: swiftSettings
        ),
        // Assembles one gateway node's services from configuration.
        .target(
            name: "ScutumNode",
            dependencies: [
                "ScutumCore", "ScutumProviders", "ScutumStore", "ScutumRedis", "ScutumCluster", "ScutumProxy", "ScutumAdmin",
                "ScutumMock", "ScutumMCP", "ScutumWorkflows",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // A mock upstream speaking the providers' real wire formats.
        .target(
            name: "ScutumMock",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ScutumMockServer",
            dependencies: [
                "ScutumMock",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "scutum",
            dependencies: [
                "ScutumNode", "ScutumStore", "ScutumCore", "ScutumProxy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared fixtures for the test targets: connections to the test services, fresh databases.
        .target(
            name: "ScutumTestSupport",
            dependencies: [
                "ScutumMock", "ScutumStore", "ScutumRedis", "ScutumCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ScutumTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScutumCoreTests",
            dependencies: ["ScutumCore", "ScutumTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScutumGuardrailsTests",
            dependencies: ["ScutumGuardrails", "ScutumCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScutumProvidersTests",
            dependencies: [
                "ScutumProviders", "ScutumCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScutumAdminTests",
            dependencies: [
                "ScutumAdmin", "ScutumTestSupport", "ScutumStore", "ScutumCore", "ScutumMock", "ScutumMCP",
                "ScutumWorkflows",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScutumMCPTests",
            dependencies: [
                "ScutumMCP", "ScutumMock", "ScutumCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScutumMockTests",
            dependencies: ["ScutumMock", .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScutumRedisTests",
            dependencies: ["ScutumRedis", "ScutumTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScutumStoreTests",
            dependencies: ["ScutumStore", "ScutumTestSupport", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScutumWorkflowsTests",
            dependencies: ["ScutumWorkflows", "ScutumStore", "ScutumCore", "ScutumTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings
        ),
        // A whole node over real sockets: the proxy, Admin API, cluster services, workflows, faults.
        .testTarget(
            name: "ScutumNodeTests",
            dependencies: [
                "ScutumTestSupport", "ScutumNode", "ScutumMock", "ScutumCore", "ScutumCluster", "ScutumRedis",
                "ScutumStore", "ScutumWorkflows",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
