import Hummingbird
import ScutumCore

/// `/api/v1/settings`: the platform settings object, read whole and updated by partial merge.
struct SettingsRoutes {
    let services: AdminServices

    /// The settings an operator may change, by kind.
    static let positiveIntegers = ["global_rate_limit", "default_key_rpm", "default_key_tpm"]
    static let flags = [
        "enable_budget_enforcement", "enable_cost_tracking", "enable_guardrails", "enable_routing_policies",
        "maintenance_mode",
    ]
    static let strings = ["default_model"]
    /// Lists of strings: `mcp_allowed_hosts` (host names, IPs or CIDR blocks MCP servers may use
    /// although they are internal).
    static let stringLists = ["mcp_allowed_hosts"]

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/settings") { _, _ in AdminResponse.json(try await services.settings.load()) }
        group.put("/settings") { request, context in try await update(request, context) }
    }

    func update(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        fields.rejectUnknown(allowed: Set(Self.positiveIntegers + Self.flags + Self.strings + Self.stringLists))
        var changes: [String: JSONValue] = [:]
        for name in Self.positiveIntegers {
            if let value = fields.positiveInt(name, nullable: false).value { changes[name] = .int(Int64(value)) }
        }
        for name in Self.flags {
            if let value = fields.bool(name, nullable: false).value { changes[name] = .bool(value) }
        }
        for name in Self.strings {
            // `null` unsets (`default_model`: a request without `model` is then 400 again).
            switch fields.string(name, nullable: true, nonEmpty: true, maxLength: 256) {
            case .value(let value): changes[name] = .string(value)
            case .null: changes[name] = .null
            case .absent: break
            }
        }
        for name in Self.stringLists {
            if let value = fields.stringList(name).value { changes[name] = .strings(value) }
        }
        try fields.finish()

        var settings = try await services.settings.load().objectValue ?? [:]
        settings.merge(changes) { _, new in new }
        try await services.settings.save(.object(settings))
        try await services.audit(principal, "settings.update", targetType: "settings", targetID: nil,
            details: .object(changes))
        return AdminResponse.json(.object(settings))
    }
}
