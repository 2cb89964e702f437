import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ScutumCore

/// Answers every failure in OpenAI's error JSON (Anthropic's on the Messages API's routes): the
/// gateway's own errors with their status, unknown routes with 404, bodies over the limit with 413,
/// anything unexpected with 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let failure = gatewayError(error, request: request)
            return request.uri.path.hasPrefix("/v1/messages") ? failure.anthropicResponse : failure.response
        }
    }

    func gatewayError(_ error: any Error, request: Request) -> GatewayError {
        switch error {
        case let error as GatewayError:
            return error
        case is NIOTooManyBytesError:
            return GatewayError(status: 413, message: "The request body is too large.", type: "invalid_request_error",
                code: "request_too_large")
        case let error as HTTPError:
            if error.status == .notFound {
                return GatewayError.routeNotFound(method: request.method.rawValue, path: request.uri.path)
            }
            return GatewayError(status: error.status.code, message: error.body ?? error.status.reasonPhrase,
                type: "invalid_request_error", code: nil)
        default:
            logger.error("unhandled error", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return GatewayError.internalError("The gateway failed to handle this request.")
        }
    }
}

extension GatewayError {
    /// This error as an HTTP response with OpenAI's error JSON.
    var response: Response {
        response(body: ByteBuffer(bytes: jsonData()))
    }

    /// This error as an HTTP response with Anthropic's error JSON.
    var anthropicResponse: Response {
        response(body: MessagesResponse.error(self).jsonBytes)
    }

    private func response(body: ByteBuffer) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        for (name, value) in self.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: body))
    }
}
