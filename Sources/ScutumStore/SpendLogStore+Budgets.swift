import Foundation
import PostgresNIO
import ScutumCore

extension SpendLogStore {
    /// What `subject` spent from `from` up to (not including) `before`, in USD: the part of a budget
    /// period a rebuilt Redis counter takes from the log. One indexed range scan: `spend_logs`
    /// has `(key_id, at)`, `(team_id, at)`, `(user_id, at)` and `(at)` indexes.
    public func spend(of subject: BudgetSubject, from: Date, before: Date) async throws -> Double {
        let rows: PostgresRowSequence
        switch subject {
        case .key(let id):
            rows = try await client.query("""
                SELECT coalesce(sum(cost), 0)::float8 FROM spend_logs
                WHERE key_id = \(id.lowercased()) AND at >= \(from) AND at < \(before)
                """, logger: logger)
        case .team(let id):
            rows = try await client.query("""
                SELECT coalesce(sum(cost), 0)::float8 FROM spend_logs
                WHERE team_id = \(id) AND at >= \(from) AND at < \(before)
                """, logger: logger)
        case .user(let id):
            rows = try await client.query("""
                SELECT coalesce(sum(cost), 0)::float8 FROM spend_logs
                WHERE user_id = \(id) AND at >= \(from) AND at < \(before)
                """, logger: logger)
        case .global:
            rows = try await client.query("""
                SELECT coalesce(sum(cost), 0)::float8 FROM spend_logs WHERE at >= \(from) AND at < \(before)
                """, logger: logger)
        }
        for try await total in rows.decode(Double.self) { return total }
        return 0
    }
}
