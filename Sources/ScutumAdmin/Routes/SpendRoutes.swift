import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `/api/v1/spend/...`: the spend log's rows, totals per key, team, user, model or front door, and the records
/// PostgreSQL refused (dead letters).
struct SpendRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/spend/logs") { request, context in try await logs(request, context) }
        group.get("/spend/keys") { request, context in try await totals(request, context, by: .key, field: "key_id") }
        group.get("/spend/teams") { request, context in try await totals(request, context, by: .team, field: "team_id") }
        group.get("/spend/users") { request, context in try await totals(request, context, by: .user, field: "user_id") }
        group.get("/spend/models") { request, context in try await totals(request, context, by: .model, field: "model") }
        group.get("/spend/endpoints") { request, context in
            try await totals(request, context, by: .endpoint, field: "endpoint")
        }
        group.get("/spend/dead-letters") { request, context in try await deadLetters(request, context) }
    }

    /// `?limit=` (1 to 1000, default 100), admin only: records PostgreSQL refused, newest first,
    /// each with its record's JSON (as stored, parsed), PostgreSQL's error and when.
    func deadLetters(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        guard try context.requirePrincipal().access == .admin else { throw AdminError.adminRequired }
        var query = QueryFields(request)
        let limit = query.limit(default: 100, maximum: 1000)
        try query.finish()
        let letters = try await services.spendDeadLetters.list(limit: limit).map { letter -> JSONValue in
            [
                "request_id": .string(letter.requestID),
                "record": (try? JSONParser.parse(Array(letter.record.utf8))) ?? .string(letter.record),
                "error": .string(letter.error), "at": .optional(letter.at),
            ]
        }
        return AdminResponse.json(["dead_letters": .array(letters)])
    }

    /// `?key_id=&team_id=&user_id=&model=&endpoint=&start=&end=&limit=` (`endpoint` one of
    /// `FrontDoor.all`; limit 1 to 1000, default 100). Team-scoped callers see their administered
    /// teams' rows and their own; naming another team is 404.
    func logs(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let access = try context.requirePrincipal().access
        var query = QueryFields(request)
        let filter = SpendLogStore.Filter(keyID: query.string("key_id"), teamID: query.string("team_id"),
            userID: query.string("user_id"), model: query.string("model"),
            endpoint: query.literal("endpoint", FrontDoor.all), from: query.date("start"),
            to: query.date("end", endOfDay: true), limit: query.limit(default: 100, maximum: 1000),
            scope: try Self.scope(access, team: query.string("team_id")))
        try query.finish()
        let logs = try await services.spendLogs.logs(filter).map { record -> JSONValue in
            guard case .object(var fields) = record.json else { return record.json }
            fields["at"] = .optional(record.at)
            return .object(fields)
        }
        return AdminResponse.json(["logs": .array(logs)])
    }

    /// The rows a caller sees: nil (all) for admins and viewers; else their administered teams'
    /// and their own, 404 for a `team` filter naming a team they are not in.
    static func scope(_ access: AdminAccess, team: String?) throws -> SpendLogStore.Scope? {
        guard let administered = access.administeredTeams else { return nil }
        if let team, !access.sees(team: team) { throw TeamRoutes.teamNotFound }
        return SpendLogStore.Scope(teamIDs: administered, userID: access.userID)
    }

    /// `?start=&end=`, over the rows the caller sees.
    func totals(_ request: Request, _ context: AdminRequestContext, by grouping: SpendLogStore.Grouping, field: String)
        async throws -> Response
    {
        let access = try context.requirePrincipal().access
        var query = QueryFields(request)
        let from = query.date("start")
        let to = query.date("end", endOfDay: true)
        try query.finish()
        let totals = try await services.spendLogs.totals(by: grouping, from: from, to: to,
            scope: try Self.scope(access, team: nil)).map { total -> JSONValue in
            [
                field: .optional(total.group), "requests": .int(Int64(total.requests)),
                "prompt_tokens": .int(Int64(total.promptTokens)),
                "completion_tokens": .int(Int64(total.completionTokens)), "total_cost": .double(total.cost),
            ]
        }
        return AdminResponse.json(["totals": .array(totals)])
    }
}
