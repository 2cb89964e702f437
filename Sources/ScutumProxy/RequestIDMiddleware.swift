import HTTPTypes
import Hummingbird

/// Gives every request an id: the caller's `x-request-id` when it is a sensible token (up to 128
/// letters, digits and `-_.:`; a load balancer's id passes through), else a new `req-<uuid>`. The
/// id is echoed on the response (errors included), names the request's spend record and events,
/// and is what logs carry.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext

    static let field = HTTPField.Name("x-request-id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var context = context
        let id = request.headers[Self.field].flatMap(Self.accepted) ?? CompletionRoutes.newRequestID()
        context.requestID = id
        var response = try await next(request, context)
        response.headers[Self.field] = id
        return response
    }

    static func accepted(_ value: String) -> String? {
        guard !value.isEmpty, value.utf8.count <= 128,
            value.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
            })
        else { return nil }
        return value
    }
}
