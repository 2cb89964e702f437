import Foundation
import PostgresNIO

/// An unblocked key that has not expired yet but will within a window.
public struct ExpiringKey: Sendable, Equatable {
    public var id: UUID
    public var alias: String?
    /// The masked key (`sk-...abcd`), never the key.
    public var display: String
    public var teamID: String?
    public var expiresAt: Date

    public init(id: UUID, alias: String?, display: String, teamID: String?, expiresAt: Date) {
        self.id = id
        self.alias = alias
        self.display = display
        self.teamID = teamID
        self.expiresAt = expiresAt
    }
}

extension KeyStore {
    /// Unblocked keys expiring after now and within `window`, soonest first (at most `limit`).
    public func expiring(within window: Duration, limit: Int = 1000) async throws -> [ExpiringKey] {
        let seconds = Double(window.components.seconds)
        let rows = try await client.query("""
            SELECT id, key_alias, key_display, team_id, expires_at FROM api_keys
            WHERE NOT blocked AND expires_at > now() AND expires_at <= now() + \(seconds) * interval '1 second'
            ORDER BY expires_at LIMIT \(limit)
            """, logger: logger)
        var keys: [ExpiringKey] = []
        for try await (id, alias, display, team, expiresAt) in rows.decode((UUID, String?, String, String?, Date).self) {
            keys.append(ExpiringKey(id: id, alias: alias, display: display, teamID: team, expiresAt: expiresAt))
        }
        return keys
    }
}
