import Foundation

/// An alert as the monitor detects it, before it is recorded.
public struct AlertEvent: Sendable, Equatable {
    public var kind: AlertKind
    /// What it is about: a budget, key, deployment or node, in words.
    public var subject: String
    /// Names the event, so seeing it again records nothing (`budget_soft_crossed:<id>:<period>`).
    public var dedupKey: String
    /// One line for a person.
    public var message: String
    /// The figures behind it (ids, amounts, dates).
    public var details: JSONValue

    public init(kind: AlertKind, subject: String, dedupKey: String, message: String, details: JSONValue = [:]) {
        self.kind = kind
        self.subject = subject
        self.dedupKey = dedupKey
        self.message = message
        self.details = details
    }
}

/// A recorded alert and its delivery.
public struct AlertRecord: Sendable, Equatable {
    /// Where delivery stands.
    public enum Status: String, Sendable, CaseIterable {
        /// Waiting for its (next) attempt.
        case pending
        case delivered
        /// Every attempt failed; no more are made.
        case failed
        /// No webhook is set, or its kind is not one the settings send.
        case notSent = "not_sent"
    }

    public var id: Int64
    public var event: AlertEvent
    public var createdAt: Date
    public var status: Status
    public var attempts: Int
    public var lastError: String?
    public var nextAttemptAt: Date?
    public var deliveredAt: Date?

    public init(id: Int64, event: AlertEvent, createdAt: Date, status: Status, attempts: Int = 0,
        lastError: String? = nil, nextAttemptAt: Date? = nil, deliveredAt: Date? = nil)
    {
        self.id = id
        self.event = event
        self.createdAt = createdAt
        self.status = status
        self.attempts = attempts
        self.lastError = lastError
        self.nextAttemptAt = nextAttemptAt
        self.deliveredAt = deliveredAt
    }

    /// The webhook body in `format`.
    public func webhookBody(_ format: AlertSettings.Format) -> JSONValue {
        switch format {
        case .json:
            [
                "id": .int(id), "kind": .string(event.kind.rawValue), "subject": .string(event.subject),
                "message": .string(event.message), "details": event.details,
                "at": .string(Self.timestamp(createdAt)),
            ]
        case .slack:
            ["text": .string("*\(event.kind.title)*: \(Self.slackEscaped(event.message))")]
        }
    }

    /// Text with Slack's three control characters escaped (`&`, `<`, `>`), so a name holding them
    /// cannot become a link or a mention.
    static func slackEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The alert as the Admin API lists it.
    public var json: JSONValue {
        [
            "id": .int(id), "kind": .string(event.kind.rawValue), "subject": .string(event.subject),
            "dedup_key": .string(event.dedupKey), "message": .string(event.message), "details": event.details,
            "created_at": .string(Self.timestamp(createdAt)), "status": .string(status.rawValue),
            "attempts": .int(Int64(attempts)), "last_error": lastError.map(JSONValue.string) ?? .null,
            "next_attempt_at": nextAttemptAt.map { .string(Self.timestamp($0)) } ?? .null,
            "delivered_at": deliveredAt.map { .string(Self.timestamp($0)) } ?? .null,
        ]
    }

    /// ISO 8601 with milliseconds, in UTC.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
