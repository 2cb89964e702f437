import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// Who is calling the Admin API, from a verified access token.
public struct AdminPrincipal: Sendable, Equatable {
    /// The role a token carries: `admin` for keys and admin users, `user` for other users (whose
    /// access comes from their record, read on every request).
    public typealias Role = KeyRole

    /// `master` for the master key, the id of the admin key that logged in, or `user:<user id>`.
    public var subject: String
    public var role: Role
    /// When the token stops working.
    public var expiresAt: Date
    /// What the caller may see and change.
    public var access: AdminAccess
    /// The person behind a single sign-on session; nil for the master key and admin keys.
    public var user: UserRecord?

    public init(subject: String, role: Role, expiresAt: Date, access: AdminAccess = .admin, user: UserRecord? = nil) {
        self.subject = subject
        self.role = role
        self.expiresAt = expiresAt
        self.access = access
        self.user = user
    }

    /// Who the audit log names: the person's e-mail (`user:<email>`), else the subject.
    public var actor: String {
        guard let user else { return subject }
        return "user:" + (user.email ?? user.userID)
    }

    /// The subject of tokens issued for the master key.
    public static let masterSubject = "master"
    /// The prefix of a user's token subject.
    public static let userSubjectPrefix = "user:"
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
