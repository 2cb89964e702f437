import Foundation
import HTTPTypes
import ScutumCore
import ScutumStore

/// Issues access tokens for the master key, an admin key or a user who signed in with single
/// sign-on, and turns a bearer token back into the caller, re-checking on every request, reads
/// included, that the key or user behind it still exists and may sign in (a key: still admin, not
/// blocked, not expired; a user: active), and reading a user's roles afresh: a demoted, blocked or
/// disabled caller loses every token it was issued at once.
struct AdminAuthenticator: Sendable {
    let jwt: AdminJWT
    let masterKey: String?
    let keys: KeyStore
    let users: UserStore
    let tokenLifetime: Duration
    /// False turns master-key sign-in off (SSO and admin keys remain); its tokens stop working too.
    var masterKeyLogin: Bool = true

    /// Whether the master key may sign in (one is set, and its sign-in is not turned off).
    var masterKeySignIn: Bool { masterKeyLogin && !(masterKey ?? "").isEmpty }

    /// A token for `apiKey`: 401 "Invalid API key" for unknown, blocked or expired keys, 403 for
    /// keys whose role is not admin.
    func login(apiKey: String, now: Date = Date()) async throws -> (token: String, claims: AdminTokenClaims) {
        let subject: String
        if let masterKey, !masterKey.isEmpty, APIKey.constantTimeEquals(apiKey, masterKey) {
            guard masterKeyLogin else {
                throw AdminError.forbidden("Signing in with the master key is turned off; use single sign-on")
            }
            subject = AdminPrincipal.masterSubject
        } else {
            guard APIKey.isWellFormed(apiKey), let record = try await keys.find(hash: APIKey.hash(apiKey)),
                Self.isUsable(record, now: now)
            else {
                throw AdminError.unauthorized("Invalid API key")
            }
            guard record.role == .admin else {
                throw AdminError.forbidden("This API key is not an admin key")
            }
            subject = record.id.wire
        }
        return issue(subject: subject, role: .admin, now: now)
    }

    /// A token naming a user (after single sign-on); their access is read from their record on
    /// every request, so the token's own role only says whether they were an admin when it was made.
    func issue(user: UserRecord, now: Date = Date()) -> (token: String, claims: AdminTokenClaims) {
        issue(subject: AdminPrincipal.userSubjectPrefix + user.userID, role: user.role == .admin ? .admin : .user,
            now: now)
    }

    private func issue(subject: String, role: KeyRole, now: Date) -> (token: String, claims: AdminTokenClaims) {
        let issuedAt = Int64(now.timeIntervalSince1970)
        let claims = AdminTokenClaims(subject: subject, role: role, issuedAt: issuedAt,
            expiresAt: issuedAt + tokenLifetime.components.seconds)
        return (jwt.sign(claims), claims)
    }

    /// The caller behind an `Authorization: Bearer` header.
    func principal(authorization: String?, now: Date = Date()) async throws -> AdminPrincipal {
        guard let authorization, let token = Self.bearerToken(authorization) else {
            throw AdminError.notAuthenticated
        }
        let claims = try jwt.verify(token, now: now)
        let expiresAt = Date(timeIntervalSince1970: TimeInterval(claims.expiresAt))
        if claims.subject == AdminPrincipal.masterSubject {
            guard masterKeySignIn else { throw AdminError.unauthorized("Token has been revoked") }
            return AdminPrincipal(subject: claims.subject, role: claims.role, expiresAt: expiresAt,
                access: Self.access(of: claims.role))
        }
        if claims.subject.hasPrefix(AdminPrincipal.userSubjectPrefix) {
            let id = String(claims.subject.dropFirst(AdminPrincipal.userSubjectPrefix.count))
            guard let user = try await users.find(id: id), user.status == .active else {
                throw AdminError.unauthorized("Token has been revoked")
            }
            return AdminPrincipal(subject: claims.subject, role: claims.role, expiresAt: expiresAt,
                access: Self.access(of: user), user: user)
        }
        guard let id = UUID(uuidString: claims.subject) else { throw AdminError.invalidToken }
        // Read from PostgreSQL on every request (the Admin API is not the hot path), so a change
        // made on any node applies at once on every node.
        guard let record = try await keys.find(id: id), Self.isUsable(record, now: now),
            record.role == .admin
        else {
            throw AdminError.unauthorized("Token has been revoked")
        }
        return AdminPrincipal(subject: claims.subject, role: claims.role, expiresAt: expiresAt,
            access: Self.access(of: claims.role))
    }

    /// What a key's token gives: everything with the admin role, reads only with the user role
    /// (tokens of keys are issued with the admin role; the user role makes a read-only token).
    static func access(of role: KeyRole) -> AdminAccess {
        role == .admin ? .admin : .viewer
    }

    /// What a user's record gives them.
    static func access(of user: UserRecord) -> AdminAccess {
        switch user.role {
        case .admin: .admin
        case .viewer: .viewer
        case nil: .teams(userID: user.userID, roles: user.teams)
        }
    }

    static func isUsable(_ record: KeyRecord, now: Date) -> Bool {
        !record.blocked && (record.expiresAt.map { $0 > now } ?? true)
    }

    /// The token of `Bearer <token>` (scheme case-insensitive).
    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
