import Foundation
import Logging
import ScutumRedis
import ScutumStore

/// Where the test services are, read from the environment that `make test` sets up.
///
/// Tests never skip because a service is missing: an unset variable stops the run with a message
/// saying how to start the services.
public enum TestEnvironment {
    /// `SCUTUM_TEST_DATABASE_URL`: a PostgreSQL URL of a role that may `CREATE DATABASE`.
    public static var databaseURL: String { required("SCUTUM_TEST_DATABASE_URL", what: "PostgreSQL") }

    /// `SCUTUM_TEST_LISTEN_DATABASE_URL` (optional): the PostgreSQL server itself, when
    /// `SCUTUM_TEST_DATABASE_URL` is PgBouncer in transaction pooling; nodes under test then hold
    /// their LISTEN there (`DATABASE_LISTEN_URL`), on the test's own database.
    public static var listenDatabaseURL: String? {
        ProcessInfo.processInfo.environment["SCUTUM_TEST_LISTEN_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `SCUTUM_TEST_REDIS_URL`: the test Redis, e.g. `redis://127.0.0.1:6379/0`; any form `REDIS_URL` takes
    /// (`rediss://user:password@...` with `REDIS_TLS_CA_FILE`..., `redis+sentinel://...`, a Redis Cluster
    /// `redis+cluster://127.0.0.1:27000,127.0.0.1:27001/`): every Redis suite runs against any of them.
    public static var redisURL: String { required("SCUTUM_TEST_REDIS_URL", what: "Redis") }

    /// The test Redis as a client configuration, with timeouts generous enough for a loaded CI machine.
    /// TLS files and the sentinels' password come from the URL or, as for a node, from the process's
    /// `REDIS_TLS_*` and `REDIS_SENTINEL_*` variables.
    public static var redisConfiguration: RedisConfiguration {
        testRedis(url: redisURL, variable: "SCUTUM_TEST_REDIS_URL")
    }

    private static func testRedis(url: String, variable: String) -> RedisConfiguration {
        do {
            return try redisConfiguration(url: url)
        } catch {
            // The error names what is wrong without the password; the URL itself is not printed.
            fatalError("\(variable) is not a usable Redis URL: \(error)")
        }
    }

    /// A Redis URL as a test client configuration: `redisConfiguration`'s timeouts, the process's
    /// `REDIS_TLS_*` (for a TLS URL) and `REDIS_SENTINEL_*` variables for what the URL leaves out.
    public static func redisConfiguration(url: String) throws -> RedisConfiguration {
        // A TLS run sets REDIS_TLS_* for its rediss:// URL; a node would refuse them with a plain URL, which
        // tests use too (the Sentinel servers, a relay), so here they only go with a TLS URL.
        var environment = ProcessInfo.processInfo.environment
        if !url.hasPrefix("rediss") { environment = environment.filter { !$0.key.hasPrefix("REDIS_TLS_") } }
        var configuration = try RedisConfiguration(url: url, environment: environment)
        configuration.commandTimeout = .seconds(5)
        configuration.connectTimeout = .seconds(2)
        return configuration
    }

    /// Whether `SCUTUM_TEST_REDIS_URL` names a Redis Cluster (read without stopping the run when unset,
    /// so that test traits may use it).
    public static var redisIsCluster: Bool {
        ProcessInfo.processInfo.environment["SCUTUM_TEST_REDIS_URL"].map { $0.hasPrefix("redis+cluster://") || $0.hasPrefix("rediss+cluster://") } == true
    }

    /// `redisConfiguration` for one server at `host:port` (a relay, a port that refuses): the test Redis's
    /// credentials and timeouts, never cluster mode.
    public static func redisConfiguration(host: String = "127.0.0.1", port: Int) -> RedisConfiguration {
        redisConfiguration.node(RedisEndpoint(host: host, port: port))
    }

    /// `SCUTUM_TEST_REDIS_CLUSTER_URL`: a Redis Cluster for the cluster-only tests
    /// (`deploy/local/redis-cluster.sh` starts one); nil when unset, and those tests are skipped.
    public static var redisClusterConfiguration: RedisConfiguration? {
        guard let url = ProcessInfo.processInfo.environment["SCUTUM_TEST_REDIS_CLUSTER_URL"], !url.isEmpty else {
            return nil
        }
        return testRedis(url: url, variable: "SCUTUM_TEST_REDIS_CLUSTER_URL")
    }

    /// The repository's `sql/` directory, found from this file's location.
    public static var sqlDirectory: String {
        // <repo>/Tests/ScutumTestSupport/TestEnvironment.swift
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("sql", isDirectory: true)
            .path
    }

    /// A logger for code under test; its level comes from `SCUTUM_TEST_LOG_LEVEL` (default `warning`).
    public static let logger: Logger = {
        var logger = Logger(label: "scutum.test")
        let level = ProcessInfo.processInfo.environment["SCUTUM_TEST_LOG_LEVEL"]
            .flatMap { Logger.Level(rawValue: $0.lowercased()) }
        logger.logLevel = level ?? .warning
        return logger
    }()

    /// The background logger for test `PostgresClient`s: `logger`, without postgres-nio's warning
    /// that a lease came before `run()` (a test client's first query races its `run()` task
    /// harmlessly: the lease waits for the pool to start).
    public static let poolLogger: Logger = {
        var logger = Logger(label: "scutum.test.postgres") { label in
            DroppingLogHandler(
                base: StreamLogHandler.standardError(label: label),
                dropping: "Trying to lease connection from `PostgresClient`, but `PostgresClient.run()` hasn't been called yet")
        }
        logger.logLevel = TestEnvironment.logger.logLevel
        return logger
    }()

    private static func required(_ name: String, what: String) -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            fatalError(
                """
                \(name) is not set. These tests need a real \(what) and never skip: run them with \
                `make test`, which starts PostgreSQL and Redis and sets SCUTUM_TEST_DATABASE_URL and \
                SCUTUM_TEST_REDIS_URL (or set both yourself).
                """)
        }
        return value
    }
}

/// A key prefix no other test (or test run) uses, e.g. `scutum-test:3f2a…:`.
///
/// Redis tests share one server and isolate themselves by prefix; they never `FLUSHDB`.
public func uniqueKeyPrefix() -> String {
    "scutum-test:\(UUID().uuidString.lowercased()):"
}

/// A log handler that passes everything on except messages starting with one text.
struct DroppingLogHandler: LogHandler {
    var base: any LogHandler
    let dropping: String

    func log(event: LogEvent) {
        if event.message.description.hasPrefix(dropping) { return }
        base.log(event: event)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }
}
