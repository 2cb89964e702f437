import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// A spending limit on a key, a team, a user, or everything.
public struct BudgetRecord: Sendable, Equatable {
    public var id: UUID
    public var subject: BudgetSubject
    /// Hard limit in USD per period: requests are refused once spend reaches it.
    public var maxBudget: Double?
    /// Alert threshold in USD: crossing it is logged, requests keep being served.
    public var softBudget: Double?
    /// How long a period lasts (`30d`, `monthly`...); nil for one period that never resets.
    public var duration: BudgetDuration?
    /// When the first period began; later periods follow from `duration`.
    public var periodStart: Date

    public init(id: UUID, subject: BudgetSubject, maxBudget: Double?, softBudget: Double?, duration: BudgetDuration?,
        periodStart: Date)
    {
        self.id = id
        self.subject = subject
        self.maxBudget = maxBudget
        self.softBudget = softBudget
        self.duration = duration
        self.periodStart = periodStart
    }

    /// The period `date` falls in.
    public func period(at date: Date) -> (start: Date, end: Date?) {
        duration?.period(containing: date, from: periodStart) ?? (periodStart, nil)
    }
}

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
}

/// What a budget limits.
public enum BudgetSubject: Sendable, Hashable, CustomStringConvertible {
    /// A key, by its id.
    case key(String)
    case team(String)
    case user(String)
    case global

    public init?(scope: String, id: String) {
        switch scope {
        case "key" where !id.isEmpty: self = .key(id)
        case "team" where !id.isEmpty: self = .team(id)
        case "user" where !id.isEmpty: self = .user(id)
        case "global": self = .global
        default: return nil
        }
    }

    public var scope: String {
        switch self {
        case .key: "key"
        case .team: "team"
        case .user: "user"
        case .global: "global"
        }
    }

    public var id: String {
        switch self {
        case .key(let id), .team(let id), .user(let id): id
        case .global: ""
        }
    }

    public var description: String { self == .global ? "global" : "\(scope) '\(id)'" }
}
