import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `GET /api/v1/guardrail-events?team_id&event_type&limit&offset`: what the guardrails caught,
/// newest first, with the scanner, model, risk score and action; never the text that was checked.
/// A team admin reads their team's events only; members none.
struct GuardrailEventRoutes {
    let services: AdminServices

    static let eventTypes = GuardrailEvent.EventType.allCases.map(\.rawValue)

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/guardrail-events") { request, context in
            let access = try context.requirePrincipal().access
            var query = QueryFields(request)
            let teamID = query.string("team_id")
            // Team admins read their teams' events (one team at a time when they have several).
            if let administered = access.administeredTeams {
                if let teamID, !access.sees(team: teamID) { throw TeamRoutes.teamNotFound }
                if let teamID, !administered.contains(teamID) { throw AdminError.forbidden("Team admin role required") }
                if teamID == nil && administered.count != 1 {
                    if administered.isEmpty { throw AdminError.forbidden("Team admin role required") }
                    throw AdminError.invalid(["query", "team_id"], "Field required (the team whose events to read)",
                        type: "missing")
                }
            }
            let scopedTeam = teamID ?? access.administeredTeams?.first
            let eventType = query.literal("event_type", Self.eventTypes).flatMap(GuardrailEvent.EventType.init)
            let limit = query.limit(default: 100, maximum: 1000)
            let offset = query.integer("offset", default: 0, range: 0...1_000_000)
            try query.finish()
            let events = try await services.guardrailEvents.list(teamID: scopedTeam, eventType: eventType, limit: limit,
                offset: offset)
            return AdminResponse.json(["events": .array(events.map(Self.json)), "limit": .int(Int64(limit)),
                "offset": .int(Int64(offset))])
        }
    }

    static func json(_ event: GuardrailEvent) -> JSONValue {
        [
            "id": .optional(event.id.map { Int($0) }), "at": .optional(event.at), "request_id": .optional(event.requestID),
            "key_id": .optional(event.keyID), "team_id": .optional(event.teamID),
            "guardrail_config_id": .optional(event.configID?.wire),
            "config_name": .optional(event.configName), "event_type": .string(event.eventType.rawValue),
            "scanner": .string(event.scanner), "rule": .optional(event.rule), "model": .optional(event.model),
            "risk_score": .optional(event.riskScore), "action": .string(event.action.rawValue),
            "details": .object(event.counts.mapValues { .int(Int64($0)) }),
        ]
    }
}
