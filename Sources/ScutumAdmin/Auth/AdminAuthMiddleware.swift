import Hummingbird

/// Requires a valid access token, records the caller in the context, and refuses writes
/// (anything but GET and HEAD) to tokens without the admin role.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let authenticator: AdminAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let principal = try await authenticator.principal(authorization: request.headers[.authorization])
        if request.method != .get && request.method != .head && principal.role != .admin {
            throw AdminError.adminRequired
        }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }
}
