import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// A guardrail profile. `config` holds the detector settings as the Admin API validated them
/// (`enable_pii_detection`, `pii_action`, `pii_entities`, `enable_secrets_detection`,
/// `enable_prompt_injection`, `prompt_injection_threshold`, `enable_invisible_text`, `banned_topics`,
/// `enable_malicious_urls`, `max_input_tokens`); the detectors module parses it.
public struct GuardrailConfig: Sendable, Equatable {
    /// Which side of a request the profile checks.
    public enum Mode: String, Sendable, CaseIterable {
        case input, output, both

        public var checksInput: Bool { self != .output }
        public var checksOutput: Bool { self != .input }
    }

    /// What a hit does: refuse the request (or response), or let it through and record an event.
    public enum OnFail: String, Sendable, CaseIterable {
        case block, log
    }

    public var id: UUID
    public var name: String
    public var description: String?
    public var config: JSONValue
    public var mode: Mode
    public var onFail: OnFail
    /// The profile for keys whose team has no assignment; at most one profile is the default.
    public var isDefault: Bool
    public var isActive: Bool
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(id: UUID = UUID(), name: String, description: String? = nil, config: JSONValue = [:],
        mode: Mode = .both, onFail: OnFail = .block, isDefault: Bool = false, isActive: Bool = true,
        createdAt: Date? = nil, updatedAt: Date? = nil)
    {
        self.id = id
        self.name = name
        self.description = description
        self.config = config
        self.mode = mode
        self.onFail = onFail
        self.isDefault = isDefault
        self.isActive = isActive
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The `guardrail_configs` table. Every change notifies `scutum_invalidate` with kind `guardrail`.
public struct GuardrailConfigStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = "id, name, description, config::text, mode, on_fail, is_default, is_active, created_at, updated_at"

    static func records(_ rows: PostgresRowSequence) async throws -> [GuardrailConfig] {
        var configs: [GuardrailConfig] = []
        for try await (id, name, description, config, mode, onFail, isDefault, active, created, updated) in rows.decode(
            (UUID, String, String?, String, String, String, Bool, Bool, Date, Date).self)
        {
            configs.append(GuardrailConfig(id: id, name: name, description: description,
                config: (try? JSONParser.parse(Array(config.utf8))) ?? [:], mode: .init(rawValue: mode) ?? .both,
                onFail: .init(rawValue: onFail) ?? .block, isDefault: isDefault, isActive: active, createdAt: created,
                updatedAt: updated))
        }
        return configs
    }

    /// Every profile, by name.
    public func list() async throws -> [GuardrailConfig] {
        try await Self.records(client.query(
            "SELECT \(unescaped: Self.columns) FROM guardrail_configs ORDER BY name", logger: logger))
    }

    public func find(_ id: UUID) async throws -> GuardrailConfig? {
        try await Self.records(client.query(
            "SELECT \(unescaped: Self.columns) FROM guardrail_configs WHERE id = \(id)", logger: logger)).first
    }

    public func find(name: String) async throws -> GuardrailConfig? {
        try await Self.records(client.query(
            "SELECT \(unescaped: Self.columns) FROM guardrail_configs WHERE name = \(name)", logger: logger)).first
    }

    /// The default profile, active or not; nil when none is marked default.
    public func defaultConfig() async throws -> GuardrailConfig? {
        try await Self.records(client.query(
            "SELECT \(unescaped: Self.columns) FROM guardrail_configs WHERE is_default", logger: logger)).first
    }

    /// Inserts a profile. A new default takes the mark from the previous one in the same transaction.
    public func create(_ config: GuardrailConfig) async throws -> GuardrailConfig {
        try await client.withTransaction(logger: logger) { connection in
            if config.isDefault { try await Self.clearDefault(except: config.id, on: connection, logger: logger) }
            let rows = try await connection.query(
                """
                INSERT INTO guardrail_configs (id, name, description, config, mode, on_fail, is_default, is_active)
                VALUES (\(config.id), \(config.name), \(config.description), \(config.config.jsonString)::jsonb,
                    \(config.mode.rawValue), \(config.onFail.rawValue), \(config.isDefault), \(config.isActive))
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            guard let created = try await Self.records(rows).first else {
                throw StoreError.noRowReturned("INSERT INTO guardrail_configs")
            }
            return created
        }
    }

    /// Replaces a profile's fields; nil when there is no such profile. Becoming the default takes
    /// the mark from the previous default in the same transaction.
    public func update(_ config: GuardrailConfig) async throws -> GuardrailConfig? {
        try await client.withTransaction(logger: logger) { connection in
            if config.isDefault { try await Self.clearDefault(except: config.id, on: connection, logger: logger) }
            let rows = try await connection.query(
                """
                UPDATE guardrail_configs SET name = \(config.name), description = \(config.description),
                    config = \(config.config.jsonString)::jsonb, mode = \(config.mode.rawValue),
                    on_fail = \(config.onFail.rawValue), is_default = \(config.isDefault), is_active = \(config.isActive),
                    updated_at = now()
                WHERE id = \(config.id) RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            return try await Self.records(rows).first
        }
    }

    /// Deletes a profile and, by cascade, its assignments; false when there was none.
    public func delete(_ id: UUID) async throws -> Bool {
        let rows = try await client.query("DELETE FROM guardrail_configs WHERE id = \(id) RETURNING id", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    static func clearDefault(except id: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE guardrail_configs SET is_default = false, updated_at = now() WHERE is_default AND id <> \(id)",
            logger: logger)
    }
}
