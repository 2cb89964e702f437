import Hummingbird

/// Requires a valid `Authorization: Bearer` key and records the caller in the context.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext
    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var context = context
        context.principal = try await authenticator.authenticate(authorization: request.headers[.authorization])
        return try await next(request, context)
    }
}
