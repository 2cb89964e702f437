import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// Something a guardrail caught. It never holds the text that was checked: `scanner` and `rule`
/// name the detector and the profile's rule, and `counts` says how many of what were found
/// (`["EMAIL_ADDRESS": 2]`).
public struct GuardrailEvent: Sendable, Equatable {
    public enum EventType: String, Sendable, CaseIterable {
        case inputBlocked = "input_blocked"
        case outputBlocked = "output_blocked"
        case piiDetected = "pii_detected"
        case piiMasked = "pii_masked"
        /// A hit under `on_fail: log`: recorded, not enforced.
        case flagged
    }

    /// What the gateway did about it.
    public enum Action: String, Sendable, CaseIterable {
        case block, mask, log
    }

    /// Assigned by the database; nil before the event is recorded.
    public var id: Int64?
    public var at: Date
    public var requestID: String?
    public var keyID: String?
    public var teamID: String?
    public var configID: UUID?
    public var configName: String?
    public var eventType: EventType
    /// The detector: `pii`, `secrets`, `prompt_injection`, `invisible_text`, `banned_topics`,
    /// `malicious_urls`, `max_input_tokens`... (at most 100 characters).
    public var scanner: String
    /// Which rule of the profile matched (an entity type, a banned topic's index...), at most 200
    /// characters; never the matched text.
    public var rule: String?
    public var model: String?
    /// From 0 to 1.
    public var riskScore: Double?
    public var action: Action
    /// Counts by name; the only details stored.
    public var counts: [String: Int]

    public init(id: Int64? = nil, at: Date = Date(), requestID: String? = nil, keyID: String? = nil,
        teamID: String? = nil, configID: UUID? = nil, configName: String? = nil, eventType: EventType, scanner: String,
        rule: String? = nil, model: String? = nil, riskScore: Double? = nil, action: Action, counts: [String: Int] = [:])
    {
        self.id = id
        self.at = at
        self.requestID = requestID
        self.keyID = keyID
        self.teamID = teamID
        self.configID = configID
        self.configName = configName
        self.eventType = eventType
        self.scanner = scanner
        self.rule = rule
        self.model = model
        self.riskScore = riskScore
        self.action = action
        self.counts = counts
    }
}

/// The `guardrail_events` table: written by the proxy in batches, read by the Admin API.
public struct GuardrailEventStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    /// Rows per INSERT statement (14 parameters each, well under PostgreSQL's 65535).
    static let rowsPerStatement = 1000

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = """
        id, at, request_id, key_id, team_id, guardrail_config_id, config_name, event_type, scanner, rule, model, \
        risk_score, action, details::text
        """

    /// Writes events in one transaction, a multi-row INSERT per thousand. A risk score outside
    /// 0...1 is clamped; `scanner` and `rule` are cut to their column limits, and all text (the
    /// request id and model come from the client) is made storable: NUL removed, identifiers at most
    /// `String.storableIdentifierLimit` characters.
    public func record(_ events: [GuardrailEvent]) async throws {
        guard !events.isEmpty else { return }
        try await client.withTransaction(logger: logger) { connection in
            var start = events.startIndex
            while start < events.endIndex {
                let end = min(start + Self.rowsPerStatement, events.endIndex)
                try await connection.query(try Self.insert(events[start..<end]), logger: logger)
                start = end
            }
        }
    }

    static func insert(_ events: ArraySlice<GuardrailEvent>) throws -> PostgresQuery {
        var bindings = PostgresBindings(capacity: events.count * 13)
        var rows: [String] = []
        for event in events {
            let first = bindings.count + 1
            bindings.append(event.at)
            bindings.append(event.requestID?.storableIdentifier)
            bindings.append(event.keyID?.storableIdentifier)
            bindings.append(event.teamID?.storableIdentifier)
            bindings.append(event.configID)
            bindings.append(event.configName?.storableIdentifier)
            bindings.append(event.eventType.rawValue)
            bindings.append(event.scanner.storable(limit: 100))
            bindings.append(event.rule?.storable(limit: 200))
            bindings.append(event.model?.storableIdentifier)
            bindings.append(event.riskScore.map { $0.isNaN ? 0 : min(max($0, 0), 1) })
            bindings.append(event.action.rawValue)
            bindings.append(JSONValue.object(event.counts.mapValues { .int(Int64($0)) }).storable.jsonString)
            let parameters = (first..<first + 13).map { "$\($0)" }
            rows.append("(" + parameters.dropLast().joined(separator: ", ") + ", \(parameters.last ?? "")::jsonb)")
        }
        return PostgresQuery(unsafeSQL: """
            INSERT INTO guardrail_events (at, request_id, key_id, team_id, guardrail_config_id, config_name, event_type,
                scanner, rule, model, risk_score, action, details)
            VALUES \(rows.joined(separator: ", "))
            """, binds: bindings)
    }

    /// Matching events, newest first.
    public func list(teamID: String? = nil, eventType: GuardrailEvent.EventType? = nil, limit: Int = 100,
        offset: Int = 0) async throws -> [GuardrailEvent]
    {
        let type = eventType?.rawValue
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.columns) FROM guardrail_events
            WHERE (team_id = \(teamID) OR \(teamID)::text IS NULL) AND (event_type = \(type) OR \(type)::text IS NULL)
            ORDER BY at DESC, id DESC LIMIT \(limit) OFFSET \(offset)
            """, logger: logger)
        var events: [GuardrailEvent] = []
        for try await (id, at, request, key, team, config, configName, eventType, scanner, rule, model, risk, action,
            details) in rows.decode(
                (Int64, Date, String?, String?, String?, UUID?, String?, String, String, String?, String?, Double?,
                    String, String).self)
        {
            let counts = ((try? JSONParser.parse(Array(details.utf8)))?.objectValue ?? [:])
                .compactMapValues { $0.intValue.map { Int(clamping: $0) } }
            events.append(GuardrailEvent(id: id, at: at, requestID: request, keyID: key, teamID: team, configID: config,
                configName: configName, eventType: .init(rawValue: eventType) ?? .flagged, scanner: scanner, rule: rule,
                model: model, riskScore: risk, action: .init(rawValue: action) ?? .log, counts: counts))
        }
        return events
    }
}
