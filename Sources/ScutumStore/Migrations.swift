import Foundation
import Logging
import PostgresNIO

/// One numbered file from `sql/`: `0001_keys.sql` is version 1, named `keys`.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Reads every `NNNN_name.sql` in `directory`, ordered by version.
    public static func load(from directory: String) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }
        var migrations: [Migration] = []
        for file in files {
            let stem = file.dropLast(4)
            let parts = stem.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, let version = Int(parts[0]) else {
                throw MigrationError.badFileName(file)
            }
            let sql = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            migrations.append(Migration(version: version, name: String(parts[1]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (previous, next) in zip(migrations, migrations.dropFirst()) where previous.version == next.version {
            throw MigrationError.duplicateVersion(next.version)
        }
        return migrations
    }
}

public enum MigrationError: Error, CustomStringConvertible {
    case badFileName(String)
    case duplicateVersion(Int)
    case failed(version: Int, name: String, underlying: String)

    public var description: String {
        switch self {
        case .badFileName(let file): "migration file \(file) is not named NNNN_name.sql"
        case .duplicateVersion(let version): "two migrations have version \(version)"
        case .failed(let version, let name, let underlying): "migration \(version) (\(name)) failed: \(underlying)"
        }
    }
}

/// Applies pending migrations, each in its own transaction under a transaction-scoped PostgreSQL
/// advisory lock (`pg_advisory_xact_lock`), so that several nodes starting at once apply each
/// migration exactly once. Nothing outlives a transaction (no session lock, no session setting),
/// so migrations run as well through PgBouncer in transaction pooling as on a direct connection.
public struct MigrationRunner: Sendable {
    /// The advisory lock key all nodes agree on ("scutum" in ASCII).
    static let lockKey: Int64 = 0x7363_7574_756D
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Applies what is pending and returns the versions it applied.
    @discardableResult
    public func migrate(_ migrations: [Migration]) async throws -> [Int] {
        try await client.withConnection { connection in
            try await locked(on: connection) {
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version integer PRIMARY KEY,
                        name text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """, logger: logger)
            }
            var applied: [Int] = []
            for migration in migrations {
                let didApply = try await locked(on: connection) {
                    // Read under the lock: another node may have applied it while this one waited.
                    let rows = try await connection.query(
                        "SELECT 1 FROM schema_migrations WHERE version = \(migration.version)", logger: logger)
                    for try await _ in rows { return false }
                    do {
                        for statement in SQLScript.statements(migration.sql) {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await connection.query(
                            "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                            logger: logger)
                    } catch {
                        throw MigrationError.failed(version: migration.version, name: migration.name,
                            underlying: String(reflecting: error))
                    }
                    return true
                }
                if didApply {
                    logger.info("applied migration",
                        metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                    applied.append(migration.version)
                }
            }
            return applied
        }
    }

    /// Runs `body` in one transaction holding the migration lock until its `COMMIT` or `ROLLBACK`.
    @discardableResult
    private func locked<T: Sendable>(on connection: PostgresConnection,
        _ body: () async throws -> T) async throws -> T
    {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            let result = try await body()
            try await connection.query("COMMIT", logger: logger)
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
