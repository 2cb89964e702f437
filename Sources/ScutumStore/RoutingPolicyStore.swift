import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// A routing policy: `fallback` (`{model, fallbacks}`), `model_group` (`{alias, models}`),
/// `routing_strategy` (`{strategy, args}`) or `conditional` (`{condition, source_model, redirect_to}`).
public struct RoutingPolicy: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var type: String
    public var config: JSONValue
    public var enabled: Bool
    /// Higher first when two policies say different things about the same model.
    public var priority: Int
    public var createdAt: Date?

    public init(id: UUID = UUID(), name: String, type: String, config: JSONValue, enabled: Bool = true,
        priority: Int = 0, createdAt: Date? = nil)
    {
        self.id = id
        self.name = name
        self.type = type
        self.config = config
        self.enabled = enabled
        self.priority = priority
        self.createdAt = createdAt
    }
}

/// The `routing_policies` table.
public struct RoutingPolicyStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = "id, name, type, config::text, enabled, priority, created_at"

    static func records(_ rows: PostgresRowSequence) async throws -> [RoutingPolicy] {
        var policies: [RoutingPolicy] = []
        for try await (id, name, type, config, enabled, priority, created) in rows.decode(
            (UUID, String, String, String, Bool, Int, Date).self)
        {
            policies.append(RoutingPolicy(id: id, name: name, type: type,
                config: (try? JSONParser.parse(Array(config.utf8))) ?? [:], enabled: enabled, priority: priority,
                createdAt: created))
        }
        return policies
    }

    /// Every policy, highest priority first.
    public func list() async throws -> [RoutingPolicy] {
        try await Self.records(client.query(
            "SELECT \(unescaped: Self.columns) FROM routing_policies ORDER BY priority DESC, created_at", logger: logger))
    }

    public func find(_ id: UUID) async throws -> RoutingPolicy? {
        try await Self.records(client.query(
            "SELECT \(unescaped: Self.columns) FROM routing_policies WHERE id = \(id)", logger: logger)).first
    }

    public func create(_ policy: RoutingPolicy) async throws -> RoutingPolicy {
        let rows = try await client.query(
            """
            INSERT INTO routing_policies (id, name, type, config, enabled, priority)
            VALUES (\(policy.id), \(policy.name), \(policy.type), \(policy.config.jsonString)::jsonb, \(policy.enabled),
                \(policy.priority))
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let created = try await Self.records(rows).first else {
            throw StoreError.noRowReturned("INSERT INTO routing_policies")
        }
        return created
    }

    /// Replaces a policy's fields; nil when there is no such policy.
    public func update(_ policy: RoutingPolicy) async throws -> RoutingPolicy? {
        try await Self.records(client.query(
            """
            UPDATE routing_policies SET name = \(policy.name), type = \(policy.type),
                config = \(policy.config.jsonString)::jsonb, enabled = \(policy.enabled), priority = \(policy.priority),
                updated_at = now()
            WHERE id = \(policy.id) RETURNING \(unescaped: Self.columns)
            """, logger: logger)).first
    }

    public func delete(_ id: UUID) async throws -> Bool {
        let rows = try await client.query("DELETE FROM routing_policies WHERE id = \(id) RETURNING id", logger: logger)
        for try await _ in rows { return true }
        return false
    }
}
