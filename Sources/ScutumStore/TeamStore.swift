import Foundation
import Logging
import PostgresNIO

/// A team: a group of keys and users sharing a model allow-list and a budget.
public struct TeamRecord: Sendable, Equatable {
    public var teamID: String
    public var alias: String
    /// Models the team's keys may call; empty means every model.
    public var models: [String]
    public var blocked: Bool
    /// A JSON object, as text.
    public var metadata: String
    public var members: [TeamMember]
    /// The most a member may give a key they make themselves (`max_budget`, `rpm_limit`, `tpm_limit`);
    /// nil: no cap beyond the team's own budget and limits.
    public var keyCaps: KeyCaps
    public var createdAt: Date?

    /// Caps on the keys a team's members make themselves.
    public struct KeyCaps: Sendable, Equatable {
        public var maxBudget: Double?
        public var rpmLimit: Int?
        public var tpmLimit: Int?

        public init(maxBudget: Double? = nil, rpmLimit: Int? = nil, tpmLimit: Int? = nil) {
            self.maxBudget = maxBudget
            self.rpmLimit = rpmLimit
            self.tpmLimit = tpmLimit
        }
    }

    public init(teamID: String, alias: String, models: [String] = [], blocked: Bool = false, metadata: String = "{}",
        members: [TeamMember] = [], keyCaps: KeyCaps = KeyCaps(), createdAt: Date? = nil)
    {
        self.keyCaps = keyCaps
        self.teamID = teamID
        self.alias = alias
        self.models = models
        self.blocked = blocked
        self.metadata = metadata
        self.members = members
        self.createdAt = createdAt
    }
}

/// A user's membership in a team.
public struct TeamMember: Sendable, Equatable {
    public var userID: String
    /// `team_admin` or `member` (see `TeamRole`).
    public var role: String

    public init(userID: String, role: String = TeamRole.member.rawValue) {
        self.userID = userID
        self.role = role
    }
}

/// The `teams` and `team_members` tables.
public struct TeamStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Every team with its members, by alias.
    public func list() async throws -> [TeamRecord] {
        let rows = try await client.query(
            """
            SELECT team_id, team_alias, models, blocked, metadata::text, key_max_budget::float8, key_rpm_limit,
                key_tpm_limit, created_at
            FROM teams ORDER BY team_alias, team_id
            """, logger: logger)
        var teams: [TeamRecord] = []
        for try await (id, alias, models, blocked, metadata, maxBudget, rpm, tpm, created) in rows.decode(
            (String, String, [String], Bool, String, Double?, Int?, Int?, Date).self)
        {
            teams.append(TeamRecord(teamID: id, alias: alias, models: models, blocked: blocked, metadata: metadata,
                keyCaps: .init(maxBudget: maxBudget, rpmLimit: rpm, tpmLimit: tpm), createdAt: created))
        }
        let members = try await allMembers()
        return teams.map { team in
            var team = team
            team.members = members[team.teamID] ?? []
            return team
        }
    }

    public func find(_ teamID: String) async throws -> TeamRecord? {
        try await list().first { $0.teamID == teamID }
    }

    private func allMembers() async throws -> [String: [TeamMember]] {
        let rows = try await client.query("SELECT team_id, user_id, role FROM team_members ORDER BY user_id",
            logger: logger)
        var members: [String: [TeamMember]] = [:]
        for try await (team, user, role) in rows.decode((String, String, String).self) {
            members[team, default: []].append(TeamMember(userID: user, role: role))
        }
        return members
    }

    /// Inserts a team (and its members) in one transaction.
    public func create(_ team: TeamRecord) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO teams (team_id, team_alias, models, blocked, metadata, key_max_budget, key_rpm_limit,
                    key_tpm_limit)
                VALUES (\(team.teamID), \(team.alias), \(team.models), \(team.blocked), \(team.metadata)::jsonb,
                    \(team.keyCaps.maxBudget), \(team.keyCaps.rpmLimit), \(team.keyCaps.tpmLimit))
                """, logger: logger)
            try await UserStore.ensureExist(team.members.map(\.userID), on: connection, logger: logger)
            for member in team.members {
                try await connection.query(
                    "INSERT INTO team_members (team_id, user_id, role) VALUES (\(team.teamID), \(member.userID), \(member.role))",
                    logger: logger)
            }
        }
    }

    /// Replaces a team's fields and members; false when there is no such team.
    public func update(_ team: TeamRecord) async throws -> Bool {
        try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE teams SET team_alias = \(team.alias), models = \(team.models), blocked = \(team.blocked),
                    metadata = \(team.metadata)::jsonb, key_max_budget = \(team.keyCaps.maxBudget),
                    key_rpm_limit = \(team.keyCaps.rpmLimit), key_tpm_limit = \(team.keyCaps.tpmLimit), updated_at = now()
                WHERE team_id = \(team.teamID) RETURNING team_id
                """, logger: logger)
            var found = false
            for try await _ in rows { found = true }
            guard found else { return false }
            try await connection.query("DELETE FROM team_members WHERE team_id = \(team.teamID)", logger: logger)
            try await UserStore.ensureExist(team.members.map(\.userID), on: connection, logger: logger)
            for member in team.members {
                try await connection.query(
                    "INSERT INTO team_members (team_id, user_id, role) VALUES (\(team.teamID), \(member.userID), \(member.role))",
                    logger: logger)
            }
            return true
        }
    }

    /// Deletes a team; its members, guardrail assignments, keys and budget go with it.
    public func delete(_ teamID: String) async throws -> Bool {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("DELETE FROM budgets WHERE scope = 'team' AND scope_id = \(teamID)", logger: logger)
            let rows = try await connection.query("DELETE FROM teams WHERE team_id = \(teamID) RETURNING team_id",
                logger: logger)
            for try await _ in rows { return true }
            return false
        }
    }
}
