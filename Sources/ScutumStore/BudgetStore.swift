import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// The `budgets` table.
public struct BudgetStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = "id, scope, scope_id, max_budget::float8, soft_budget::float8, budget_duration, period_start"

    static func records(_ rows: PostgresRowSequence) async throws -> [BudgetRecord] {
        var budgets: [BudgetRecord] = []
        for try await (id, scope, scopeID, max, soft, duration, start) in rows.decode(
            (UUID, String, String, Double?, Double?, String?, Date).self)
        {
            guard let subject = BudgetSubject(scope: scope, id: scopeID) else { continue }
            budgets.append(BudgetRecord(id: id, subject: subject, maxBudget: max, softBudget: soft,
                duration: duration.flatMap(BudgetDuration.init(parsing:)), periodStart: start))
        }
        return budgets
    }

    public func list() async throws -> [BudgetRecord] {
        try await Self.records(client.query(
            "SELECT \(unescaped: Self.columns) FROM budgets ORDER BY scope, scope_id", logger: logger))
    }

    public func find(id: UUID) async throws -> BudgetRecord? {
        try await Self.records(client.query(
            "SELECT \(unescaped: Self.columns) FROM budgets WHERE id = \(id)", logger: logger)).first
    }

    public func find(_ subject: BudgetSubject) async throws -> BudgetRecord? {
        try await Self.records(client.query(
            "SELECT \(unescaped: Self.columns) FROM budgets WHERE scope = \(subject.scope) AND scope_id = \(subject.id)",
            logger: logger)).first
    }

    /// Creates the subject's budget, or replaces its limits; a new duration starts a new period.
    public func upsert(_ subject: BudgetSubject, maxBudget: Double?, softBudget: Double?, duration: BudgetDuration?)
        async throws -> BudgetRecord
    {
        let rows = try await client.query(
            """
            INSERT INTO budgets (scope, scope_id, max_budget, soft_budget, budget_duration)
            VALUES (\(subject.scope), \(subject.id), \(maxBudget), \(softBudget), \(duration?.text))
            ON CONFLICT (scope, scope_id) DO UPDATE SET max_budget = EXCLUDED.max_budget,
                soft_budget = EXCLUDED.soft_budget, budget_duration = EXCLUDED.budget_duration,
                period_start = CASE WHEN budgets.budget_duration IS DISTINCT FROM EXCLUDED.budget_duration
                    THEN now() ELSE budgets.period_start END,
                updated_at = now()
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let record = try await Self.records(rows).first else {
            throw StoreError.noRowReturned("INSERT INTO budgets")
        }
        return record
    }

    /// Deletes the subject's budget, if any.
    public func delete(_ subject: BudgetSubject) async throws {
        try await client.query("DELETE FROM budgets WHERE scope = \(subject.scope) AND scope_id = \(subject.id)",
            logger: logger)
    }

    /// Deletes the budgets of a team's keys (the keys themselves go with the team by cascade);
    /// returns how many.
    @discardableResult
    public func deleteKeyBudgets(ofTeam teamID: String) async throws -> Int {
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
