import ScutumStore

/// What a caller of the Admin API may see and change.
///
/// - `admin`: everything (the master key, admin keys, users with the admin role).
/// - `viewer`: reads everything, changes nothing.
/// - `teams`: only what their teams give them: as `team_admin`, the team's keys, members, budgets
///   (within the team's own), spend and guardrail events; as `member`, their own keys (within the
///   team's models and caps) and their own spend. Another team's resources are invisible (404);
///   the platform's own resources (settings, models' overrides, routing, workflows...) are 403.
public enum AdminAccess: Sendable, Equatable {
    case admin
    case viewer
    /// Team id to the caller's role in it; `userID` owns the keys they make.
    case teams(userID: String, roles: [String: TeamRole])

    /// Reads everything (admin or viewer).
    public var readsEverything: Bool {
        switch self {
        case .admin, .viewer: true
        case .teams: false
        }
    }

    /// The name `GET /auth/me` gives: `admin`, `viewer` or `team`.
    public var name: String {
        switch self {
        case .admin: "admin"
        case .viewer: "viewer"
        case .teams: "team"
        }
    }

    /// The caller's role in a team; nil for admins and viewers (who are in no team through this).
    public func role(in teamID: String?) -> TeamRole? {
        guard case .teams(_, let roles) = self, let teamID else { return nil }
        return roles[teamID]
    }

    /// Whether the caller may see the team at all.
    public func sees(team teamID: String?) -> Bool {
        readsEverything || role(in: teamID) != nil
    }

    /// Whether the caller manages the team's keys, members and budgets.
    public func administers(team teamID: String?) -> Bool {
        self == .admin || role(in: teamID) == .teamAdmin
    }

    /// The teams the caller administers, when team scoped; nil for admins and viewers.
    public var administeredTeams: [String]? {
        guard case .teams(_, let roles) = self else { return nil }
        return roles.filter { $0.value == .teamAdmin }.map(\.key).sorted()
    }

    /// The team-scoped caller's user id.
    public var userID: String? {
        guard case .teams(let userID, _) = self else { return nil }
        return userID
    }

    /// Whether the caller may see a key: everyone who reads everything; a team admin the team's
    /// keys; a member the keys they own in a team they are still in.
    public func sees(key record: KeyRecord) -> Bool {
        if readsEverything || administers(team: record.settings.teamID) { return true }
        return owns(key: record)
    }

    /// Whether a team-scoped caller owns the key (theirs, in one of their teams).
    public func owns(key record: KeyRecord) -> Bool {
        guard case .teams(let userID, _) = self else { return false }
        return record.settings.userID == userID && sees(team: record.settings.teamID)
    }

    /// Whether the caller may change or revoke the key.
    public func changes(key record: KeyRecord) -> Bool {
        administers(team: record.settings.teamID) || owns(key: record)
    }
}
