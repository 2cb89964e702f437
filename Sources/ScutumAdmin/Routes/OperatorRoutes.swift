import Hummingbird
import ScutumCore

/// Read-only operator views: `GET /api/v1/audit-log` and `GET /api/v1/guardrail-assignments` (every
/// team's guardrail profiles, by team then priority).
struct OperatorRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/audit-log") { request, _ in
            var query = QueryFields(request)
            let limit = query.limit(default: 100, maximum: 1000)
            try query.finish()
            return AdminResponse.json(["entries": .array(try await services.auditLog.recent(limit: limit))])
        }
        group.get("/guardrail-assignments") { _, _ in
            let assignments = try await services.guardrailAssignments.list()
            return AdminResponse.json(["assignments": .array(assignments.map(GuardrailRoutes.json))])
        }
    }
}
