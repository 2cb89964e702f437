import Foundation
import ScutumStore

/// Turns a verified id token into the Scutum user it signs in: found by the provider's subject,
/// else by e-mail (an invited user, now linked), else created; roles from the groups when the
/// token carries any the configuration maps (see `SSOConfiguration`).
struct SSOUserMapping: Sendable {
    let configuration: SSOConfiguration
    let users: UserStore
    let teams: TeamStore

    /// The user, stored with this sign-in; throws `SSOError` for who may not sign in.
    func signIn(_ claims: OIDCIDTokenClaims, now: Date = Date()) async throws -> UserRecord {
        guard let email = claims.email?.lowercased(), email.contains("@"), claims.emailVerified != false else {
            throw SSOError.noVerifiedEmail
        }
        let domain = String(email[email.index(after: email.lastIndex(of: "@")!)...])
        if !configuration.allowedDomains.isEmpty && !configuration.allowedDomains.contains(domain) {
            throw SSOError.domainNotAllowed(domain)
        }
        let existing = try await users.find(issuer: claims.issuer, subject: claims.subject)
        let invited = existing == nil ? try await users.find(email: email) : nil
        var user = existing ?? invited
            ?? UserRecord(userID: UUID().uuidString.lowercased(), email: email, source: .sso)
        guard user.status == .active else { throw SSOError.disabled }
        user.email = email
        user.name = claims.name ?? user.name
        user.ssoIssuer = claims.issuer
        user.ssoSubject = claims.subject
        user.lastLoginAt = now
        if let (role, teams) = try await mapped(claims.groups) {
            user.role = role
            user.teams = teams
        }
        guard user.role != nil || !user.teams.isEmpty else { throw SSOError.noAccess }
        if existing == nil && invited == nil {
            do {
                return try await users.create(user)
            } catch UserStoreError.conflict {
                // Created by a concurrent sign-in of the same person: update theirs instead.
                guard let raced = try await users.find(email: email) else { throw UserStoreError.conflict }
                user.userID = raced.userID
            }
        }
        do {
            guard let updated = try await users.update(user) else { throw SSOError.disabled }
            return updated
        } catch UserStoreError.conflict {
            // The provider's subject is linked to one user and its e-mail now names another.
            throw SSOError.emailTaken(email)
        }
    }

    /// The role and memberships the groups give, or nil when no group is one the mapping knows
    /// (then Scutum's own records stand). Team groups naming teams that do not exist are ignored.
    func mapped(_ groups: [String]) async throws -> (UserRecord.Role?, [String: TeamRole])? {
        var role: UserRecord.Role?
        var memberships: [String: TeamRole] = [:]
        var known = false
        for group in groups {
            if configuration.adminGroups.contains(group) {
                role = .admin
                known = true
            } else if configuration.viewerGroups.contains(group) {
                if role == nil { role = .viewer }
                known = true
            } else if group.hasPrefix(configuration.teamGroupPrefix) {
                let rest = group.dropFirst(configuration.teamGroupPrefix.count)
                guard let colon = rest.lastIndex(of: ":"),
                    let teamRole = TeamRole(rawValue: String(rest[rest.index(after: colon)...]))
                else { continue }
                known = true
                let team = String(rest[..<colon])
                memberships[team] = max(memberships[team] ?? teamRole, teamRole)
            }
        }
        guard known else { return nil }
        guard !memberships.isEmpty else { return (role, [:]) }
        let existing = Set(try await teams.list().map(\.teamID))
        return (role, memberships.filter { existing.contains($0.key) })
    }
}
