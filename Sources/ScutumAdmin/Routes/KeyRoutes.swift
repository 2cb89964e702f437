import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `/api/v1/keys...`: generate, list, show, update, delete, block and unblock gateway keys.
/// The plaintext of a key appears only in the generate response.
struct KeyRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.post("/keys/generate") { request, context in try await generate(request, context) }
        group.get("/keys") { request, _ in try await list(request) }
        group.get("/keys/{key_id}") { _, context in try await show(context) }
        group.post("/keys/update") { request, context in try await update(request, context) }
        group.post("/keys/delete") { request, context in try await delete(request, context) }
        group.post("/keys/block") { request, context in try await setBlocked(true, request, context) }
        group.post("/keys/unblock") { request, context in try await setBlocked(false, request, context) }
    }

    func generate(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        let input = try await KeyInput.read(&fields, services: services)
        try fields.finish()

        let settings = try await services.settings.load()
        let now = Date()
        let keySettings = KeySettings(teamID: input.teamID.value, userID: input.userID.value,
            models: input.models.value ?? [],
            rpmLimit: input.rpmLimit.value ?? PlatformSettings.defaultKeyRPM.positiveInteger(in: settings),
            tpmLimit: input.tpmLimit.value ?? PlatformSettings.defaultKeyTPM.positiveInteger(in: settings),
            maxParallelRequests: input.maxParallelRequests.value, metadata: (input.metadata.value ?? [:]).jsonString,
            guardrails: input.guardrails.value ?? .inherit)
        let (key, record) = try await services.keys.create(alias: input.alias.value, role: input.role.value ?? .user,
            expiresAt: KeyInput.expiry(input.duration.value, now: now), settings: keySettings)
        let budget: BudgetRecord?
        do {
            budget = try await input.budget.apply(to: .key(record.keyID), in: services.budgets, existing: nil)
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

    func list(_ request: Request) async throws -> Response {
        let query = QueryFields(request)
        let records = try await services.keys.list(teamID: query.string("team_id"))
        let budgets = try await services.budgetsBySubject()
        var keys: [JSONValue] = []
        for record in records {
            let budget = budgets[.key(record.keyID)]
            keys.append(KeyJSON.json(record, budget: budget, spend: await services.spend(of: budget)))
        }
        return AdminResponse.json(["keys": .array(keys)])
    }

    func show(_ context: AdminRequestContext) async throws -> Response {
        let id = try PathParameter.uuid(context, "key_id")
        guard let record = try await services.keys.find(id: id) else { throw Self.keyNotFound }
        return try await respond(record)
    }

    func update(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        let located = locate(&fields)
        let input = try await KeyInput.read(&fields, services: services)
        try fields.finish()
        guard let record = try await located() else { throw Self.keyNotFound }

        guard let updated = try await services.keys.update(input.applied(to: record, now: Date())) else {
            throw Self.keyNotFound
        }
        let subject = BudgetSubject.key(record.keyID)
        _ = try await input.budget.apply(to: subject, in: services.budgets,
            existing: try await services.budgets.find(subject))
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
        guard let record = try await located(),
            try await services.keys.setBlocked(hash: record.keyHash, blocked),
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

    static let keyNotFound = AdminError.notFound("Key not found")
}
