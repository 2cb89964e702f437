import HTTPTypes
import Hummingbird
import ScutumCore

/// One problem with one input field, in FastAPI's (pydantic's) shape:
/// `{"loc": ["body", "max_budget"], "msg": "...", "type": "..."}`.
public struct FieldError: Sendable, Equatable {
    /// Where the value sits: `body`, `query` or `path`, then field names and list indexes.
    public var location: [JSONValue]
    public var message: String
    public var type: String

    public init(location: [JSONValue], message: String, type: String) {
        self.location = location
        self.message = message
        self.type = type
    }

    var json: JSONValue {
        ["loc": .array(location), "msg": .string(message), "type": .string(type)]
    }
}

/// A failure the Admin API answers with FastAPI's error JSON, `{"detail": ...}`.
public struct AdminError: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    /// A message, or for validation errors the list of field errors.
    public var detail: JSONValue
    /// Extra response headers (`WWW-Authenticate` on 401).
    public var headers: [String: String]

    public init(status: HTTPResponse.Status, detail: String, headers: [String: String] = [:]) {
        self.status = status
        self.detail = .string(detail)
        self.headers = headers
    }

    /// 422 with one entry per field error.
    public static func validation(_ errors: [FieldError]) -> AdminError {
        var error = AdminError(status: .unprocessableContent, detail: "")
        error.detail = .array(errors.map(\.json))
        return error
    }

    /// 422 for one field.
    public static func invalid(_ location: [JSONValue], _ message: String, type: String = "value_error") -> AdminError {
        validation([FieldError(location: location, message: message, type: type)])
    }

    /// 401, always with `WWW-Authenticate: Bearer`.
    public static func unauthorized(_ detail: String) -> AdminError {
        AdminError(status: .unauthorized, detail: detail, headers: ["WWW-Authenticate": "Bearer"])
    }

    /// 403: authenticated, but not allowed.
    public static func forbidden(_ detail: String) -> AdminError { AdminError(status: .forbidden, detail: detail) }
    /// 404: `Team not found`, `Key not found`...
    public static func notFound(_ detail: String) -> AdminError { AdminError(status: .notFound, detail: detail) }
    /// 409: the record already exists.
    public static func conflict(_ detail: String) -> AdminError { AdminError(status: .conflict, detail: detail) }

    public static func unavailable(_ detail: String) -> AdminError { AdminError(status: .serviceUnavailable, detail: detail) }

    // The fixed errors of authentication, routing, limits and failures.
    public static let notAuthenticated = unauthorized("Not authenticated")
    public static let invalidToken = unauthorized("Invalid token")
    public static let tokenExpired = unauthorized("Token has expired")
    public static let adminRequired = forbidden("Admin role required")
    public static let routeNotFound = notFound("Not Found")
    public static let bodyTooLarge = AdminError(status: .contentTooLarge, detail: "Request body too large")
    public static let databaseUnavailable = AdminError(status: .serviceUnavailable,
        detail: "The database is unavailable; retry shortly.")
    public static let internalError = AdminError(status: .internalServerError, detail: "Internal server error")

    /// This error as a response.
    var response: Response {
        var fields: HTTPFields = [:]
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        return AdminResponse.json(["detail": detail], status: status, headers: fields)
    }
}
