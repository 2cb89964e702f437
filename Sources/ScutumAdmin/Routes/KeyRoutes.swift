import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `/api/v1/keys...`: generate, list, show, update, delete, block and unblock gateway keys.
/// The plaintext of a key appears only in the generate response. Team-scoped callers see and
/// change only their teams' keys (team admins) or their own (members), within `TeamKeyRules`.
struct KeyRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.post("/keys/generate") { request, context in try await generate(request, context) }
        group.get("/keys") { request, context in try await list(request, context) }
        group.get("/keys/{key_id}") { _, context in try await show(context) }
        group.post("/keys/update") { request, context in try await update(request, context) }
        group.post("/keys/delete") { request, context in try await delete(request, context) }
        group.post("/keys/block") { request, context in try await setBlocked(true, request, context) }
        group.post("/keys/unblock") { request, context in try await setBlocked(false, request, context) }
    }

    func generate(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        try Self.refuseUnseenTeam(in: fields, for: principal.access)
        let input = try await KeyInput.read(&fields, services: services)
        try fields.finish()

        let settings = try await services.settings.load()
        let now = Date()
        var keySettings = KeySettings(teamID: input.teamID.value, userID: input.userID.value,
            models: input.models.value ?? [],
            rpmLimit: input.rpmLimit.value ?? PlatformSettings.defaultKeyRPM.positiveInteger(in: settings),
            tpmLimit: input.tpmLimit.value ?? PlatformSettings.defaultKeyTPM.positiveInteger(in: settings),
            maxParallelRequests: input.maxParallelRequests.value, metadata: (input.metadata.value ?? [:]).jsonString,
            guardrails: input.guardrails.value ?? .inherit)
        var budgetFields = input.budget
        if principal.access != .admin {
            let rules = try await rules(for: principal.access, team: input.teamID.value)
            let (checked, maxBudget) = try rules.check(role: input.role.value ?? .user, settings: keySettings,
                maxBudget: input.budget.maxBudget.value,
                givenLimits: (input.rpmLimit.value != nil, input.tpmLimit.value != nil))
            keySettings = checked
            if let maxBudget { budgetFields.maxBudget = .value(maxBudget) }
        }
        let (key, record) = try await services.keys.create(alias: input.alias.value, role: input.role.value ?? .user,
            expiresAt: KeyInput.expiry(input.duration.value, now: now), settings: keySettings)
        let budget: BudgetRecord?
        do {
            budget = try await budgetFields.apply(to: .key(record.keyID), in: services.budgets, existing: nil)
        } catch {
            // No key without the budget it was asked for.
            _ = try? await services.keys.delete(hash: record.keyHash)
            throw error
        }
        try await services.audit(principal, "key.generate", targetType: "key", targetID: record.keyID,
            details: ["key_name": .string(record.display), "key_alias": .optional(record.alias),
                "team_id": .optional(keySettings.teamID), "role": .string(record.role.rawValue),
                "fields": .strings(input.presentNames(in: fields))])
        guard case .object(var json) = KeyJSON.json(record, budget: budget, spend: await services.spend(of: budget))
        else { throw AdminError.internalError }
        json["key"] = .string(key)
        return AdminResponse.json(.object(json))
    }

    func list(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let access = try context.requirePrincipal().access
        let query = QueryFields(request)
        let teamID = query.string("team_id")
        if let teamID, !access.sees(team: teamID) { throw TeamRoutes.teamNotFound }
        let records = try await services.keys.list(teamID: teamID)
        let budgets = try await services.budgetsBySubject()
        var keys: [JSONValue] = []
        for record in records where access.sees(key: record) {
            let budget = budgets[.key(record.keyID)]
            keys.append(KeyJSON.json(record, budget: budget, spend: await services.spend(of: budget)))
        }
        return AdminResponse.json(["keys": .array(keys)])
    }

    func show(_ context: AdminRequestContext) async throws -> Response {
        let access = try context.requirePrincipal().access
        let id = try PathParameter.uuid(context, "key_id")
        guard let record = try await services.keys.find(id: id), access.sees(key: record) else { throw Self.keyNotFound }
        return try await respond(record)
    }

    func update(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        try Self.refuseUnseenTeam(in: fields, for: principal.access)
        let located = locate(&fields)
        let input = try await KeyInput.read(&fields, services: services)
        try fields.finish()
        let record = try await changeable(try await located(), by: principal.access, update: true)
        var changed = input.applied(to: record, now: Date())
        var budgetFields = input.budget
        let subject = BudgetSubject.key(record.keyID)
        let existingBudget = try await services.budgets.find(subject)
        if principal.access != .admin {
            let rules = try await rules(for: principal.access, team: changed.settings.teamID)
            let (checked, maxBudget) = try rules.check(role: changed.role, settings: changed.settings,
                maxBudget: budgetFields.maxBudget.applied(to: existingBudget?.maxBudget),
                givenLimits: (input.rpmLimit.value != nil, input.tpmLimit.value != nil))
            changed.settings = checked
            if let maxBudget, maxBudget != existingBudget?.maxBudget { budgetFields.maxBudget = .value(maxBudget) }
        }
        guard let updated = try await services.keys.update(changed) else { throw Self.keyNotFound }
        _ = try await budgetFields.apply(to: subject, in: services.budgets, existing: existingBudget)
        try await services.audit(principal, "key.update", targetType: "key", targetID: record.keyID,
            details: ["key_name": .string(record.display), "fields": .strings(input.presentNames(in: fields))])
        return try await respond(updated)
    }

    func delete(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        let plaintexts = fields.stringList("keys").value ?? []
        let ids = fields.stringList("key_ids").value ?? []
        for (index, id) in ids.enumerated() where UUID(uuidString: id) == nil {
            fields.fail("key_ids", "Input should be a valid UUID", type: "uuid_parsing", path: [.int(Int64(index))])
        }
        if fields.object["keys"] == nil && fields.object["key_ids"] == nil {
            fields.fail("keys", "Field required", type: "missing")
        }
        try fields.finish()

        var records: [KeyRecord] = []
        for key in plaintexts {
            if let record = try await services.keys.find(hash: APIKey.hash(key)) { records.append(record) }
        }
        for id in ids.compactMap(UUID.init(uuidString:)) {
            if let record = try await services.keys.find(id: id) { records.append(record) }
        }
        // Keys the caller cannot see are not there for them; keys they see but may not change are 403.
        records = try records.filter { record in
            guard principal.access.sees(key: record) else { return false }
            guard principal.access.changes(key: record) else { throw Self.notYours }
            return true
        }
        var deleted: [String] = []
        for record in records where !deleted.contains(record.keyID) {
            guard try await services.keys.delete(hash: record.keyHash) else { continue }
            try await services.budgets.delete(.key(record.keyID))
            deleted.append(record.keyID)
            try await services.audit(principal, "key.delete", targetType: "key", targetID: record.keyID,
                details: ["key_name": .string(record.display), "key_alias": .optional(record.alias)])
        }
        guard !deleted.isEmpty else { throw Self.keyNotFound }
        return AdminResponse.json(["deleted": .strings(deleted)])
    }

    func setBlocked(_ blocked: Bool, _ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        let located = locate(&fields)
        try fields.finish()
        let record = try await changeable(try await located(), by: principal.access, update: false)
        guard try await services.keys.setBlocked(hash: record.keyHash, blocked),
            let updated = try await services.keys.find(id: record.id)
        else { throw Self.keyNotFound }
        try await services.audit(principal, blocked ? "key.block" : "key.unblock", targetType: "key",
            targetID: record.keyID, details: ["key_name": .string(record.display)])
        return try await respond(updated)
    }

    /// Reads `key` (plaintext) or `key_id` from the body; the returned lookup runs once the body
    /// has passed validation.
    private func locate(_ fields: inout BodyFields) -> @Sendable () async throws -> KeyRecord? {
        let key = fields.string("key", nonEmpty: true).value
        let id = fields.string("key_id", nonEmpty: true).value
        if key == nil && id == nil && fields.object["key"] == nil && fields.object["key_id"] == nil {
            fields.fail("key", "Field required (send the key as 'key' or its id as 'key_id')", type: "missing")
        }
        if let id, UUID(uuidString: id) == nil {
            fields.fail("key_id", "Input should be a valid UUID", type: "uuid_parsing")
        }
        let keys = services.keys
        return {
            if let key { return try await keys.find(hash: APIKey.hash(key)) }
            if let id = id.flatMap(UUID.init(uuidString:)) { return try await keys.find(id: id) }
            return nil
        }
    }

    private func respond(_ record: KeyRecord) async throws -> Response {
        let budget = try await services.budgets.find(.key(record.keyID))
        return AdminResponse.json(KeyJSON.json(record, budget: budget, spend: await services.spend(of: budget)))
    }

    /// The key if the caller may change it: 404 when there is none or the caller cannot see it,
    /// 403 when they see it but may not change it (a member may block, unblock and revoke their own
    /// keys; changing a key's fields is for its team's admins).
    private func changeable(_ record: KeyRecord?, by access: AdminAccess, update: Bool) async throws -> KeyRecord {
        guard let record, access.sees(key: record) else { throw Self.keyNotFound }
        guard access.changes(key: record) else { throw Self.notYours }
        if update, access != .admin, !access.administers(team: record.settings.teamID) {
            throw AdminError.forbidden("Members revoke or block their keys; the team's admins change them")
        }
        return record
    }

    /// The rules for a team-scoped caller's key in `team` (or their only team).
    private func rules(for access: AdminAccess, team teamID: String?) async throws -> TeamKeyRules {
        let team = try await TeamKeyRules.team(named: teamID, for: access, services: services)
        return TeamKeyRules(access: access, team: team, teamBudget: try await services.budgets.find(.team(team.teamID)))
    }

    /// A team-scoped caller naming a team they are not in gets 404, whether it exists or not.
    private static func refuseUnseenTeam(in fields: BodyFields, for access: AdminAccess) throws {
        guard access != .admin, let team = fields.object["team_id"]?.stringValue, !access.sees(team: team) else { return }
        throw TeamRoutes.teamNotFound
    }

    static let keyNotFound = AdminError.notFound("Key not found")
    static let notYours = AdminError.forbidden("This key belongs to another member of the team")
}
