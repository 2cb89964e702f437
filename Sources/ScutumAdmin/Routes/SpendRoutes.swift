import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `/api/v1/spend/...`: the spend log's rows, totals per key, team, user, model or front door, and the records
/// PostgreSQL refused (dead letters).
struct SpendRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/spend/logs") { request, _ in try await logs(request) }
        group.get("/spend/keys") { request, _ in try await totals(request, by: .key, field: "key_id") }
        group.get("/spend/teams") { request, _ in try await totals(request, by: .team, field: "team_id") }
        group.get("/spend/users") { request, _ in try await totals(request, by: .user, field: "user_id") }
        group.get("/spend/models") { request, _ in try await totals(request, by: .model, field: "model") }
        group.get("/spend/endpoints") { request, _ in try await totals(request, by: .endpoint, field: "endpoint") }
        group.get("/spend/dead-letters") { request, context in try await deadLetters(request, context) }
    }

    /// `?limit=` (1 to 1000, default 100), admin only: records PostgreSQL refused, newest first,
    /// each with its record's JSON (as stored, parsed), PostgreSQL's error and when.
    func deadLetters(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        guard try context.requirePrincipal().role == .admin else { throw AdminError.adminRequired }
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
    /// `FrontDoor.all`; limit 1 to 1000, default 100).
    func logs(_ request: Request) async throws -> Response {
        var query = QueryFields(request)
        let filter = SpendLogStore.Filter(keyID: query.string("key_id"), teamID: query.string("team_id"),
            userID: query.string("user_id"), model: query.string("model"),
            endpoint: query.literal("endpoint", FrontDoor.all), from: query.date("start"),
            to: query.date("end", endOfDay: true), limit: query.limit(default: 100, maximum: 1000))
        try query.finish()
        let logs = try await services.spendLogs.logs(filter).map { record -> JSONValue in
            guard case .object(var fields) = record.json else { return record.json }
            fields["at"] = .optional(record.at)
            return .object(fields)
        }
        return AdminResponse.json(["logs": .array(logs)])
    }

    /// `?start=&end=`.
    func totals(_ request: Request, by grouping: SpendLogStore.Grouping, field: String) async throws -> Response {
        var query = QueryFields(request)
        let from = query.date("start")
        let to = query.date("end", endOfDay: true)
        try query.finish()
        let totals = try await services.spendLogs.totals(by: grouping, from: from, to: to).map { total -> JSONValue in
            [
                field: .optional(total.group), "requests": .int(Int64(total.requests)),
                "prompt_tokens": .int(Int64(total.promptTokens)),
                "completion_tokens": .int(Int64(total.completionTokens)), "total_cost": .double(total.cost),
            ]
        }
        return AdminResponse.json(["totals": .array(totals)])
    }
}
