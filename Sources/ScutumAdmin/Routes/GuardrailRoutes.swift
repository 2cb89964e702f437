import Foundation
import Hummingbird
import ScutumCore
import ScutumGuardrails
import ScutumStore

/// `/api/v1/guardrails`: guardrail profiles (their detectors, where they run, what a hit does) and
/// which teams they apply to. The default profile covers keys whose team has no assignment. Every
/// node reloads profiles and assignments on NOTIFY `guardrail`; the `enable_guardrails` setting
/// turns them all off.
struct GuardrailRoutes {
    let services: AdminServices
    var store: GuardrailConfigStore { services.guardrailConfigs }

    static let modes = GuardrailConfig.Mode.allCases.map(\.rawValue)
    static let onFail = GuardrailConfig.OnFail.allCases.map(\.rawValue)
    /// The fields a profile body may have; anything else is refused, so a misspelt detector is not
    /// silently left off.
    static let fieldNames = GuardrailProfileFields.names.union(
        ["name", "description", "mode", "on_fail", "is_active", "is_default"])
    static let configNotFound = AdminError.notFound("Guardrail config not found")

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/guardrails") { _, _ in
            AdminResponse.json(["guardrails": .array(try await store.list().map(Self.json))])
        }
        group.post("/guardrails") { request, context in try await create(request, context) }
        group.get("/guardrails/{id}") { _, context in AdminResponse.json(Self.json(try await find(context))) }
        group.put("/guardrails/{id}") { request, context in try await update(request, context) }
        group.delete("/guardrails/{id}") { _, context in
            let principal = try context.requirePrincipal()
            let config = try await find(context)
            _ = try await store.delete(config.id)
            try await services.audit(principal, "guardrail.delete", targetType: "guardrail",
                targetID: config.id.wire, details: ["name": .string(config.name)])
            return AdminResponse.json(["deleted": .string(config.id.wire)])
        }
        group.post("/guardrails/{id}/assign/{team_id}") { request, context in try await assign(request, context) }
        group.delete("/guardrails/{id}/assign/{team_id}") { _, context in try await unassign(context) }
    }

    func create(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        fields.rejectUnknown(allowed: Self.fieldNames)
        let name = fields.required("name", fields.string("name", nullable: false, nonEmpty: true, maxLength: 200))
        var config = GuardrailConfig(name: name ?? "", config: .object(GuardrailProfileFields.defaults))
        apply(&fields, to: &config)
        try fields.finish()
        if try await store.find(name: config.name) != nil {
            throw AdminError.conflict("A guardrail config named '\(config.name)' already exists")
        }
        let created = try await store.create(config)
        try await services.audit(principal, "guardrail.create", targetType: "guardrail",
            targetID: created.id.wire,
            details: ["name": .string(created.name), "fields": .strings(fields.object.keys.sorted())])
        return AdminResponse.json(Self.json(created))
    }

    func update(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var config = try await find(context)
        var fields = try await services.body(request)
        fields.rejectUnknown(allowed: Self.fieldNames)
        if let name = fields.string("name", nullable: false, nonEmpty: true, maxLength: 200).value { config.name = name }
        apply(&fields, to: &config)
        try fields.finish()
        if let other = try await store.find(name: config.name), other.id != config.id {
            throw AdminError.conflict("A guardrail config named '\(config.name)' already exists")
        }
        guard let updated = try await store.update(config) else { throw Self.configNotFound }
        try await services.audit(principal, "guardrail.update", targetType: "guardrail",
            targetID: config.id.wire, details: ["fields": .strings(fields.object.keys.sorted())])
        return AdminResponse.json(Self.json(updated))
    }

    /// Reads every field but the name into `config`; detector fields go over what it already has.
    func apply(_ fields: inout BodyFields, to config: inout GuardrailConfig) {
        config.description = fields.string("description", maxLength: 2000).applied(to: config.description)
        if let mode = fields.literal("mode", Self.modes, nullable: false).value { config.mode = .init(rawValue: mode) ?? .both }
        if let onFail = fields.literal("on_fail", Self.onFail, nullable: false).value {
            config.onFail = .init(rawValue: onFail) ?? .block
        }
        if let active = fields.bool("is_active", nullable: false).value { config.isActive = active }
        if let isDefault = fields.bool("is_default", nullable: false).value { config.isDefault = isDefault }
        var detectors = GuardrailProfileFields.defaults.merging(config.config.objectValue ?? [:]) { $1 }
        GuardrailProfileFields.apply(&fields, to: &detectors)
        config.config = .object(detectors)
        guard fields.errors.isEmpty else { return }
        // The proxy compiles what is stored with the detectors' parser: whatever it refuses is refused here.
        do throws(GuardrailProfileError) {
            _ = try Self.profile(config)
        } catch {
            for problem in error.problems {
                guard let field = problem.path.first?.stringValue else { continue }
                fields.fail(field, problem.message, type: problem.type, path: Array(problem.path.dropFirst()))
            }
        }
    }

    /// The profile the proxy runs for a stored config: its columns and detector fields, parsed by
    /// `GuardrailProfile(json:)`.
    static func profile(_ config: GuardrailConfig) throws(GuardrailProfileError) -> GuardrailProfile {
        try GuardrailProfile(config: config)
    }

    // MARK: - Assignments

    func assign(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var query = QueryFields(request)
        let priority = query.integer("priority", default: 0, range: GuardrailAssignmentStore.priorities)
        try query.finish()
        let config = try await find(context)
        let teamID = try PathParameter.string(context, "team_id")
        guard try await services.teamExists(teamID) else { throw TeamRoutes.teamNotFound }
        let assignment = try await services.guardrailAssignments.assign(configID: config.id, teamID: teamID,
            priority: priority)
        try await services.audit(principal, "guardrail.assign", targetType: "guardrail",
            targetID: config.id.wire,
            details: ["team_id": .string(teamID), "priority": .int(Int64(priority))])
        return AdminResponse.json(Self.json(assignment))
    }

    func unassign(_ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let config = try await find(context)
        let teamID = try PathParameter.string(context, "team_id")
        guard try await services.teamExists(teamID) else { throw TeamRoutes.teamNotFound }
        guard try await services.guardrailAssignments.unassign(configID: config.id, teamID: teamID) else {
            throw AdminError.notFound("Guardrail assignment not found")
        }
        try await services.audit(principal, "guardrail.unassign", targetType: "guardrail",
            targetID: config.id.wire, details: ["team_id": .string(teamID)])
        return AdminResponse.json(["deleted": true, "team_id": .string(teamID),
            "guardrail_config_id": .string(config.id.wire)])
    }

    func find(_ context: AdminRequestContext) async throws -> GuardrailConfig {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text), let config = try await store.find(id)
        else { throw Self.configNotFound }
        return config
    }

    // MARK: - Output

    /// A profile: its columns and every detector field (defaults filled in).
    static func json(_ config: GuardrailConfig) -> JSONValue {
        var fields = GuardrailProfileFields.defaults.merging(config.config.objectValue ?? [:]) { $1 }
        fields.merge([
            "id": .string(config.id.wire), "name": .string(config.name),
            "description": .optional(config.description), "mode": .string(config.mode.rawValue),
            "on_fail": .string(config.onFail.rawValue), "is_default": .bool(config.isDefault),
            "is_active": .bool(config.isActive), "created_at": .optional(config.createdAt),
            "updated_at": .optional(config.updatedAt),
        ]) { $1 }
        return .object(fields)
    }

    /// An assignment, as `GET /guardrail-assignments` lists it.
    static func json(_ assignment: GuardrailAssignment) -> JSONValue {
        [
            "id": .string(assignment.id.wire), "team_id": .string(assignment.teamID),
            "team_name": .string(assignment.teamName),
            "guardrail_config_id": .string(assignment.configID.wire),
            "config_name": .string(assignment.configName), "priority": .int(Int64(assignment.priority)),
            "created_at": .optional(assignment.createdAt),
        ]
    }
}
