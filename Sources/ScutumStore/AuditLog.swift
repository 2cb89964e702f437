import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// The `audit_log` table: who changed what through the Admin API.
public struct AuditLog: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Appends an entry; text is made storable first (NUL removed, identifiers at most
    /// `String.storableIdentifierLimit` characters), as any of it may come from a request.
    public func record(actor: String, action: String, targetType: String, targetID: String?, details: JSONValue = [:])
        async throws
    {
        let (actor, action, targetType) = (actor.storableIdentifier, action.storableIdentifier, targetType.storableIdentifier)
        let targetID = targetID?.storableIdentifier
        try await client.query(
            """
            INSERT INTO audit_log (actor, action, target_type, target_id, details)
            VALUES (\(actor), \(action), \(targetType), \(targetID), \(details.storable.jsonString)::jsonb)
            """, logger: logger)
    }

    /// The latest entries, newest first.
    public func recent(limit: Int = 100) async throws -> [JSONValue] {
        let rows = try await client.query(
            """
            SELECT id, at, actor, action, target_type, target_id, details::text FROM audit_log
            ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        var entries: [JSONValue] = []
        for try await (id, at, actor, action, type, target, details) in rows.decode(
            (Int64, Date, String, String, String, String?, String).self)
        {
            entries.append([
                "id": .int(id), "at": .string(ISO8601DateFormatter().string(from: at)), "actor": .string(actor),
                "action": .string(action), "target_type": .string(type), "target_id": target.map(JSONValue.string) ?? .null,
                "details": (try? JSONParser.parse(Array(details.utf8))) ?? [:],
            ])
        }
        return entries
    }
}
