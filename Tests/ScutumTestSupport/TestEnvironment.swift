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

    /// `SCUTUM_TEST_REDIS_URL`: the test Redis, e.g. `redis://127.0.0.1:6379/0`.
    public static var redisURL: String { required("SCUTUM_TEST_REDIS_URL", what: "Redis") }

    /// The test Redis as a client configuration, with timeouts generous enough for a loaded CI machine.
    public static var redisConfiguration: RedisConfiguration {
        let url = redisURL
        do {
            var configuration = try RedisConfiguration(url: url)
            configuration.commandTimeout = .seconds(5)
            configuration.connectTimeout = .seconds(2)
            return configuration
        } catch {
            fatalError("SCUTUM_TEST_REDIS_URL '\(url)' is not a redis:// URL: \(error)")
        }
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
