import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// What the proxy knows about a key once it is authenticated.
public struct KeyRecord: Sendable, Equatable {
    public var id: UUID
    public var keyHash: String
    public var display: String
    public var alias: String?
    public var role: String
    public var blocked: Bool
    public var expiresAt: Date?

    public init(id: UUID, keyHash: String, display: String, alias: String?, role: String, blocked: Bool,
        expiresAt: Date?)
    {
        self.id = id
        self.keyHash = keyHash
        self.display = display
        self.alias = alias
        self.role = role
        self.blocked = blocked
        self.expiresAt = expiresAt
    }
}

/// The `api_keys` table.
public struct KeyStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The key with this SHA-256 hash, blocked or not.
    public func find(hash: String) async throws -> KeyRecord? {
        let rows = try await client.query(
            """
            SELECT id, key_hash, key_display, key_alias, role, blocked, expires_at
            FROM api_keys WHERE key_hash = \(hash)
            """, logger: logger)
        for try await (id, keyHash, display, alias, role, blocked, expiresAt) in rows.decode(
            (UUID, String, String, String?, String, Bool, Date?).self)
        {
            return KeyRecord(id: id, keyHash: keyHash, display: display, alias: alias, role: role, blocked: blocked,
                expiresAt: expiresAt)
        }
        return nil
    }

    /// Creates a key and returns its plaintext (shown once) with the stored record.
    public func create(alias: String?, role: String = "user", expiresAt: Date? = nil) async throws
        -> (key: String, record: KeyRecord)
    {
        let key = APIKey.generate()
        let hash = APIKey.hash(key)
        let display = APIKey.display(key)
        let rows = try await client.query(
            """
            INSERT INTO api_keys (key_hash, key_display, key_alias, role, expires_at)
            VALUES (\(hash), \(display), \(alias), \(role), \(expiresAt))
            RETURNING id
            """, logger: logger)
        var id: UUID?
        for try await value in rows.decode(UUID.self) { id = value }
        guard let id else { throw StoreError.noRowReturned("INSERT INTO api_keys") }
        return (key, KeyRecord(id: id, keyHash: hash, display: display, alias: alias, role: role, blocked: false,
            expiresAt: expiresAt))
    }

    /// Blocks or unblocks a key; returns whether it existed.
    @discardableResult
    public func setBlocked(hash: String, _ blocked: Bool) async throws -> Bool {
        let rows = try await client.query(
            "UPDATE api_keys SET blocked = \(blocked), updated_at = now() WHERE key_hash = \(hash) RETURNING id",
            logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Deletes a key; returns whether it existed.
    @discardableResult
    public func delete(hash: String) async throws -> Bool {
        let rows = try await client.query("DELETE FROM api_keys WHERE key_hash = \(hash) RETURNING id", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Every key, newest first (never the plaintext).
    public func list() async throws -> [KeyRecord] {
        let rows = try await client.query(
            """
            SELECT id, key_hash, key_display, key_alias, role, blocked, expires_at
            FROM api_keys ORDER BY created_at DESC
            """, logger: logger)
        var records: [KeyRecord] = []
        for try await (id, keyHash, display, alias, role, blocked, expiresAt) in rows.decode(
            (UUID, String, String, String?, String, Bool, Date?).self)
        {
            records.append(KeyRecord(id: id, keyHash: keyHash, display: display, alias: alias, role: role,
                blocked: blocked, expiresAt: expiresAt))
        }
        return records
    }
}

/// Failures of the store that PostgreSQL itself does not report.
public enum StoreError: Error, CustomStringConvertible {
    case noRowReturned(String)

    public var description: String {
        switch self {
        case .noRowReturned(let statement): "\(statement) returned no row"
        }
    }
}
