import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `/api/v1/users...`: the people who sign in, their global role (`admin`, `viewer` or none) and
/// their role in each team. Admins manage them; viewers read them; a team admin sees their teams'
/// members (and a member themselves), everyone else is 404.
struct UserRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/users") { _, context in try await list(context) }
        group.post("/users") { request, context in try await create(request, context) }
        group.get("/users/{user_id}") { _, context in try await respond(try await find(context)) }
        group.put("/users/{user_id}") { request, context in try await update(request, context) }
        group.delete("/users/{user_id}") { _, context in try await delete(context) }
    }

    static let userNotFound = AdminError.notFound("User not found")

    func list(_ context: AdminRequestContext) async throws -> Response {
        let access = try context.requirePrincipal().access
        let aliases = try await services.teamAliases()
        let users = try await services.users.list().filter { Self.sees($0, access) }
        return AdminResponse.json(["users": .array(users.map { Self.json($0, aliases: aliases) })])
    }

    /// `{"email", "name"?, "role"?, "status"?, "teams"?: [{"team_id", "role"}]}`: an invited user.
    func create(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        guard principal.access == .admin else { throw AdminError.adminRequired }
        var fields = try await services.body(request)
        let email = fields.email("email")
        if email == nil && fields.errors.isEmpty { fields.fail("email", "Field required", type: "missing") }
        let input = UserInput(&fields)
        try fields.finish()
        guard let email else { throw AdminError.invalid(["body", "email"], "Field required", type: "missing") }
        let user = input.applied(to: UserRecord(userID: UUID().wire, email: email, source: .invited))
        let created = try await store { try await services.users.create(user) }
        try await services.audit(principal, "user.create", targetType: "user", targetID: created.userID,
            details: ["email": .string(email), "fields": .strings(fields.object.keys.sorted())])
        return try await respond(created)
    }

    func update(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        // Another team's user is 404 before anything about the body is said.
        var user = try await find(context)
        guard principal.access == .admin else { throw AdminError.adminRequired }
        var fields = try await services.body(request)
        let email = fields.email("email")
        let input = UserInput(&fields)
        try fields.finish()
        user.email = email ?? user.email
        user = input.applied(to: user)
        guard let updated = try await store({ try await services.users.update(user) }) else { throw Self.userNotFound }
        try await services.audit(principal, "user.update", targetType: "user", targetID: user.userID,
            details: ["fields": .strings(fields.object.keys.sorted())])
        return try await respond(updated)
    }

    /// Deletes the user, their memberships and the keys they own.
    func delete(_ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let user = try await find(context)
        guard principal.access == .admin else { throw AdminError.adminRequired }
        let (deleted, keys) = try await services.users.delete(id: user.userID)
        guard deleted else { throw Self.userNotFound }
        try await services.audit(principal, "user.delete", targetType: "user", targetID: user.userID,
            details: ["email": .optional(user.email), "keys_deleted": .int(Int64(keys))])
        return AdminResponse.json(["deleted": .string(user.userID), "keys_deleted": .int(Int64(keys))])
    }

    /// Whether the caller may see the user: everyone who reads everything; a team-scoped caller
    /// themselves and the members of the teams they administer.
    static func sees(_ user: UserRecord, _ access: AdminAccess) -> Bool {
        if access.readsEverything || user.userID == access.userID { return true }
        return user.teams.keys.contains { access.administers(team: $0) }
    }

    private func find(_ context: AdminRequestContext) async throws -> UserRecord {
        let access = try context.requirePrincipal().access
        guard let user = try await services.users.find(id: try PathParameter.string(context, "user_id")),
            Self.sees(user, access)
        else { throw Self.userNotFound }
        return user
    }

    /// Runs a store write, turning its errors into the API's.
    private func store<T>(_ write: () async throws -> T) async throws -> T {
        do {
            return try await write()
        } catch UserStoreError.conflict {
            throw AdminError.conflict("A user with this e-mail already exists")
        } catch UserStoreError.unknownTeam {
            throw AdminError.invalid(["body", "teams"], "Value error, a team in the list does not exist")
        }
    }

    private func respond(_ user: UserRecord) async throws -> Response {
        AdminResponse.json(Self.json(user, aliases: try await services.teamAliases()))
    }

    static func json(_ user: UserRecord, aliases: [String: String]) -> JSONValue {
        [
            "user_id": .string(user.userID), "email": .optional(user.email), "name": .optional(user.name),
            "status": .string(user.status.rawValue), "source": .string(user.source.rawValue),
            "role": .optional(user.role?.rawValue), "teams": teams(user.teams, aliases: aliases),
            "created_at": .optional(user.createdAt), "last_login_at": .optional(user.lastLoginAt),
        ]
    }

    /// Memberships as `[{"team_id", "team_alias", "role"}]`, by team id.
    static func teams(_ roles: [String: TeamRole], aliases: [String: String]) -> JSONValue {
        .array(roles.sorted { $0.key < $1.key }.map { team, role in
            ["team_id": .string(team), "team_alias": .optional(aliases[team]), "role": .string(role.rawValue)]
        })
    }
}

/// The optional fields of `POST /users` and `PUT /users/{user_id}`.
struct UserInput {
    var name: Field<String>
    var role: Field<UserRecord.Role>
    var status: Field<UserRecord.Status>
    var teams: Field<[String: TeamRole]>

    init(_ fields: inout BodyFields) {
        name = fields.string("name", maxLength: 256)
        role = fields.literal("role", UserRecord.Role.allCases.map(\.rawValue), nullable: true)
            .map { UserRecord.Role(rawValue: $0) ?? .viewer }
        status = fields.literal("status", UserRecord.Status.allCases.map(\.rawValue), nullable: false)
            .map { UserRecord.Status(rawValue: $0) ?? .disabled }
        teams = Self.teams(&fields)
    }

    func applied(to user: UserRecord) -> UserRecord {
        var user = user
        user.name = name.applied(to: user.name)
        user.role = role.applied(to: user.role)
        user.status = status.value ?? user.status
        if teams.isPresent { user.teams = teams.value ?? [:] }
        return user
    }

    /// `teams`: a list of `{"team_id", "role"}` (role `team_admin` or `member`, default `member`),
    /// each team at most once.
    private static func teams(_ fields: inout BodyFields) -> Field<[String: TeamRole]> {
        guard let value = fields.object["teams"] else { return .absent }
        if value.isNull { return .null }
        guard let items = value.arrayValue else {
            fields.fail("teams", "Input should be a valid list", type: "list_type")
            return .absent
        }
        var teams: [String: TeamRole] = [:]
        var valid = true
        for (index, item) in items.enumerated() {
            var entry = BodyFields(item.objectValue ?? [:])
            guard item.objectValue != nil else {
                fields.fail("teams", "Input should be a valid dictionary", type: "dict_type", path: [.int(Int64(index))])
                valid = false
                continue
            }
            let team = entry.required("team_id", entry.string("team_id", nullable: false, nonEmpty: true, maxLength: 128))
            let role = TeamRoutes.role(entry.literal("role", TeamRoutes.roles, nullable: false).value)
            for error in entry.errors {
                fields.fail("teams", error.message, type: error.type, path: [.int(Int64(index))] + error.location.dropFirst(1))
                valid = false
            }
            guard let team else { continue }
            if teams[team] != nil {
                fields.fail("teams", "Value error, team '\(team)' is listed twice", type: "value_error",
                    path: [.int(Int64(index)), "team_id"])
                valid = false
            }
            teams[team] = TeamRole(rawValue: role) ?? .member
        }
        return valid ? .value(teams) : .absent
    }
}

extension AdminServices {
    /// Each team's alias by id.
    func teamAliases() async throws -> [String: String] {
        Dictionary(try await teams.list().map { ($0.teamID, $0.alias) }, uniquingKeysWith: { first, _ in first })
    }

    /// The id of the user with `email`, inviting them (a new user with no role) if there is none.
    func userID(invitingIfNew email: String, by principal: AdminPrincipal) async throws -> String {
        if let user = try await users.find(email: email) { return user.userID }
        do {
            let user = try await users.create(UserRecord(userID: UUID().wire, email: email, source: .invited))
            try await audit(principal, "user.invite", targetType: "user", targetID: user.userID,
                details: ["email": .string(email)])
            return user.userID
        } catch UserStoreError.conflict {
            // Invited at the same moment by someone else.
            guard let user = try await users.find(email: email) else { throw AdminError.conflict("User changed; retry") }
            return user.userID
        }
    }
}
