import Foundation
import ScutumCore
import ScutumStore

/// The fields of `POST /keys/generate` and `POST /keys/update`, validated; every field optional.
struct KeyInput {
    var alias: Field<String>
    var teamID: Field<String>
    var userID: Field<String>
    var models: Field<[String]>
    var budget: BudgetFields
    var rpmLimit: Field<Int>
    var tpmLimit: Field<Int>
    var maxParallelRequests: Field<Int>
    /// The key's lifetime from now (`90d`, `12h`...); null means it never expires.
    var duration: Field<BudgetDuration>
    var metadata: Field<JSONValue>
    var role: Field<KeyRole>
    var blocked: Field<Bool>
    /// `"inherit"`, `"off"`, or ids of guardrail profiles to run besides the inherited ones.
    var guardrails: Field<KeyGuardrails>

    /// The names of the generate/update fields (besides the key's identity).
    static let names = [
        "key_alias", "team_id", "user_id", "models", "max_budget", "soft_budget", "budget_duration", "rpm_limit",
        "tpm_limit", "max_parallel_requests", "duration", "metadata", "role", "blocked",
        "guardrails",
    ]

    /// Reads the fields; a `team_id` naming no team is a field error too.
    static func read(_ fields: inout BodyFields, services: AdminServices) async throws -> KeyInput {
        let input = KeyInput(
            alias: fields.string("key_alias", maxLength: 256), teamID: fields.string("team_id", nonEmpty: true),
            userID: fields.string("user_id", nonEmpty: true, maxLength: 256), models: fields.stringList("models"),
            budget: BudgetFields(&fields), rpmLimit: fields.positiveInt("rpm_limit"),
            tpmLimit: fields.positiveInt("tpm_limit"), maxParallelRequests: fields.positiveInt("max_parallel_requests"),
            duration: fields.duration("duration", fixedOnly: true), metadata: fields.metadata("metadata"),
            role: fields.literal("role", KeyRole.allCases.map(\.rawValue), nullable: false).map { KeyRole(rawValue: $0) ?? .user }, blocked: fields.bool("blocked", nullable: false),
            guardrails: try await guardrails(&fields, services: services))
        if let team = input.teamID.value, try await !services.teamExists(team) {
            fields.fail("team_id", "Value error, team '\(team)' does not exist", type: "value_error")
        }
        return input
    }

    /// `guardrails`: `"inherit"` (also null or an empty list), `"off"`, or a list of existing guardrail
    /// profile ids (duplicates dropped).
    static func guardrails(_ fields: inout BodyFields, services: AdminServices) async throws -> Field<KeyGuardrails> {
        guard let value = fields.object["guardrails"] else { return .absent }
        if value.isNull || value == "inherit" || value == "off" || value == [] {
            return .value(KeyGuardrails(json: value))
        }
        guard let items = value.arrayValue else {
            fields.fail("guardrails", "Input should be 'inherit', 'off' or a list of guardrail config ids",
                type: "value_error")
            return .absent
        }
        let known = Set(try await services.guardrailConfigs.list().map(\.id))
        var ids: [UUID] = []
        var valid = true
        for (index, item) in items.enumerated() {
            guard let id = item.stringValue.flatMap(UUID.init(uuidString:)), known.contains(id) else {
                fields.fail("guardrails", "Value error, no guardrail config with this id", type: "value_error",
                    path: [.int(Int64(index))])
                valid = false
                continue
            }
            if !ids.contains(id) { ids.append(id) }
        }
        return valid ? .value(.extra(ids)) : .absent
    }

    /// The names of the fields the body mentioned, for audit entries (never their values).
    func presentNames(in fields: BodyFields) -> [String] {
        Self.names.filter { fields.object[$0] != nil }
    }

    /// When a key with this lifetime made now expires.
    static func expiry(_ duration: BudgetDuration?, now: Date) -> Date? {
        duration?.fixedSeconds.map { now.addingTimeInterval(TimeInterval($0)) }
    }

    /// `record` with the present fields applied.
    func applied(to record: KeyRecord, now: Date) -> KeyRecord {
        var record = record
        record.alias = alias.applied(to: record.alias)
        record.role = role.value ?? record.role
        record.blocked = blocked.value ?? record.blocked
        if duration.isPresent { record.expiresAt = Self.expiry(duration.value, now: now) }
        var settings = record.settings
        settings.teamID = teamID.applied(to: settings.teamID)
        settings.userID = userID.applied(to: settings.userID)
        settings.models = models.applied(to: settings.models) ?? []
        settings.rpmLimit = rpmLimit.applied(to: settings.rpmLimit)
        settings.tpmLimit = tpmLimit.applied(to: settings.tpmLimit)
        settings.maxParallelRequests = maxParallelRequests.applied(to: settings.maxParallelRequests)
        if metadata.isPresent { settings.metadata = (metadata.value ?? [:]).jsonString }
        if let guardrails = guardrails.value { settings.guardrails = guardrails }
        record.settings = settings
        return record
    }
}

/// The JSON form of a key: never the plaintext, which only the generate response adds.
enum KeyJSON {
    static func json(_ record: KeyRecord, budget: BudgetRecord?, spend: Double?) -> JSONValue {
        let settings = record.settings
        var fields: [String: JSONValue] = [
            "key_id": .string(record.id.wire), "key_name": .string(record.display),
            "key_alias": .optional(record.alias), "team_id": .optional(settings.teamID),
            "user_id": .optional(settings.userID), "models": .strings(settings.models),
            "rpm_limit": .optional(settings.rpmLimit), "tpm_limit": .optional(settings.tpmLimit),
            "max_parallel_requests": .optional(settings.maxParallelRequests), "expires": .optional(record.expiresAt),
            "metadata": .stored(settings.metadata, fallback: [:]), "role": .string(record.role.rawValue),
            "blocked": .bool(record.blocked), "guardrails": settings.guardrails.json,
            "created_at": .optional(record.createdAt),
        ]
        fields.merge(BudgetFields.json(budget, spend: spend)) { _, budget in budget }
        return .object(fields)
    }
}
