import Hummingbird

/// Requires a valid access token, records the caller in the context, and applies the coarse part
/// of the access rules (see `AdminAccess`): viewers change nothing, and team-scoped callers reach
/// only the route families a team gives (`teamRoutes`). The routes themselves narrow what those
/// families show to the caller's teams and keys.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let authenticator: AdminAuthenticator

    /// The paths a team-scoped caller may reach, by prefix, with the methods allowed under each.
    /// Writes to users pass so that the route answers 404 for a user the caller cannot see (and 403
    /// for one they can: only admins change users).
    static let teamRoutes: [(prefix: String, writes: Bool)] = [
        ("/auth/me", false), ("/api/v1/keys", true), ("/api/v1/teams", true), ("/api/v1/budgets", true),
        ("/api/v1/spend/logs", false), ("/api/v1/spend/keys", false), ("/api/v1/spend/teams", false),
        ("/api/v1/spend/users", false), ("/api/v1/spend/models", false), ("/api/v1/spend/endpoints", false),
        ("/api/v1/guardrail-events", false), ("/api/v1/users", true), ("/api/v1/models", false),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let principal = try await authenticator.principal(authorization: request.headers[.authorization])
        let writes = request.method != .get && request.method != .head
        switch principal.access {
        case .admin:
            break
        case .viewer:
            if writes { throw AdminError.adminRequired }
        case .teams:
            guard Self.teamReaches(path: request.uri.path, writes: writes) else { throw AdminError.adminRequired }
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }

    /// Whether a team-scoped caller may make this request at all.
    static func teamReaches(path: String, writes: Bool) -> Bool {
        teamRoutes.contains { route in
            (path == route.prefix || path.hasPrefix(route.prefix + "/")) && (route.writes || !writes)
        }
    }
}
