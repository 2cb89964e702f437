import Hummingbird
import ScutumCore
import ScutumStore

/// `GET /api/v1/alerts?kind&limit&offset` (admins and viewers): the alerts the leader recorded, newest first,
/// each with its delivery (status, attempts, last error).
struct AlertRoutes {
    let services: AdminServices

    static let kinds = AlertKind.allCases.map(\.rawValue)

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/alerts") { request, context in
            guard try context.requirePrincipal().access.readsEverything else { throw AdminError.adminRequired }
            var query = QueryFields(request)
            let kind = query.literal("kind", Self.kinds).flatMap(AlertKind.init)
            let limit = query.limit(default: 100, maximum: 1000)
            let offset = query.integer("offset", default: 0, range: 0...1_000_000)
            try query.finish()
            let alerts = try await AlertStore(client: services.dependencies.postgres, logger: services.logger)
                .list(kind: kind, limit: limit, offset: offset)
            return AdminResponse.json(["alerts": .array(alerts.map(\.json)), "limit": .int(Int64(limit)),
                "offset": .int(Int64(offset))])
        }
    }
}
