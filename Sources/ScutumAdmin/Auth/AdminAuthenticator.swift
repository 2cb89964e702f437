import Foundation
import HTTPTypes
import ScutumCore
import ScutumStore

/// Issues access tokens for the master key or an admin key, and turns a bearer token back into
/// the caller, re-checking on every request, reads included, that the key behind it still exists,
/// still has the admin role, is not blocked and has not expired: a demoted or blocked key loses
/// every token it was issued at once.
struct AdminAuthenticator: Sendable {
    let jwt: AdminJWT
    let masterKey: String?
    let keys: KeyStore
    let tokenLifetime: Duration

    /// A token for `apiKey`: 401 "Invalid API key" for unknown, blocked or expired keys, 403 for
    /// keys whose role is not admin.
    func login(apiKey: String, now: Date = Date()) async throws -> (token: String, claims: AdminTokenClaims) {
        let subject: String
        if let masterKey, !masterKey.isEmpty, APIKey.constantTimeEquals(apiKey, masterKey) {
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
        let issuedAt = Int64(now.timeIntervalSince1970)
        let claims = AdminTokenClaims(subject: subject, role: .admin, issuedAt: issuedAt,
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
            guard let masterKey, !masterKey.isEmpty else { throw AdminError.unauthorized("Token has been revoked") }
            return AdminPrincipal(subject: claims.subject, role: claims.role, expiresAt: expiresAt)
        }
        guard let id = UUID(uuidString: claims.subject) else { throw AdminError.invalidToken }
        // Read from PostgreSQL on every request (the Admin API is not the hot path), so a change
        // made on any node applies at once on every node.
        guard let record = try await keys.find(id: id), Self.isUsable(record, now: now),
            record.role == .admin
        else {
            throw AdminError.unauthorized("Token has been revoked")
        }
        return AdminPrincipal(subject: claims.subject, role: claims.role, expiresAt: expiresAt)
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
