import Foundation
import Logging
import PostgresNIO
import ScutumRedis
import ScutumStore

/// Creates a uniquely named, empty database, runs `body` with a running `PostgresClient` connected
/// to it and the database's configuration, then drops the database (`WITH (FORCE)`, so connections
/// `body` opened elsewhere do not keep it alive). Does not migrate: see `withMigratedDatabase`.
///
/// The database is dropped whether `body` returns or throws.
public func withTestDatabase<T>(
    isolation: isolated (any Actor)? = #isolation,
    _ body: (PostgresClient, DatabaseConfiguration) async throws -> T
) async throws -> T {
    let admin = try DatabaseConfiguration(url: TestEnvironment.databaseURL)
    let name = "scutum_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    // A database name cannot be a bound parameter; this one is ours, made of [a-z0-9_].
    try await withRunningClient(admin.clientConfiguration(maximumConnections: 1)) { client in
        _ = try await client.query(PostgresQuery(unsafeSQL: #"CREATE DATABASE "\#(name)""#),
            logger: TestEnvironment.logger)
    }
    var database = admin
    database.database = name

    let outcome: Result<T, any Error>
    do {
        let value = try await withRunningClient(database.clientConfiguration(maximumConnections: 10)) { client in
            try await body(client, database)
        }
        outcome = .success(value)
    } catch {
        outcome = .failure(error)
    }

    do {
        // In a task of its own, so that a cancelled test (a time limit, say) still drops its database.
        try await Task {
            try await withRunningClient(admin.clientConfiguration(maximumConnections: 1)) { client in
                _ = try await client.query(
                    PostgresQuery(unsafeSQL: #"DROP DATABASE IF EXISTS "\#(name)" WITH (FORCE)"#),
                    logger: TestEnvironment.logger)
            }
        }.value
    } catch {
        // The body's own failure says more than a failed clean-up.
        if case .failure = outcome {
            TestEnvironment.logger.error("could not drop test database \(name): \(String(reflecting: error))")
        } else {
            throw error
        }
    }
    return try outcome.get()
}

/// Like `withTestDatabase`, with every migration in `sql/` applied first.
public func withMigratedDatabase<T>(
    isolation: isolated (any Actor)? = #isolation,
    _ body: (PostgresClient, DatabaseConfiguration) async throws -> T
) async throws -> T {
    try await withTestDatabase { client, database in
        let migrations = try Migration.load(from: TestEnvironment.sqlDirectory)
        try await MigrationRunner(client: client, logger: TestEnvironment.logger).migrate(migrations)
        return try await body(client, database)
    }
}

/// Runs `body` with a `PostgresClient` whose `run()` is going in a child task, cancelled afterwards.
///
/// `PostgresClient.run()` may be called once per instance, so every call makes a new client.
public func withRunningClient<T>(
    _ configuration: PostgresClient.Configuration,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (PostgresClient) async throws -> T
) async throws -> T {
    let client = PostgresClient(configuration: configuration, backgroundLogger: TestEnvironment.poolLogger)
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

/// A `RedisClient` for the test Redis (`TestEnvironment.redisConfiguration` unless given), checked
/// with a `PING` before `body` runs and closed afterwards.
///
/// Tests isolate themselves by key prefix (`uniqueKeyPrefix()`); never `FLUSHDB` the shared server.
public func withTestRedis<T>(
    configuration: RedisConfiguration? = nil,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (RedisClient) async throws -> T
) async throws -> T {
    let client = RedisClient(configuration: configuration ?? TestEnvironment.redisConfiguration,
        logger: TestEnvironment.logger)
    do {
        try await client.ping()
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}

/// `withTestRedis` with a fresh key prefix (`uniqueKeyPrefix()`); every key under the prefix is
/// deleted afterwards, whether `body` returns or throws.
public func withTestRedisKeys<T>(
    configuration: RedisConfiguration? = nil,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (RedisClient, String) async throws -> T
) async throws -> T {
    let prefix = uniqueKeyPrefix()
    let outcome: Result<T, any Error>
    do {
        outcome = .success(try await withTestRedis(configuration: configuration) { redis in try await body(redis, prefix) })
    } catch {
        outcome = .failure(error)
    }
    // With a client of its own: the body's may have been closed or broken on purpose.
    try await withTestRedis { redis in try await deleteKeys(withPrefix: prefix, using: redis) }
    return try outcome.get()
}

/// Deletes every key that starts with `prefix` (SCAN + UNLINK; in a Redis Cluster, SCAN on every master,
/// UNLINK routed by slot); `prefix` must hold no glob characters.
public func deleteKeys(withPrefix prefix: String, using redis: RedisClient) async throws {
    precondition(!prefix.contains(where: { "*?[]\\".contains($0) }), "glob characters in key prefix \(prefix)")
    for server in try await redis.masters() {
        var cursor = "0"
        repeat {
            let reply = try await server.send(["SCAN", RedisArgument(cursor), "MATCH", RedisArgument(prefix + "*"),
                "COUNT", 1000])
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let keys = parts[1].array else {
                throw RedisClientError.protocolError("unexpected SCAN reply \(reply)")
            }
            let arguments = keys.compactMap { key -> RedisArgument? in
                if case .bulkString(let bytes) = key { return RedisArgument(bytes: bytes) }
                return nil
            }
            if !arguments.isEmpty { try await redis.send(["UNLINK"] + arguments) }
            cursor = next
        } while cursor != "0"
    }
}

extension DatabaseConfiguration {
    /// The pool configuration with a smaller pool, so that many tests running in parallel stay
    /// within the server's `max_connections`.
    func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        var configuration = clientConfiguration
        configuration.options.maximumConnections = maximumConnections
        return configuration
    }
}

/// The keys matching `pattern` (`KEYS`, on every master of a Redis Cluster), binary keys as UTF-8.
public func redisKeys(matching pattern: String, using redis: RedisClient) async throws -> [String] {
    var keys: [String] = []
    for server in try await redis.masters() {
        keys += try await server.send(["KEYS", RedisArgument(pattern)]).array?.compactMap(\.string) ?? []
    }
    return keys
}
