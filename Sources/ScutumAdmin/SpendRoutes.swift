import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `/api/v1/spend/...`: the spend log's rows, and totals per key, team, user or model.
struct SpendRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/spend/logs") { request, _ in try await logs(request) }
        group.get("/spend/keys") { request, _ in try await totals(request, by: .key, field: "key_id") }
        group.get("/spend/teams") { request, _ in try await totals(request, by: .team, field: "team_id") }
        group.get("/spend/users") { request, _ in try await totals(request, by: .user, field: "user_id") }
        group.get("/spend/models") { request, _ in try await totals(request, by: .model, field: "model") }
    }

    /// `?key_id=&team_id=&user_id=&model=&start=&end=&limit=` (limit 1 to 1000, default 100).
    func logs(_ request: Request) async throws -> Response {
        var query = QueryFields(request)
        let filter = SpendLogStore.Filter(keyID: query.string("key_id"), teamID: query.string("team_id"),
            userID: query.string("user_id"), model: query.string("model"), from: query.date("start"),
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
