import HTTPTypes
import Hummingbird

/// Requires a valid key, as `Authorization: Bearer <key>` or (as Anthropic's SDKs send it)
/// `x-api-key: <key>`, and records the caller in the context.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext
    let authenticator: Authenticator
    static let apiKey = HTTPField.Name("x-api-key")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var context = context
        let token = request.headers[.authorization].map(Authenticator.bearerToken) ?? request.headers[Self.apiKey]
        context.principal = try await authenticator.authenticate(token: token)
        return try await next(request, context)
    }
}
