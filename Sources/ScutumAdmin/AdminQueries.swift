import Foundation
import Logging
import PostgresNIO
import ScutumCore

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
