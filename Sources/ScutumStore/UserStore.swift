import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// A person who signs in to the console: their global role and their role in each team.
public struct UserRecord: Sendable, Equatable {
    /// How a user came to exist.
    public enum Source: String, Sendable, CaseIterable {
        /// Made at their first single sign-on.
        case sso
        /// Made by an admin (or a team admin adding a member) before signing in.
        case invited
    }

    /// Whether a user may sign in.
    public enum Status: String, Sendable, CaseIterable {
        case active
        case disabled
    }

    /// A global role: everything, or read everything. Team roles are in `teams`.
    public enum Role: String, Sendable, CaseIterable {
        case admin
        case viewer
    }

    public var userID: String
    /// Lower-cased.
    public var email: String?
    public var name: String?
    public var status: Status
    public var source: Source
    public var role: Role?
    public var ssoIssuer: String?
    public var ssoSubject: String?
    /// Team id to the user's role in it.
    public var teams: [String: TeamRole]
    public var createdAt: Date?
    public var lastLoginAt: Date?

    public init(userID: String, email: String?, name: String? = nil, status: Status = .active,
        source: Source = .invited, role: Role? = nil, ssoIssuer: String? = nil, ssoSubject: String? = nil,
        teams: [String: TeamRole] = [:], createdAt: Date? = nil, lastLoginAt: Date? = nil)
    {
        self.userID = userID
        self.email = email
        self.name = name
        self.status = status
        self.source = source
        self.role = role
        self.ssoIssuer = ssoIssuer
        self.ssoSubject = ssoSubject
        self.teams = teams
        self.createdAt = createdAt
        self.lastLoginAt = lastLoginAt
    }
}

/// A user's role within one team.
public enum TeamRole: String, Sendable, CaseIterable, Comparable {
    /// The team's keys, members, budgets (within the team's own), spend and guardrail events.
    case teamAdmin = "team_admin"
    /// Their own keys, within the team's models, budget and caps; their own spend.
    case member

    /// The role a stored or requested name means; `admin` is the name team admins had before users.
    public init?(name: String) {
        if name == "admin" { self = .teamAdmin } else { self.init(rawValue: name) }
    }

    public static func < (lhs: TeamRole, rhs: TeamRole) -> Bool { lhs == .member && rhs == .teamAdmin }
}

/// The `users` table and users' rows of `team_members`.
public struct UserStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = """
        user_id, email, name, status, source, role, sso_issuer, sso_subject, created_at, last_login_at
        """

    /// Every user with their memberships, by e-mail then id.
    public func list() async throws -> [UserRecord] {
        let users = try await records(client.query(
            "SELECT \(unescaped: Self.columns) FROM users ORDER BY email NULLS LAST, user_id", logger: logger))
        let memberships = try await memberships(of: nil)
        return users.map { user in
            var user = user
            user.teams = memberships[user.userID] ?? [:]
            return user
        }
    }

    /// The user with this id.
    public func find(id: String) async throws -> UserRecord? {
        try await one(client.query("SELECT \(unescaped: Self.columns) FROM users WHERE user_id = \(id)", logger: logger))
    }

    /// The user with this e-mail (compared lower-cased).
    public func find(email: String) async throws -> UserRecord? {
        try await one(client.query(
            "SELECT \(unescaped: Self.columns) FROM users WHERE email = \(email.lowercased())", logger: logger))
    }

    /// The user an identity provider knows by `subject`.
    public func find(issuer: String, subject: String) async throws -> UserRecord? {
        try await one(client.query(
            "SELECT \(unescaped: Self.columns) FROM users WHERE sso_issuer = \(issuer) AND sso_subject = \(subject)",
            logger: logger))
    }

    /// Inserts a user and their memberships in one transaction; a taken e-mail or id throws
    /// `UserStoreError.conflict`.
    public func create(_ user: UserRecord) async throws -> UserRecord {
        do {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("""
                    INSERT INTO users (user_id, email, name, status, source, role, sso_issuer, sso_subject, last_login_at)
                    VALUES (\(user.userID), \(user.email?.lowercased()), \(user.name), \(user.status.rawValue),
                        \(user.source.rawValue), \(user.role?.rawValue), \(user.ssoIssuer), \(user.ssoSubject),
                        \(user.lastLoginAt))
                    """, logger: logger)
                try await Self.replaceMemberships(of: user.userID, with: user.teams, on: connection, logger: logger)
            }
        } catch where Self.sqlState(of: error) == "23505" {
            throw UserStoreError.conflict
        } catch where Self.sqlState(of: error) == "23503" {
            throw UserStoreError.unknownTeam
        }
        return try await find(id: user.userID) ?? user
    }

    /// Replaces a user's fields and memberships; nil when there is no such user.
    public func update(_ user: UserRecord) async throws -> UserRecord? {
        let found: Bool
        do {
            found = try await client.withTransaction(logger: logger) { connection in
                let rows = try await connection.query("""
                    UPDATE users SET email = \(user.email?.lowercased()), name = \(user.name),
                        status = \(user.status.rawValue), role = \(user.role?.rawValue), source = \(user.source.rawValue),
                        sso_issuer = \(user.ssoIssuer), sso_subject = \(user.ssoSubject),
                        last_login_at = \(user.lastLoginAt), updated_at = now()
                    WHERE user_id = \(user.userID) RETURNING user_id
                    """, logger: logger)
                var found = false
                for try await _ in rows { found = true }
                guard found else { return false }
                try await Self.replaceMemberships(of: user.userID, with: user.teams, on: connection, logger: logger)
                return true
            }
        } catch where Self.sqlState(of: error) == "23505" {
            throw UserStoreError.conflict
        } catch where Self.sqlState(of: error) == "23503" {
            throw UserStoreError.unknownTeam
        }
        return found ? try await find(id: user.userID) : nil
    }

    /// Deletes a user, their memberships, the keys they own, and the budgets of both (the user's and
    /// their keys'); false when there is no such user.
    public func delete(id: String) async throws -> (deleted: Bool, keys: Int) {
        try await client.withTransaction(logger: logger) { connection in
            var keyIDs: [String] = []
            for try await key in try await connection.query(
                "DELETE FROM api_keys WHERE user_id = \(id) RETURNING id::text", logger: logger
            ).decode(String.self) { keyIDs.append(key) }
            try await connection.query("""
                DELETE FROM budgets WHERE (scope = 'key' AND scope_id = ANY(\(keyIDs)::text[]))
                    OR (scope = 'user' AND scope_id = \(id))
                """, logger: logger)
            let keys = keyIDs.count
            for try await _ in try await connection.query(
                "DELETE FROM users WHERE user_id = \(id) RETURNING user_id", logger: logger)
            { return (true, keys) }
            return (false, keys)
        }
    }

    /// Makes sure a user with each id exists (team members and key owners named by id alone).
    public static func ensureExist(_ ids: some Sequence<String>, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        let ids = Array(Set(ids))
        guard !ids.isEmpty else { return }
        try await connection.query(
            "INSERT INTO users (user_id) SELECT unnest(\(ids)::text[]) ON CONFLICT DO NOTHING", logger: logger)
    }

    private static func replaceMemberships(of userID: String, with teams: [String: TeamRole],
        on connection: PostgresConnection, logger: Logger) async throws
    {
        try await connection.query("DELETE FROM team_members WHERE user_id = \(userID)", logger: logger)
        let sorted = teams.sorted { $0.key < $1.key }
        guard !sorted.isEmpty else { return }
        let teamIDs = sorted.map(\.key)
        let roles = sorted.map(\.value.rawValue)
        try await connection.query("""
            INSERT INTO team_members (team_id, user_id, role)
            SELECT team, \(userID), role FROM unnest(\(teamIDs)::text[], \(roles)::text[]) AS m(team, role)
            """, logger: logger)
    }

    /// The SQLSTATE of a server error, also when a transaction wraps it.
    static func sqlState(of error: any Error) -> String? {
        if let error = error as? PostgresTransactionError {
            return (error.closureError ?? error.beginError ?? error.commitError).flatMap(sqlState(of:))
        }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    private func memberships(of userID: String?) async throws -> [String: [String: TeamRole]] {
        let rows = try await client.query("""
            SELECT user_id, team_id, role FROM team_members WHERE (\(userID)::text IS NULL OR user_id = \(userID))
            """, logger: logger)
        var memberships: [String: [String: TeamRole]] = [:]
        for try await (user, team, role) in rows.decode((String, String, String).self) {
            memberships[user, default: [:]][team] = TeamRole(name: role) ?? .member
        }
        return memberships
    }

    private func one(_ rows: PostgresRowSequence) async throws -> UserRecord? {
        guard var user = try await records(rows).first else { return nil }
        user.teams = try await memberships(of: user.userID)[user.userID] ?? [:]
        return user
    }

    private func records(_ rows: PostgresRowSequence) async throws -> [UserRecord] {
        var users: [UserRecord] = []
        for try await (id, email, name, status, source, role, issuer, subject, created, lastLogin) in rows.decode(
            (String, String?, String?, String, String, String?, String?, String?, Date, Date?).self)
        {
            users.append(UserRecord(userID: id, email: email, name: name, status: UserRecord.Status(rawValue: status) ?? .disabled,
                source: UserRecord.Source(rawValue: source) ?? .invited, role: role.flatMap(UserRecord.Role.init),
                ssoIssuer: issuer, ssoSubject: subject, createdAt: created, lastLoginAt: lastLogin))
        }
        return users
    }
}

/// Why a user could not be stored.
public enum UserStoreError: Error, Sendable, Equatable {
    /// The e-mail (or id, or identity provider subject) belongs to another user.
    case conflict
    /// A membership names a team that does not exist.
    case unknownTeam
}
