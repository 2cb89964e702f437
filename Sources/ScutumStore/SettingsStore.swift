import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// The single-row `settings` table: platform settings as one JSON object.
public struct SettingsStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func load() async throws -> JSONValue {
        let rows = try await client.query("SELECT value::text FROM settings WHERE id", logger: logger)
        for try await text in rows.decode(String.self) {
            return (try? JSONParser.parse(Array(text.utf8))) ?? [:]
        }
        return [:]
    }

    /// Replaces the settings object.
    public func save(_ value: JSONValue) async throws {
        try await client.query(
            """
            INSERT INTO settings (id, value) VALUES (true, \(value.jsonString)::jsonb)
            ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
            """, logger: logger)
    }
}
