import Crypto
import ScutumAdmin
import Foundation
import Logging
import NIOCore
import ScutumCore
import ScutumProviders
import ScutumProxy
import ScutumRedis
import ScutumStore

/// Everything a node is told: from `config/.env`, overridden by the process environment.
public struct NodeConfiguration: Sendable {
    /// The merged variables (file, then environment on top); the catalog's `${VAR}`s read these.
    public var variables: [String: String]
    public var proxy: ProxyConfiguration
    public var database: DatabaseConfiguration
    /// A direct PostgreSQL connection for what needs a session of its own (LISTEN for cache
    /// invalidations), from `DATABASE_LISTEN_URL`: set it when `DATABASE_URL` goes through a pooler
    /// in transaction mode (PgBouncer), which cannot hold a LISTEN. Nil: `DATABASE_URL` serves both.
    public var listenDatabase: DatabaseConfiguration?
    public var redis: RedisConfiguration
    public var upstreamTimeouts: UpstreamTimeouts
    /// HTTP/1.1 connections per provider host (`SCUTUM_UPSTREAM_MAX_CONNECTIONS_PER_HOST`, default 4096):
    /// every stream to one provider needs its own; requests beyond the cap wait for one
    /// (`scutum_upstream_awaiting_head`). HTTP/2 providers multiplex streams on a few connections.
    public var upstreamConnectionsPerHost: Int
    /// The YAML model catalog: Scutum's `models.yaml` or a LiteLLM proxy `config.yaml`.
    public var modelsFile: String
    /// The models file read as a LiteLLM config, when it is one: its catalog is served, and its
    /// `general_settings` fill variables the environment leaves unset.
    public var litellm: LiteLLMConfig?
    /// The folder of numbered SQL migrations.
    public var sqlDirectory: String
    /// Apply pending migrations at start-up (each under a transaction-scoped advisory lock).
    public var migrateOnStart: Bool
    /// How long a graceful shutdown may take (open streams drain) before work is cancelled.
    public var shutdownGracePeriod: Duration
    /// Serve the demo against this mock upstream URL (instead of starting one in-process).
    public var demoMockURL: String?
    /// Port of the in-process demo mock.
    public var demoMockPort: Int
    public var logLevel: Logger.Level
    /// `SCUTUM_LOG_FORMAT`: `text` (default) or `json` (one object per line, for log collectors).
    public var jsonLogs: Bool
    /// `SCUTUM_TRACING`: `off` (default) or `otlp`, which exports OpenTelemetry traces over OTLP/HTTP
    /// as the standard `OTEL_*` variables say (`OTEL_EXPORTER_OTLP_ENDPOINT`, default
    /// http://localhost:4318; `OTEL_EXPORTER_OTLP_PROTOCOL` http/protobuf or http/json; ...).
    public var tracing: Bool
    /// The Admin API's listener; nil when this node serves none (`SCUTUM_ADMIN_ENABLED=false`).
    public var admin: AdminConfiguration?
    /// Single sign-on to the console and Admin API (`SCUTUM_OIDC_*`, see `SSOConfiguration`); nil: off.
    public var sso: SSOConfiguration?
    /// `SCUTUM_MASTER_KEY_LOGIN` (default true): false turns signing in to the console with the
    /// master key off (break-glass access then needs an admin key or SSO).
    public var masterKeyLogin: Bool = true
    /// The admin console's listener (`SCUTUM_CONSOLE_PORT`, default 5173, `0` disables it) on the Admin
    /// API's host; nil when disabled or when the node serves no Admin API.
    public var console: ConsoleConfiguration?
    /// HS256 secret of admin access tokens: `JWT_SECRET_KEY`, else derived from the master key so
    /// every node of a cluster agrees without extra configuration; nil without either, and then the
    /// node refuses to serve the Admin API (`adminTokenSecret()`).
    public var jwtSecret: [UInt8]?
    /// Encrypts secrets stored in PostgreSQL (MCP servers' env and header values): from
    /// `SCUTUM_ENCRYPTION_KEY`, else from the master key; nil (stored in clear) without either.
    public var secrets: SecretBox?
    /// Prefix of the cluster's keys in Redis (`SCUTUM_REDIS_NAMESPACE`), for several clusters on one Redis.
    public var redisNamespace: String
    /// How long a leader's lease lasts without renewal (`SCUTUM_LEADER_LEASE_SECONDS`, default 5);
    /// a new leader takes over within about this after the old one dies.
    public var leaderLease: Duration
    /// Workflow executions the leader runs at once (`SCUTUM_WORKFLOW_CONCURRENCY`, default 4).
    public var workflowConcurrency: Int
    /// A workflow step's time limit unless its node sets `timeout_seconds`
    /// (`SCUTUM_WORKFLOW_STEP_TIMEOUT_SECONDS`, default 300).
    public var workflowStepTimeout: Duration
    /// How the leader detects and delivers alerts (`SCUTUM_ALERT_*`, see `AlertConfiguration`).
    public var alerts: AlertConfiguration
    /// Where the leader writes agentgateway's configuration (`GATEWAY_CONFIG_PATH`); nil: this node
    /// never deploys it.
    public var gatewayConfigPath: String?
    /// The port agentgateway's generated configuration listens on (`SCUTUM_AGENTGATEWAY_PORT`, 3000).
    public var agentGatewayPort: Int
    /// Each listener's connection cap and header/idle timeouts (`SCUTUM_MAX_CONNECTIONS`,
    /// `SCUTUM_HEADER_TIMEOUT_SECONDS`, `SCUTUM_IDLE_TIMEOUT_SECONDS`).
    public var listenerLimits: ListenerLimits
    /// Spend records a node keeps in memory at most (`SCUTUM_SPEND_BUFFER_RECORDS`, default 100,000):
    /// beyond it they go straight to PostgreSQL; while PostgreSQL is unreachable too, the oldest are
    /// dropped (`scutum_spend_records_dropped_total`).
    public var spendBufferCapacity: Int
    /// How long flushes to Redis may fail before spend records go straight to PostgreSQL
    /// (`SCUTUM_SPEND_DIRECT_AFTER_SECONDS`, default 5).
    public var spendDirectAfter: Duration
    /// The host other nodes and operators reach this node by (`SCUTUM_ADVERTISE_HOST`; default the
    /// listen host, or the machine's host name when listening on every interface).
    public var advertiseHost: String

    /// A variable that does not hold what it must.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads `envFile` (if present) and `environment`, the latter winning.
    public static func load(envFile: String? = "config/.env",
        environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NodeConfiguration
    {
        var variables = try envFile.map { try EnvironmentFile.load(path: $0) } ?? [:]
        variables.merge(environment) { _, new in new }
        return try NodeConfiguration(variables: variables)
    }

    public init(variables: [String: String]) throws {
        let (variables, litellm) = try Self.applyingLiteLLMConfig(to: variables)
        self.variables = variables
        self.litellm = litellm
        func value(_ name: String) -> String? {
            guard let value = variables[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        func integer(_ name: String, default fallback: Int, range: ClosedRange<Int> = 0...Int.max) throws -> Int {
            guard let text = value(name) else { return fallback }
            guard let number = Int(text), range.contains(number) else {
                throw Invalid(description: "\(name)=\(text) must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        func seconds(_ name: String, default fallback: Double) throws -> Duration {
            guard let text = value(name) else { return .milliseconds(Int64(fallback * 1000)) }
            guard let number = Double(text), number > 0 else {
                throw Invalid(description: "\(name)=\(text) must be a positive number of seconds")
            }
            return .milliseconds(Int64(number * 1000))
        }

        guard let databaseURL = value("DATABASE_URL") else {
            throw Invalid(description: "DATABASE_URL is not set (e.g. postgres://scutum:secret@127.0.0.1:5432/scutum); `make run` writes it to config/.env")
        }
        do {
            database = try DatabaseConfiguration(url: databaseURL)
            database.maximumConnections = try integer("SCUTUM_DATABASE_MAX_CONNECTIONS", default: 20, range: 1...1000)
        } catch {
            throw Invalid(description: "DATABASE_URL: \(error)")
        }
        do {
            // One connection holds the LISTEN; the second answers the readiness check beside it.
            listenDatabase = try value("DATABASE_LISTEN_URL").map { url in
                var listen = try DatabaseConfiguration(url: url)
                listen.maximumConnections = 2
                return listen
            }
        } catch {
            throw Invalid(description: "DATABASE_LISTEN_URL: \(error)")
        }
        do {
            // rediss:// and redis+sentinel:// too, TLS files and the sentinels' password from REDIS_TLS_* and
            // REDIS_SENTINEL_* when the URL does not name them; the TLS files are read (and checked) now.
            redis = try RedisConfiguration(url: value("REDIS_URL") ?? "redis://127.0.0.1:6379/0", environment: variables)
            try RedisConnector.check(redis)
            redis.commandTimeout = .milliseconds(Int64(try integer("SCUTUM_REDIS_TIMEOUT_MILLISECONDS", default: 250,
                range: 10...60_000)))
        } catch {
            throw Invalid(description: "REDIS_URL: \(error)")
        }
        proxy = ProxyConfiguration(
            host: value("SCUTUM_HOST") ?? "0.0.0.0",
            port: try integer("SCUTUM_PROXY_PORT", default: 4000, range: 0...65535),
            masterKey: value("SCUTUM_API_KEY"),
            maximumBodyBytes: try integer("SCUTUM_MAX_REQUEST_BYTES", default: 32 * 1024 * 1024, range: 1024...Int.max),
            keyCacheTTL: try seconds("SCUTUM_KEY_CACHE_SECONDS", default: 300),
            backendTimeout: try seconds("SCUTUM_BACKEND_TIMEOUT_SECONDS", default: 2))
        proxy.abandonedStreamDrain = try seconds("SCUTUM_ABANDONED_STREAM_DRAIN_SECONDS", default: 60)
        proxy.responseRetention = .seconds(86_400 * Int64(try integer("SCUTUM_RESPONSES_RETENTION_DAYS", default: 30,
            range: 1...3650)))
        switch (value("SCUTUM_DIRECT_LANE") ?? "on").lowercased() {
        case "on", "true", "1", "": proxy.directLane = true
        case "off", "false", "0": proxy.directLane = false
        case let other: throw Invalid(description: "SCUTUM_DIRECT_LANE=\(other) must be on or off")
        }
        if let key = proxy.masterKey, key.count < 16 {
            throw Invalid(description: "SCUTUM_API_KEY is too short (\(key.count) characters); use at least 16 random characters")
        }
        upstreamTimeouts = UpstreamTimeouts(
            connect: .init(try seconds("SCUTUM_UPSTREAM_CONNECT_TIMEOUT_SECONDS", default: 10)),
            responseHead: .init(try seconds("SCUTUM_UPSTREAM_TIMEOUT_SECONDS", default: 600)),
            idle: .init(try seconds("SCUTUM_UPSTREAM_IDLE_TIMEOUT_SECONDS", default: 120)))
        upstreamConnectionsPerHost = try integer("SCUTUM_UPSTREAM_MAX_CONNECTIONS_PER_HOST",
            default: UpstreamHTTP.defaultConnectionsPerHost, range: 8...65536)
        modelsFile = Self.modelsFilePath(variables)
        sqlDirectory = value("SCUTUM_SQL_DIR") ?? "sql"
        migrateOnStart = (value("SCUTUM_MIGRATE_ON_START") ?? "true").lowercased() != "false"
        shutdownGracePeriod = try seconds("SCUTUM_SHUTDOWN_GRACE_SECONDS", default: 30)
        leaderLease = try seconds("SCUTUM_LEADER_LEASE_SECONDS", default: 5)
        workflowConcurrency = try integer("SCUTUM_WORKFLOW_CONCURRENCY", default: 4, range: 1...256)
        workflowStepTimeout = try seconds("SCUTUM_WORKFLOW_STEP_TIMEOUT_SECONDS", default: 300)
        alerts = try Self.alertConfiguration(variables)
        spendBufferCapacity = try integer("SCUTUM_SPEND_BUFFER_RECORDS", default: 100_000, range: 1_000...100_000_000)
        spendDirectAfter = try seconds("SCUTUM_SPEND_DIRECT_AFTER_SECONDS", default: 5)
        gatewayConfigPath = value("GATEWAY_CONFIG_PATH").flatMap { $0.isEmpty ? nil : $0 }
        agentGatewayPort = try integer("SCUTUM_AGENTGATEWAY_PORT", default: 3000, range: 1...65535)
        demoMockURL = value("SCUTUM_DEMO_MOCK_URL")
        demoMockPort = try integer("SCUTUM_MOCK_UPSTREAM_PORT", default: 9100, range: 0...65535)
        let level = value("SCUTUM_LOG_LEVEL") ?? "info"
        guard let logLevel = Logger.Level(rawValue: level.lowercased()) else {
            throw Invalid(description: "SCUTUM_LOG_LEVEL=\(level) must be one of trace, debug, info, notice, warning, error, critical")
        }
        self.logLevel = logLevel
        switch (value("SCUTUM_LOG_FORMAT") ?? "text").lowercased() {
        case "text": jsonLogs = false
        case "json": jsonLogs = true
        case let other: throw Invalid(description: "SCUTUM_LOG_FORMAT=\(other) must be text or json")
        }
        switch (value("SCUTUM_TRACING") ?? "off").lowercased() {
        case "off", "false", "": tracing = false
        case "otlp", "true": tracing = true
        case let other: throw Invalid(description: "SCUTUM_TRACING=\(other) must be off or otlp")
        }
        for name in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] where tracing {
            // swift-otel stops the process on a protocol it was built without (gRPC here).
            if let chosen = value(name), !["http/protobuf", "http/json"].contains(chosen.lowercased()) {
                throw Invalid(description: "\(name)=\(chosen) must be http/protobuf or http/json (OTLP over gRPC is not built in)")
            }
        }
        proxy.tracing = tracing
        redisNamespace = value("SCUTUM_REDIS_NAMESPACE") ?? "scutum"
        listenerLimits = ListenerLimits(
            maximumConnections: try integer("SCUTUM_MAX_CONNECTIONS", default: 10_000, range: 1...1_000_000),
            headerTimeout: try seconds("SCUTUM_HEADER_TIMEOUT_SECONDS", default: 10),
            idleTimeout: try seconds("SCUTUM_IDLE_TIMEOUT_SECONDS", default: 75))
        advertiseHost = value("SCUTUM_ADVERTISE_HOST")
            ?? (["0.0.0.0", "::"].contains(proxy.host) ? ProcessInfo.processInfo.hostName : proxy.host)
        if (value("SCUTUM_ADMIN_ENABLED") ?? "true").lowercased() != "false" {
            admin = AdminConfiguration(host: proxy.host, port: try integer("SCUTUM_ADMIN_PORT", default: 8086, range: 0...65535),
                tokenLifetime: .seconds(try integer("SCUTUM_ADMIN_TOKEN_SECONDS", default: 8 * 3600, range: 60...31_536_000)))
        } else {
            admin = nil
        }
        do {
            sso = try SSOConfiguration.fromEnvironment(variables)
        } catch {
            throw Invalid(description: error.description)
        }
        switch (value("SCUTUM_MASTER_KEY_LOGIN") ?? "true").lowercased() {
        case "true", "1", "yes": masterKeyLogin = true
        case "false", "0", "no": masterKeyLogin = false
        case let other: throw Invalid(description: "SCUTUM_MASTER_KEY_LOGIN=\(other) must be true or false")
        }
        let consolePort = try integer("SCUTUM_CONSOLE_PORT", default: 5173, range: 0...65535)
        console = admin.flatMap { admin in
            consolePort == 0 ? nil : ConsoleConfiguration(host: admin.host, port: consolePort)
        }
        if let secret = value("JWT_SECRET_KEY") {
            guard secret.utf8.count >= 32 else {
                throw Invalid(description: "JWT_SECRET_KEY is too short (\(secret.utf8.count) bytes); use at least 32 random characters (e.g. `openssl rand -hex 32`)")
            }
            jwtSecret = Array(secret.utf8)
        } else {
            jwtSecret = proxy.masterKey.map { masterKey in
                Array(HMAC<SHA256>.authenticationCode(for: Array("scutum admin tokens".utf8),
                    using: SymmetricKey(data: Array(masterKey.utf8))))
            }
        }
        if let material = value("SCUTUM_ENCRYPTION_KEY") {
            guard material.utf8.count >= 16 else {
                throw Invalid(description: "SCUTUM_ENCRYPTION_KEY is too short; use at least 32 random characters")
            }
            secrets = SecretBox(material: Array(material.utf8))
        } else {
            secrets = proxy.masterKey.map { SecretBox(material: Array($0.utf8)) }
        }
    }
}

extension NodeConfiguration {
    /// The secret admin tokens are signed with. A node serving the Admin API needs `JWT_SECRET_KEY`
    /// or a master key: a secret anyone could know would let anyone mint admin tokens.
    public func adminTokenSecret() throws(Invalid) -> [UInt8] {
        guard let jwtSecret else {
            throw Invalid(description: """
                JWT_SECRET_KEY is not set: the Admin API signs its access tokens with it. Set JWT_SECRET_KEY \
                (at least 32 random characters, e.g. `openssl rand -hex 32`, the same on every node) or a master \
                key in SCUTUM_API_KEY, or turn the Admin API off with SCUTUM_ADMIN_ENABLED=false
                """)
        }
        return jwtSecret
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
