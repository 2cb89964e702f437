import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// A key as stored: everything but the key itself, which is kept only as its SHA-256.
public struct KeyRecord: Sendable, Equatable {
    public var id: UUID
    public var keyHash: String
    public var display: String
    public var alias: String?
    public var role: KeyRole
    public var blocked: Bool
    public var expiresAt: Date?
    public var settings: KeySettings
    public var createdAt: Date?

    /// The id as the rest of the gateway spells it (lower-case UUID text): budgets, spend logs, the proxy.
    public var keyID: String { id.wire }

    public init(id: UUID, keyHash: String, display: String, alias: String?, role: KeyRole, blocked: Bool,
        expiresAt: Date?, settings: KeySettings = KeySettings(), createdAt: Date? = nil)
    {
        self.id = id
        self.keyHash = keyHash
        self.display = display
        self.alias = alias
        self.role = role
        self.blocked = blocked
        self.expiresAt = expiresAt
        self.settings = settings
        self.createdAt = createdAt
    }
}

/// What an operator sets on a key besides its alias and role.
public struct KeySettings: Sendable, Equatable {
    public var teamID: String?
    public var userID: String?
    /// Models the key may call; empty means every model (within its team's list).
    public var models: [String]
    public var rpmLimit: Int?
    public var tpmLimit: Int?
    public var maxParallelRequests: Int?
    /// A JSON object, as text.
    public var metadata: String
    /// Inherit the team's guardrail profiles, opt out, or add profiles of its own.
    public var guardrails: KeyGuardrails

    public init(teamID: String? = nil, userID: String? = nil, models: [String] = [], rpmLimit: Int? = nil,
        tpmLimit: Int? = nil, maxParallelRequests: Int? = nil, metadata: String = "{}",
        guardrails: KeyGuardrails = .inherit)
    {
        self.teamID = teamID
        self.userID = userID
        self.models = models
        self.rpmLimit = rpmLimit
        self.tpmLimit = tpmLimit
        self.maxParallelRequests = maxParallelRequests
        self.metadata = metadata
        self.guardrails = guardrails
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

    static let columns = """
        id, key_hash, key_display, key_alias, role, blocked, expires_at, team_id, user_id, models, rpm_limit,
        tpm_limit, max_parallel_requests, metadata::text, guardrails::text, created_at
        """

    static func records(_ rows: PostgresRowSequence) async throws -> [KeyRecord] {
        var records: [KeyRecord] = []
        for try await (id, hash, display, alias, role, blocked, expiresAt, team, user, models, rpm, tpm, parallel,
            metadata, guardrails, created) in rows.decode(
                (UUID, String, String, String?, String, Bool, Date?, String?, String?, [String], Int?, Int?, Int?,
                    String, String, Date).self)
        {
            records.append(KeyRecord(id: id, keyHash: hash, display: display, alias: alias, role: KeyRole(rawValue: role) ?? .user, blocked: blocked,
                expiresAt: expiresAt,
                settings: KeySettings(teamID: team, userID: user, models: models, rpmLimit: rpm, tpmLimit: tpm,
                    maxParallelRequests: parallel, metadata: metadata,
                    guardrails: KeyGuardrails(json: (try? JSONParser.parse(Array(guardrails.utf8))) ?? "inherit")),
                createdAt: created))
        }
        return records
    }

    /// The key with this SHA-256 hash, blocked or not.
    public func find(hash: String) async throws -> KeyRecord? {
        let rows = try await client.query("SELECT \(unescaped: Self.columns) FROM api_keys WHERE key_hash = \(hash)",
            logger: logger)
        return try await Self.records(rows).first
    }

    /// The key with this id.
    public func find(id: UUID) async throws -> KeyRecord? {
        let rows = try await client.query("SELECT \(unescaped: Self.columns) FROM api_keys WHERE id = \(id)",
            logger: logger)
        return try await Self.records(rows).first
    }

    /// Creates a key and returns its plaintext (shown once) with the stored record.
    public func create(alias: String?, role: KeyRole = .user, expiresAt: Date? = nil,
        settings: KeySettings = KeySettings()) async throws -> (key: String, record: KeyRecord)
    {
        let key = APIKey.generate()
        let hash = APIKey.hash(key)
        let display = APIKey.display(key)
        let rows = try await client.query(
            """
            INSERT INTO api_keys (key_hash, key_display, key_alias, role, expires_at, team_id, user_id, models,
                rpm_limit, tpm_limit, max_parallel_requests, metadata, guardrails)
            VALUES (\(hash), \(display), \(alias), \(role.rawValue), \(expiresAt), \(settings.teamID), \(settings.userID),
                \(settings.models), \(settings.rpmLimit), \(settings.tpmLimit), \(settings.maxParallelRequests),
                \(settings.metadata)::jsonb, \(settings.guardrails.json.jsonString)::jsonb)
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let record = try await Self.records(rows).first else {
            throw StoreError.noRowReturned("INSERT INTO api_keys")
        }
        return (key, record)
    }

    /// Replaces a key's alias, role, expiry and settings; nil when there is no such key.
    public func update(_ record: KeyRecord) async throws -> KeyRecord? {
        let settings = record.settings
        let rows = try await client.query(
            """
            UPDATE api_keys SET key_alias = \(record.alias), role = \(record.role.rawValue), blocked = \(record.blocked),
                expires_at = \(record.expiresAt), team_id = \(settings.teamID), user_id = \(settings.userID),
                models = \(settings.models), rpm_limit = \(settings.rpmLimit), tpm_limit = \(settings.tpmLimit),
                max_parallel_requests = \(settings.maxParallelRequests), metadata = \(settings.metadata)::jsonb,
                guardrails = \(settings.guardrails.json.jsonString)::jsonb, updated_at = now()
            WHERE id = \(record.id)
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        return try await Self.records(rows).first
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

    /// Every key, newest first (never the plaintext); only a team's when `teamID` is given.
    public func list(teamID: String? = nil) async throws -> [KeyRecord] {
        let rows: PostgresRowSequence
        if let teamID {
            rows = try await client.query(
                "SELECT \(unescaped: Self.columns) FROM api_keys WHERE team_id = \(teamID) ORDER BY created_at DESC",
                logger: logger)
        } else {
            rows = try await client.query("SELECT \(unescaped: Self.columns) FROM api_keys ORDER BY created_at DESC",
                logger: logger)
        }
        return try await Self.records(rows)
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
