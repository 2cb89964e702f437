import PostgresNIO
import ScutumStore

/// Makes a test database unreachable for every client while `body` runs, as a PostgreSQL outage
/// would: new connections are refused (`ALLOW_CONNECTIONS false`) and open ones are terminated. The
/// database takes connections again afterwards, whether `body` returns or throws.
///
/// Only for databases made by `withTestDatabase` (the name is used in SQL as it is).
public func withDatabaseOutage<T>(
    _ database: DatabaseConfiguration,
    isolation: isolated (any Actor)? = #isolation,
    _ body: () async throws -> T
) async throws -> T {
    let name = database.database
    precondition(name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "not a test database: \(name)")
    let admin = try DatabaseConfiguration(url: TestEnvironment.databaseURL)
    try await withRunningClient(admin.clientConfiguration(maximumConnections: 1)) { client in
        _ = try await client.query(PostgresQuery(unsafeSQL: #"ALTER DATABASE "\#(name)" ALLOW_CONNECTIONS false"#),
            logger: TestEnvironment.logger)
        let terminated = try await client.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(name) AND pid <> pg_backend_pid()",
            logger: TestEnvironment.logger)
        for try await _ in terminated {}
    }
    let outcome: Result<T, any Error>
    do {
        outcome = .success(try await body())
    } catch {
        outcome = .failure(error)
    }
    try await withRunningClient(admin.clientConfiguration(maximumConnections: 1)) { client in
        _ = try await client.query(PostgresQuery(unsafeSQL: #"ALTER DATABASE "\#(name)" ALLOW_CONNECTIONS true"#),
            logger: TestEnvironment.logger)
    }
    return try outcome.get()
}
