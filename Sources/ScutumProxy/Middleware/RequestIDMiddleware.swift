import HTTPTypes
import Hummingbird

/// Gives every request a new `req-<uuid>` (`context.requestID`), which names its spend record, rate
/// limit reservations and events, so it must be unique: a caller's id is never used for those
/// (reused, it would drop spend rows and let requests share one rate-limit slot). The response
/// (errors included) carries `x-request-id`: the caller's own when it sent a sensible token (up to
/// 128 letters, digits and `-_.:`; a load balancer's id passes through), else the new one.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext

    static let field = HTTPField.Name("x-request-id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var context = context
        context.arrived = .now
        let id = CompletionPipeline.newRequestID()
        context.requestID = id
        var response = try await RequestLogMetadata.$requestID.withValue(id) { try await next(request, context) }
        response.headers[Self.field] = request.headers[Self.field].flatMap(Self.accepted) ?? id
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
