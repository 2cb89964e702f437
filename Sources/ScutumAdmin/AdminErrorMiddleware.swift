import Hummingbird
import Logging
import NIOCore
import PostgresNIO

/// Answers every failure with FastAPI's error JSON: `AdminError`s with their status, unknown routes
/// with 404, bodies over the limit with 413, PostgreSQL being unreachable with 503, and anything
/// unexpected with a 500 that says nothing about the cause (which is logged).
struct AdminErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            return response(for: error, request: request)
        }
    }

    func response(for error: any Error, request: Request) -> Response {
        switch error {
        case let error as AdminError:
            return error.response
        case is NIOTooManyBytesError:
            return AdminError.bodyTooLarge.response
        case let error as HTTPError:
            switch error.status {
            case .notFound: return AdminError.routeNotFound.response
            case .methodNotAllowed: return AdminError(status: .methodNotAllowed, detail: "Method Not Allowed").response
            default: return AdminError(status: error.status, detail: error.body ?? error.status.reasonPhrase).response
            }
        default:
            if let mapped = DatabaseFailure.classify(error) {
                if mapped == AdminError.databaseUnavailable {
                    logger.warning("database unavailable",
                        metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
                }
                return mapped.response
            }
            logger.error("unhandled error in the Admin API",
                metadata: ["method": "\(request.method)", "path": "\(request.uri.path)",
                    "error": "\(String(reflecting: error))"])
            return AdminError.internalError.response
        }
    }
}

/// Which PostgreSQL failures mean "the database is unreachable" (503) or a constraint the
/// handlers' validation did not catch (409/422); nil for anything else.
enum DatabaseFailure {
    static func classify(_ error: any Error) -> AdminError? {
        // A store's transaction wraps what failed in it.
        if let error = error as? PostgresTransactionError,
            let cause = error.closureError ?? error.beginError ?? error.commitError
        {
            return classify(cause)
        }
        if let error = error as? PSQLError {
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown,
                .sslUnsupported, .failedToAddSSLHandler, .queryCancelled:
                return .databaseUnavailable
            case .server:
                return classify(sqlState: error.serverInfo?[.sqlState] ?? "")
            default:
                return nil
            }
        }
        if error is ChannelError || error is IOError { return .databaseUnavailable }
        // NIO's connect failure and the pool's "connecting keeps failing" error live in modules
        // this one does not import; they are recognised by type name.
        let typeName = String(reflecting: type(of: error))
        if typeName.hasSuffix(".NIOConnectionError") || typeName.hasSuffix(".ConnectionPoolError") {
            return .databaseUnavailable
        }
        return nil
    }

    private static func classify(sqlState: String) -> AdminError? {
        switch sqlState {
        case "23505": return .conflict("A record with this identity already exists")
        case "23503": return AdminError(status: .unprocessableContent, detail: "A referenced record does not exist")
        case "23514", "22003": return AdminError(status: .unprocessableContent, detail: "A value is out of range")
        // NUL in text (a query or path parameter: bodies are refused before), or an unstorable character.
        case "22021", "22P05":
            return AdminError(status: .unprocessableContent, detail: "A value holds a character that cannot be stored (NUL)")
        case "22P02": return AdminError(status: .unprocessableContent, detail: "A value is not valid for its field")
        default:
            // Connection exceptions, operator intervention (shutdown), insufficient resources.
            if sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") || sqlState.hasPrefix("53") {
                return .databaseUnavailable
            }
            return nil
        }
    }
}
