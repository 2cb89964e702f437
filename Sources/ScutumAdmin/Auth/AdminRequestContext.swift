import Foundation
import Hummingbird
import ScutumCore

/// Who is calling the Admin API, from a verified access token.
public struct AdminPrincipal: Sendable, Equatable {
    /// The role a token carries: its key's.
    public typealias Role = KeyRole

    /// `master` for the master key, else the id of the admin key that logged in.
    public var subject: String
    public var role: Role
    /// When the token stops working.
    public var expiresAt: Date

    public init(subject: String, role: Role, expiresAt: Date) {
        self.subject = subject
        self.role = role
        self.expiresAt = expiresAt
    }

    /// The subject of tokens issued for the master key.
    public static let masterSubject = "master"
}

/// The Admin API's request context: Hummingbird's core storage plus the authenticated caller.
public struct AdminRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the authentication middleware on every route that needs a token.
    public var principal: AdminPrincipal?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.principal = nil
    }

    /// The caller; a 401 if the route was reached without authentication.
    public func requirePrincipal() throws(AdminError) -> AdminPrincipal {
        guard let principal else { throw AdminError.notAuthenticated }
        return principal
    }
}
