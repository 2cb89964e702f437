import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// The `alerts` table: each alert recorded once (by its dedup key), and how its delivery went.
public struct AlertStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = """
        id, kind, subject, dedup_key, message, details::text, created_at, status, attempts, last_error,
        next_attempt_at, delivered_at
        """

    /// Records `event` unless an alert with its dedup key exists; the new alert's id, or nil.
    @discardableResult
    public func record(_ event: AlertEvent) async throws -> Int64? {
        let rows = try await client.query("""
            INSERT INTO alerts (kind, subject, dedup_key, message, details)
            VALUES (\(event.kind.rawValue), \(event.subject.storable(limit: 512)), \(event.dedupKey.storable(limit: 512)),
                \(event.message.storable(limit: 2048)), \(event.details.storable.jsonString)::jsonb)
            ON CONFLICT (dedup_key) DO NOTHING RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        return nil
    }

    /// Pending alerts whose next attempt is due, oldest first.
    public func due(limit: Int = 50) async throws -> [AlertRecord] {
        try await records(client.query("""
            SELECT \(unescaped: Self.columns) FROM alerts
            WHERE status = 'pending' AND next_attempt_at <= now() ORDER BY id LIMIT \(limit)
            """, logger: logger))
    }

    /// How long until the next pending alert is due (zero if one is), or nil when none is pending.
    public func untilNextDue() async throws -> Duration? {
        let rows = try await client.query("""
            SELECT GREATEST(0, EXTRACT(EPOCH FROM min(next_attempt_at) - now()))::float8 FROM alerts
            WHERE status = 'pending'
            """, logger: logger)
        for try await seconds in rows.decode(Double?.self) {
            return seconds.map { .milliseconds(Int64($0 * 1000)) }
        }
        return nil
    }

    /// Records a successful delivery on attempt `attempts`.
    public func markDelivered(_ id: Int64, attempts: Int) async throws {
        try await client.query("""
            UPDATE alerts SET status = 'delivered', attempts = \(attempts), delivered_at = now(),
                next_attempt_at = now() WHERE id = \(id)
            """, logger: logger)
    }

    /// Records failed attempt `attempts`: another one after `retryAfter`, or none (`failed`) when nil.
    public func markFailed(_ id: Int64, attempts: Int, error: String, retryAfter: Duration?) async throws {
        let status = retryAfter == nil ? "failed" : "pending"
        let seconds = retryAfter.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? 0
        try await client.query("""
            UPDATE alerts SET status = \(status), attempts = \(attempts), last_error = \(error.storable(limit: 1024)),
                next_attempt_at = now() + \(seconds) * interval '1 second' WHERE id = \(id)
            """, logger: logger)
    }

    /// Records that an alert is not sent, and why (no webhook, or its kind is not sent).
    public func markNotSent(_ id: Int64, reason: String) async throws {
        try await client.query("""
            UPDATE alerts SET status = 'not_sent', last_error = \(reason.storable(limit: 1024)) WHERE id = \(id)
            """, logger: logger)
    }

    /// Alerts newest first, of one kind when given.
    public func list(kind: AlertKind? = nil, limit: Int = 100, offset: Int = 0) async throws -> [AlertRecord] {
        let kind = kind?.rawValue
        return try await records(client.query("""
            SELECT \(unescaped: Self.columns) FROM alerts WHERE (kind = \(kind) OR \(kind)::text IS NULL)
            ORDER BY id DESC LIMIT \(limit) OFFSET \(offset)
            """, logger: logger))
    }

    /// The latest alert of one of `kinds` about each subject that has one: its kind and id.
    public func latestBySubject(of kinds: [AlertKind]) async throws -> [String: (kind: AlertKind, id: Int64)] {
        let rows = try await client.query("""
            SELECT DISTINCT ON (subject) subject, kind, id FROM alerts WHERE kind = ANY(\(kinds.map(\.rawValue)))
            ORDER BY subject, id DESC
            """, logger: logger)
        var latest: [String: (kind: AlertKind, id: Int64)] = [:]
        for try await (subject, kind, id) in rows.decode((String, String, Int64).self) {
            if let kind = AlertKind(rawValue: kind) { latest[subject] = (kind, id) }
        }
        return latest
    }

    private func records(_ rows: PostgresRowSequence) async throws -> [AlertRecord] {
        var records: [AlertRecord] = []
        for try await (id, kind, subject, dedupKey, message, details, createdAt, status, attempts, lastError, next,
            deliveredAt) in rows.decode(
                (Int64, String, String, String, String, String, Date, String, Int32, String?, Date?, Date?).self)
        {
            guard let kind = AlertKind(rawValue: kind) else { continue }
            let event = AlertEvent(kind: kind, subject: subject, dedupKey: dedupKey, message: message,
                details: (try? JSONParser.parse(Array(details.utf8))) ?? [:])
            records.append(AlertRecord(id: id, event: event, createdAt: createdAt,
                status: AlertRecord.Status(rawValue: status) ?? .pending, attempts: Int(attempts), lastError: lastError,
                nextAttemptAt: next, deliveredAt: deliveredAt))
        }
        return records
    }
}
