import Foundation
import Logging
import PostgresNIO

/// Everything a proxy node needs to pick a request's guardrail profiles, read at one instant: the
/// active profiles, each team's assignments in priority order, and the default profile. A node keeps
/// one in memory and loads a new one when NOTIFY `scutum_invalidate` says `{"kind": "guardrail"}`.
/// Inactive profiles are left out, and so are assignments to them.
public struct GuardrailSnapshot: Sendable, Equatable {
    /// Active profiles by id.
    public var configs: [UUID: GuardrailConfig]
    /// Each team's active profiles, lowest priority number first (ties by profile name).
    public var assignments: [String: [UUID]]
    /// The default profile, when one is marked default and active.
    public var defaultConfigID: UUID?

    public init(configs: [UUID: GuardrailConfig] = [:], assignments: [String: [UUID]] = [:],
        defaultConfigID: UUID? = nil)
    {
        self.configs = configs
        self.assignments = assignments
        self.defaultConfigID = defaultConfigID
    }

    /// No profiles at all.
    public static let empty = GuardrailSnapshot()

    /// A team's profiles in order: its assignments, or the default profile when it has none (or
    /// there is no team).
    public func configs(forTeam teamID: String?) -> [GuardrailConfig] {
        if let teamID, let ids = assignments[teamID], !ids.isEmpty { return ids.compactMap { configs[$0] } }
        return defaultConfigID.flatMap { configs[$0] }.map { [$0] } ?? []
    }

    /// A key's profiles in order: none when it opted out, else its team's (or the default), then
    /// its own extra profiles that are active and not already there.
    public func configs(forTeam teamID: String?, key: KeyGuardrails) -> [GuardrailConfig] {
        switch key {
        case .off:
            return []
        case .inherit:
            return configs(forTeam: teamID)
        case .extra(let ids):
            var result = configs(forTeam: teamID)
            var seen = Set(result.map(\.id))
            for id in ids where !seen.contains(id) {
                guard let config = configs[id] else { continue }
                result.append(config)
                seen.insert(id)
            }
            return result
        }
    }

    /// Reads the current snapshot in one read-only, repeatable-read transaction, so profiles and
    /// assignments agree with each other.
    public static func load(client: PostgresClient, logger: Logger) async throws -> GuardrailSnapshot {
        try await client.withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                let snapshot = try await read(connection, logger: logger)
                try await connection.query("COMMIT", logger: logger)
                return snapshot
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    static func read(_ connection: PostgresConnection, logger: Logger) async throws -> GuardrailSnapshot {
        let active = try await GuardrailConfigStore.records(connection.query(
            "SELECT \(unescaped: GuardrailConfigStore.columns) FROM guardrail_configs WHERE is_active",
            logger: logger))
        var snapshot = GuardrailSnapshot(configs: Dictionary(uniqueKeysWithValues: active.map { ($0.id, $0) }),
            defaultConfigID: active.first(where: \.isDefault)?.id)
        let rows = try await connection.query(
            """
            SELECT a.team_id, a.guardrail_config_id FROM guardrail_assignments a
            JOIN guardrail_configs c ON c.id = a.guardrail_config_id
            WHERE c.is_active ORDER BY a.team_id, a.priority, c.name
            """, logger: logger)
        for try await (team, config) in rows.decode((String, UUID).self) {
            snapshot.assignments[team, default: []].append(config)
        }
        return snapshot
    }
}
