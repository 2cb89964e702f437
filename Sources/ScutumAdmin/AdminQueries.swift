import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// One row of `guardrail_assignments`.
struct GuardrailAssignment: Sendable, Equatable {
    var id: UUID
    var teamID: String
    var guardrail: String
    var createdAt: Date

    var json: JSONValue {
        ["id": .string(id.uuidString.lowercased()), "team_id": .string(teamID), "guardrail": .string(guardrail),
            "created_at": .optional(createdAt)]
    }
}

/// Reads `guardrail_assignments` (ScutumStore has no store for it yet).
struct GuardrailAssignmentStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    func list() async throws -> [GuardrailAssignment] {
        let rows = try await client.query(
            "SELECT id, team_id, guardrail, created_at FROM guardrail_assignments ORDER BY team_id, guardrail",
            logger: logger)
        var assignments: [GuardrailAssignment] = []
        for try await (id, team, guardrail, created) in rows.decode((UUID, String, String, Date).self) {
            assignments.append(GuardrailAssignment(id: id, teamID: team, guardrail: guardrail, createdAt: created))
        }
        return assignments
    }
}

/// Clean-ups the stores do not do themselves.
struct AdminCleanup: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// Deletes the budgets of a team's keys (the keys themselves go with the team by cascade);
    /// returns how many.
    @discardableResult
    func deleteKeyBudgets(ofTeam teamID: String) async throws -> Int {
        let rows = try await client.query(
            """
            DELETE FROM budgets WHERE scope = 'key'
                AND scope_id IN (SELECT id::text FROM api_keys WHERE team_id = \(teamID)) RETURNING id
            """, logger: logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }
}
