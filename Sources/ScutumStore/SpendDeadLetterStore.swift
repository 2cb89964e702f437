import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// A spend record PostgreSQL refused, kept in `spend_dead_letters` for an operator.
public struct SpendDeadLetter: Sendable, Equatable {
    public var requestID: String
    /// The record's JSON as text (its text made storable), as the writer tried to insert it.
    public var record: String
    /// What PostgreSQL answered (SQLSTATE and message).
    public var error: String
    public var at: Date

    public init(requestID: String, record: String, error: String, at: Date) {
        self.requestID = requestID
        self.record = record
        self.error = error
        self.at = at
    }
}

/// The `spend_dead_letters` table: where spend records go that `spend_logs` refuses for their data.
public struct SpendDeadLetterStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Keeps `record`, refused with `error`; returns false when a dead letter with its request id
    /// is already kept (a replayed batch), true when this call stored it.
    @discardableResult
    public func keep(_ record: SpendRecord, refusedWith error: any Error) async throws -> Bool {
        let storable = SpendLogStore.storable(record)
        let rows = try await client.query(
            """
            INSERT INTO spend_dead_letters (request_id, record, error)
            VALUES (\(storable.requestID), \(storable.json.jsonString), \(Self.describe(error)))
            ON CONFLICT (request_id) DO NOTHING
            RETURNING 1
            """, logger: logger)
        var stored = false
        for try await _ in rows { stored = true }
        return stored
    }

    /// The newest dead letters first.
    public func list(limit: Int = 100) async throws -> [SpendDeadLetter] {
        let rows = try await client.query(
            "SELECT request_id, record, error, at FROM spend_dead_letters ORDER BY at DESC, request_id LIMIT \(limit)",
            logger: logger)
        var letters: [SpendDeadLetter] = []
        for try await (id, record, error, at) in rows.decode((String, String, String, Date).self) {
            letters.append(SpendDeadLetter(requestID: id, record: record, error: error, at: at))
        }
        return letters
    }

    /// What PostgreSQL said, without the query text or its parameters: `22003: integer out of range`.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError, let info = error.serverInfo else {
            return String(reflecting: error).storable(limit: 1_000)
        }
        let state = info[.sqlState] ?? "?????"
        let message = info[.message] ?? "refused"
        return "\(state): \(message)".storable(limit: 1_000)
    }
}
