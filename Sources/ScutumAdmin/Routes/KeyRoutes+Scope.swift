import Foundation
import ScutumCore
import ScutumStore

/// What a team-scoped caller may give a key: the rules of self-serve keys (a member's own) and of
/// a team admin's keys for their team.
///
/// - The key belongs to one of the caller's teams (with one team, it is the default); a team the
///   caller is not in is 404, like every other team's resource.
/// - A member's key is theirs (`user_id` is the member); a team admin may name a member of the team.
/// - Never an admin key, and guardrails stay as the team has them (`inherit`).
/// - Models within the team's list (when the team has one).
/// - `rpm_limit`, `tpm_limit` and `max_budget` within the team's caps for members' keys
///   (`key_rpm_limit`, `key_tpm_limit`, `key_max_budget`), the budget also within the team's own
///   `max_budget`; a limit left out takes the cap.
struct TeamKeyRules {
    let access: AdminAccess
    let team: TeamRecord
    let teamBudget: BudgetRecord?

    /// The team a key of this caller belongs to: the named one if the caller is in it (404
    /// otherwise), else the caller's only team (422 when they have several, or none).
    static func team(named teamID: String?, for access: AdminAccess, services: AdminServices) async throws -> TeamRecord {
        let chosen: String
        if let teamID {
            guard access.sees(team: teamID) else { throw TeamRoutes.teamNotFound }
            chosen = teamID
        } else if case .teams(_, let roles) = access, roles.count == 1, let only = roles.keys.first {
            chosen = only
        } else {
            throw AdminError.invalid(["body", "team_id"], "Field required (the team the key belongs to)", type: "missing")
        }
        guard let team = try await services.teams.find(chosen) else { throw TeamRoutes.teamNotFound }
        return team
    }

    /// The cap on a member key's budget: the tighter of the team's cap for keys and its own budget.
    var maxBudgetCap: Double? {
        [team.keyCaps.maxBudget, teamBudget?.maxBudget].compactMap { $0 }.min()
    }

    /// `settings` as the caller may have them: the owner set for members, limits left out taking
    /// the caps; throws 403 naming the first rule broken.
    /// `givenLimits` says whether the body set `rpm_limit` and `tpm_limit`: a default that is over
    /// the cap is lowered to it, a value the caller asked for is refused.
    func check(role: KeyRole, settings: KeySettings, maxBudget: Double?, givenLimits: (rpm: Bool, tpm: Bool))
        throws -> (KeySettings, maxBudget: Double?)
    {
        var settings = settings
        settings.teamID = team.teamID
        guard role == .user else { throw AdminError.forbidden("Only admins make admin keys") }
        guard settings.guardrails == .inherit else {
            throw AdminError.forbidden("A key's guardrails are set by admins; team keys inherit the team's")
        }
        guard let userID = access.userID else { return (settings, maxBudget) }
        if access.role(in: team.teamID) == .teamAdmin {
            if let owner = settings.userID, owner != userID, !team.members.contains(where: { $0.userID == owner }) {
                throw AdminError.invalid(["body", "user_id"],
                    "Value error, user '\(owner)' is not a member of team '\(team.teamID)'")
            }
            // A key a team admin makes without naming someone is theirs.
            if settings.userID == nil { settings.userID = userID }
        } else {
            if let owner = settings.userID, owner != userID {
                throw AdminError.forbidden("Members make keys for themselves only")
            }
            settings.userID = userID
        }
        if !team.models.isEmpty, let outside = settings.models.first(where: { !team.models.contains($0) }) {
            throw AdminError.forbidden("Model '\(outside)' is not one of team '\(team.teamID)''s models")
        }
        settings.rpmLimit = try Self.capped("rpm_limit", settings.rpmLimit, cap: team.keyCaps.rpmLimit,
            given: givenLimits.rpm)
        settings.tpmLimit = try Self.capped("tpm_limit", settings.tpmLimit, cap: team.keyCaps.tpmLimit,
            given: givenLimits.tpm)
        var budget = maxBudget
        if let cap = maxBudgetCap {
            if let asked = maxBudget, asked > cap {
                throw AdminError.forbidden("max_budget \(asked) is over team '\(team.teamID)''s cap of \(cap) for its keys")
            }
            budget = maxBudget ?? cap
        }
        return (settings, budget)
    }

    private static func capped(_ name: String, _ value: Int?, cap: Int?, given: Bool) throws -> Int? {
        guard let cap else { return value }
        guard let value else { return cap }
        if value > cap && !given { return cap }
        if value > cap { throw AdminError.forbidden("\(name) \(value) is over the team's cap of \(cap) for its keys") }
        return value
    }
}
