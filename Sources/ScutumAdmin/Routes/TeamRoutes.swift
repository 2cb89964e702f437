import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `/api/v1/teams...`: teams with their members, budget and caps for their members' keys. Team-scoped
/// callers see their own teams only; a team's admins manage its members, admins everything else.
struct TeamRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/teams") { _, context in try await list(context) }
        group.post("/teams") { request, context in try await create(request, context) }
        group.get("/teams/{team_id}") { _, context in try await respond(try await find(context)) }
        group.put("/teams/{team_id}") { request, context in try await update(request, context) }
        group.delete("/teams/{team_id}") { _, context in try await delete(context) }
        group.post("/teams/{team_id}/members") { request, context in try await addMember(request, context) }
        group.delete("/teams/{team_id}/members/{user_id}") { _, context in try await removeMember(context) }
    }

    /// The roles a member may have; `admin` is still read, as `team_admin`.
    static let roles = TeamRole.allCases.map(\.rawValue) + ["admin"]
    static let teamNotFound = AdminError.notFound("Team not found")

    func list(_ context: AdminRequestContext) async throws -> Response {
        let access = try context.requirePrincipal().access
        let budgets = try await services.budgetsBySubject()
        var teams: [JSONValue] = []
        for team in try await services.teams.list() where access.sees(team: team.teamID) {
            let budget = budgets[.team(team.teamID)]
            teams.append(Self.json(team, budget: budget, spend: await services.spend(of: budget)))
        }
        return AdminResponse.json(["teams": .array(teams)])
    }

    func create(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        guard principal.access == .admin else { throw AdminError.adminRequired }
        var fields = try await services.body(request)
        let alias = fields.required("team_alias", fields.string("team_alias", nullable: false, nonEmpty: true, maxLength: 256))
        let teamID = fields.string("team_id", nullable: true, nonEmpty: true, maxLength: 128).value
        let input = TeamInput(&fields)
        try fields.finish()
        guard let alias else { throw AdminError.invalid(["body", "team_alias"], "Field required", type: "missing") }

        let id = teamID ?? "team-" + UUID().wire.replacingOccurrences(of: "-", with: "").prefix(16)
        if try await services.teamExists(id) { throw AdminError.conflict("Team already exists") }
        let team = input.applied(to: TeamRecord(teamID: id, alias: alias))
        try await services.teams.create(team)
        let budget = try await input.budget.apply(to: .team(id), in: services.budgets, existing: nil)
        try await services.audit(principal, "team.create", targetType: "team", targetID: id,
            details: ["team_alias": .string(alias), "fields": .strings(fields.object.keys.sorted())])
        return try await respond(try await services.teams.find(id) ?? team, budget: budget)
    }

    func update(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        let alias = fields.string("team_alias", nullable: false, nonEmpty: true, maxLength: 256)
        let input = TeamInput(&fields)
        try fields.finish()
        var team = try await find(context)
        guard principal.access == .admin else { throw AdminError.adminRequired }
        team.alias = alias.value ?? team.alias
        team = input.applied(to: team)
        guard try await services.teams.update(team) else { throw Self.teamNotFound }
        let subject = BudgetSubject.team(team.teamID)
        _ = try await input.budget.apply(to: subject, in: services.budgets,
            existing: try await services.budgets.find(subject))
        try await services.audit(principal, "team.update", targetType: "team", targetID: team.teamID,
            details: ["fields": .strings(fields.object.keys.sorted())])
        return try await respond(try await services.teams.find(team.teamID) ?? team)
    }

    func delete(_ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let team = try await find(context)
        guard principal.access == .admin else { throw AdminError.adminRequired }
        let keys = try await services.keys.list(teamID: team.teamID)
        try await services.budgets.deleteKeyBudgets(ofTeam: team.teamID)
        guard try await services.teams.delete(team.teamID) else { throw Self.teamNotFound }
        try await services.audit(principal, "team.delete", targetType: "team", targetID: team.teamID,
            details: ["team_alias": .string(team.alias), "keys_deleted": .int(Int64(keys.count))])
        return AdminResponse.json(["deleted": .string(team.teamID)])
    }

    /// `{"user_id" | "email", "role"}`: an e-mail names the user with it, invited if new.
    func addMember(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        var userID = fields.string("user_id", nullable: false, nonEmpty: true, maxLength: 256).value
        let email = fields.email("email")
        if userID == nil && email == nil && fields.errors.isEmpty {
            fields.fail("user_id", "Field required (send 'user_id' or 'email')", type: "missing")
        }
        let role = Self.role(fields.literal("role", Self.roles, nullable: false).value)
        try fields.finish()
        var team = try await find(context)
        guard principal.access.administers(team: team.teamID) else { throw AdminError.adminRequired }
        if userID == nil, let email {
            userID = try await services.userID(invitingIfNew: email, by: principal)
        }
        guard let userID else { throw AdminError.invalid(["body", "user_id"], "Field required", type: "missing") }
        team.members.removeAll { $0.userID == userID }
        team.members.append(TeamMember(userID: userID, role: role))
        guard try await services.teams.update(team) else { throw Self.teamNotFound }
        try await services.audit(principal, "team.member.add", targetType: "team", targetID: team.teamID,
            details: ["user_id": .string(userID), "role": .string(role)])
        return try await respond(try await services.teams.find(team.teamID) ?? team)
    }

    func removeMember(_ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let userID = try PathParameter.string(context, "user_id")
        var team = try await find(context)
        guard principal.access.administers(team: team.teamID) else { throw AdminError.adminRequired }
        guard team.members.contains(where: { $0.userID == userID }) else {
            throw AdminError.notFound("Team member not found")
        }
        team.members.removeAll { $0.userID == userID }
        guard try await services.teams.update(team) else { throw Self.teamNotFound }
        try await services.audit(principal, "team.member.remove", targetType: "team", targetID: team.teamID,
            details: ["user_id": .string(userID)])
        return try await respond(team)
    }

    /// The team of the path, if the caller may see it (404 otherwise, whether it exists or not).
    private func find(_ context: AdminRequestContext) async throws -> TeamRecord {
        let id = try PathParameter.string(context, "team_id")
        guard try context.requirePrincipal().access.sees(team: id), let team = try await services.teams.find(id) else {
            throw Self.teamNotFound
        }
        return team
    }

    /// A requested role's stored name (`admin` is `team_admin`), `member` when none is given.
    static func role(_ name: String?) -> String {
        (name.flatMap(TeamRole.init(name:)) ?? .member).rawValue
    }

    private func respond(_ team: TeamRecord, budget: BudgetRecord? = nil) async throws -> Response {
        var budget = budget
        if budget == nil { budget = try await services.budgets.find(.team(team.teamID)) }
        return AdminResponse.json(Self.json(team, budget: budget, spend: await services.spend(of: budget)))
    }

    static func json(_ team: TeamRecord, budget: BudgetRecord?, spend: Double?) -> JSONValue {
        var fields: [String: JSONValue] = [
            "team_id": .string(team.teamID), "team_alias": .string(team.alias), "models": .strings(team.models),
            "blocked": .bool(team.blocked), "metadata": .stored(team.metadata, fallback: [:]),
            "members": .array(team.members.map { ["user_id": .string($0.userID), "role": .string($0.role)] }),
            "key_max_budget": .optional(team.keyCaps.maxBudget), "key_rpm_limit": .optional(team.keyCaps.rpmLimit),
            "key_tpm_limit": .optional(team.keyCaps.tpmLimit), "created_at": .optional(team.createdAt),
        ]
        fields.merge(BudgetFields.json(budget, spend: spend)) { _, budget in budget }
        return .object(fields)
    }
}

/// The optional fields of `POST /teams` and `PUT /teams/{team_id}`.
struct TeamInput {
    var models: Field<[String]>
    var members: Field<[TeamMember]>
    var blocked: Field<Bool>
    var metadata: Field<JSONValue>
    var budget: BudgetFields
    var keyMaxBudget: Field<Double>
    var keyRPMLimit: Field<Int>
    var keyTPMLimit: Field<Int>

    init(_ fields: inout BodyFields) {
        models = fields.stringList("models")
        members = Self.members(&fields)
        blocked = fields.bool("blocked", nullable: false)
        metadata = fields.metadata("metadata")
        budget = BudgetFields(&fields)
        keyMaxBudget = fields.amount("key_max_budget")
        keyRPMLimit = fields.positiveInt("key_rpm_limit")
        keyTPMLimit = fields.positiveInt("key_tpm_limit")
    }

    func applied(to team: TeamRecord) -> TeamRecord {
        var team = team
        team.models = models.applied(to: team.models) ?? []
        team.members = members.applied(to: team.members) ?? []
        team.blocked = blocked.value ?? team.blocked
        if metadata.isPresent { team.metadata = (metadata.value ?? [:]).jsonString }
        team.keyCaps.maxBudget = keyMaxBudget.applied(to: team.keyCaps.maxBudget)
        team.keyCaps.rpmLimit = keyRPMLimit.applied(to: team.keyCaps.rpmLimit)
        team.keyCaps.tpmLimit = keyTPMLimit.applied(to: team.keyCaps.tpmLimit)
        return team
    }

    /// `members`: a list of `{"user_id", "role"}` (role `team_admin` or `member`, default `member`),
    /// each user at most once.
    private static func members(_ fields: inout BodyFields) -> Field<[TeamMember]> {
        guard let value = fields.object["members"] else { return .absent }
        if value.isNull { return .null }
        guard let items = value.arrayValue else {
            fields.fail("members", "Input should be a valid list", type: "list_type")
            return .absent
        }
        var members: [TeamMember] = []
        var valid = true
        for (index, item) in items.enumerated() {
            var member = BodyFields(item.objectValue ?? [:])
            guard item.objectValue != nil else {
                fields.fail("members", "Input should be a valid dictionary", type: "dict_type", path: [.int(Int64(index))])
                valid = false
                continue
            }
            let userID = member.required("user_id", member.string("user_id", nullable: false, nonEmpty: true))
            let role = TeamRoutes.role(member.literal("role", TeamRoutes.roles, nullable: false).value)
            for error in member.errors {
                fields.fail("members", error.message, type: error.type, path: [.int(Int64(index))] + error.location.dropFirst(1))
                valid = false
            }
            guard let userID else { continue }
            if members.contains(where: { $0.userID == userID }) {
                fields.fail("members", "Value error, user '\(userID)' is listed twice", type: "value_error",
                    path: [.int(Int64(index)), "user_id"])
                valid = false
            }
            members.append(TeamMember(userID: userID, role: role))
        }
        return valid ? .value(members) : .absent
    }
}
