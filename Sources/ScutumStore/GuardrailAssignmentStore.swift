import Foundation
import Logging
import PostgresNIO

/// A guardrail profile applied to a team, with the names an operator reads.
public struct GuardrailAssignment: Sendable, Equatable {
    public var id: UUID
    public var teamID: String
    /// The team's alias.
    public var teamName: String
    public var configID: UUID
    public var configName: String
    /// Lower runs first within the team.
    public var priority: Int
    public var createdAt: Date?

    public init(id: UUID, teamID: String, teamName: String, configID: UUID, configName: String, priority: Int,
        createdAt: Date? = nil)
    {
        self.id = id
        self.teamID = teamID
        self.teamName = teamName
        self.configID = configID
        self.configName = configName
        self.priority = priority
        self.createdAt = createdAt
    }
}

/// The `guardrail_assignments` table. Every change notifies `scutum_invalidate` with kind `guardrail`;
/// deleting a team or a profile deletes its assignments.
public struct GuardrailAssignmentStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    /// Priorities run from 0 (first) to this.
    public static let priorities = 0...1_000_000

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let joined = """
        SELECT a.id, a.team_id, t.team_alias, a.guardrail_config_id, c.name, a.priority, a.created_at
        FROM assigned a JOIN teams t ON t.team_id = a.team_id JOIN guardrail_configs c ON c.id = a.guardrail_config_id
        """

    static func records(_ rows: PostgresRowSequence) async throws -> [GuardrailAssignment] {
        var assignments: [GuardrailAssignment] = []
        for try await (id, team, teamName, config, configName, priority, created) in rows.decode(
            (UUID, String, String, UUID, String, Int, Date).self)
        {
            assignments.append(GuardrailAssignment(id: id, teamID: team, teamName: teamName, configID: config,
                configName: configName, priority: priority, createdAt: created))
        }
        return assignments
    }

    /// Applies a profile to a team, or changes the priority of an existing assignment. The team and
    /// the profile must exist (SQLSTATE 23503 otherwise).
    public func assign(configID: UUID, teamID: String, priority: Int = 0) async throws -> GuardrailAssignment {
        let rows = try await client.query(
            """
            WITH assigned AS (
                INSERT INTO guardrail_assignments (team_id, guardrail_config_id, priority)
                VALUES (\(teamID), \(configID), \(priority))
                ON CONFLICT (team_id, guardrail_config_id) DO UPDATE SET priority = EXCLUDED.priority
                RETURNING *
            )
            \(unescaped: Self.joined)
            """, logger: logger)
        guard let assignment = try await Self.records(rows).first else {
            throw StoreError.noRowReturned("INSERT INTO guardrail_assignments")
        }
        return assignment
    }

    /// Removes a profile from a team; false when it was not assigned.
    public func unassign(configID: UUID, teamID: String) async throws -> Bool {
        let rows = try await client.query(
            """
            DELETE FROM guardrail_assignments WHERE team_id = \(teamID) AND guardrail_config_id = \(configID)
            RETURNING id
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }

    /// Every assignment (or one team's), by team, then priority, then profile name.
    public func list(teamID: String? = nil) async throws -> [GuardrailAssignment] {
        try await Self.records(client.query(
            """
            WITH assigned AS (SELECT * FROM guardrail_assignments WHERE team_id = \(teamID) OR \(teamID)::text IS NULL)
            \(unescaped: Self.joined)
            ORDER BY a.team_id, a.priority, c.name
            """, logger: logger))
    }
}
