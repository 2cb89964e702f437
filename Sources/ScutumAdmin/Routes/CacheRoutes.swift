import Foundation
import Hummingbird
import ScutumCore

/// `DELETE /api/v1/cache` (admin only): deletes response-cache entries from the cluster's Redis.
/// Query parameters, each optional: `key_id` (that key's own entries), `team_id` (the team's shared
/// entries and the own entries of every key of the team, looked up in PostgreSQL), `model` (only
/// that model's); none deletes every entry. Answers `{"deleted": N}`.
struct CacheRoutes {
    let services: AdminServices

    /// The query parameters the endpoint takes; any other is refused, so that a misspelt filter can
    /// never widen a deletion to the whole cache.
    static let parameters: Set<String> = ["key_id", "team_id", "model"]

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.delete("/cache") { request, context in try await clear(request, context) }
    }

    func clear(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var query = QueryFields(request)
        query.rejectUnknown(allowed: Self.parameters)
        let keyID = query.uuid("key_id")?.wire
        let teamID = query.text("team_id", maxLength: 128)
        let model = query.text("model", maxLength: 256)
        try query.finish()
        if keyID != nil && teamID != nil {
            throw AdminError.invalid(["query", "team_id"], "Give key_id or team_id, not both", type: "value_error")
        }
        guard let clearResponseCache = services.dependencies.clearResponseCache else {
            throw AdminError.unavailable("The response cache is not available on this node")
        }

        var scopes: [ResponseCacheSelection.Scope]?
        if let keyID { scopes = [.key(keyID)] }
        if let teamID {
            let keys = try await services.keys.list(teamID: teamID)
            scopes = [.team(teamID)] + keys.map { .key($0.keyID) }
        }
        let deleted: Int
        do {
            deleted = try await clearResponseCache(ResponseCacheSelection(scopes: scopes, model: model))
        } catch {
            services.logger.warning("response cache not cleared", metadata: ["error": "\(error)"])
            throw AdminError.unavailable("The response cache could not be cleared: Redis did not answer; retry shortly.")
        }
        try await services.audit(principal, "cache.clear", targetType: "cache", targetID: keyID ?? teamID,
            details: [
                "key_id": .optional(keyID), "team_id": .optional(teamID), "model": .optional(model),
                "scopes": scopes.map { .int(Int64($0.count)) } ?? "all", "deleted": .int(Int64(deleted)),
            ])
        return AdminResponse.json(["deleted": .int(Int64(deleted))])
    }
}
