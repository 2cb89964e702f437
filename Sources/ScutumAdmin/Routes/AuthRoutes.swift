import Foundation
import Hummingbird
import ScutumCore

/// `POST /auth/login` (master or admin key -> access token) and `GET /auth/me`. Single sign-on is
/// `SSORoutes`.
struct AuthRoutes {
    let services: AdminServices
    let authenticator: AdminAuthenticator

    /// Login needs no token; `me` goes on a group behind the authentication middleware.
    func register(login router: Router<AdminRequestContext>, me group: RouterGroup<AdminRequestContext>) {
        router.post("/auth/login") { request, _ in try await login(request) }
        group.get("/auth/me") { _, context in try await me(context) }
    }

    func login(_ request: Request) async throws -> Response {
        var fields = try await services.body(request)
        let apiKey = fields.required("api_key", fields.string("api_key", nullable: false, nonEmpty: true))
        try fields.finish()
        guard let apiKey else { throw AdminError.invalid(["body", "api_key"], "Field required", type: "missing") }
        let (token, claims) = try await authenticator.login(apiKey: apiKey)
        do {
            try await services.auditLog.record(actor: claims.subject, action: "auth.login", targetType: "token",
                targetID: claims.subject)
        } catch {
            // Logging in with the master key works while PostgreSQL is down; the audit entry is lost.
            services.logger.warning("could not record a login in the audit log", metadata: ["error": "\(error)"])
        }
        return AdminResponse.json([
            "access_token": .string(token), "token_type": "bearer",
            "expires_in": .int(claims.expiresAt - claims.issuedAt),
            "expires_at": .optional(Date(timeIntervalSince1970: TimeInterval(claims.expiresAt))),
        ])
    }

    /// The caller: subject, token role, expiry, `access` (`admin`, `viewer` or `team`), the person
    /// (`user`, null for keys) and their teams with their role in each.
    func me(_ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var teams: JSONValue = []
        if let user = principal.user {
            teams = UserRoutes.teams(user.teams, aliases: try await services.teamAliases())
        }
        return AdminResponse.json([
            "sub": .string(principal.subject), "role": .string(principal.role.rawValue),
            "expires_at": .optional(principal.expiresAt), "access": .string(principal.access.name),
            "user": principal.user.map { user in
                ["user_id": .string(user.userID), "email": .optional(user.email), "name": .optional(user.name),
                    "role": .optional(user.role?.rawValue)]
            } ?? .null,
            "teams": teams,
        ])
    }
}
