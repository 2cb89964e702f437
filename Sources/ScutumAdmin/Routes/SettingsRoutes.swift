import Hummingbird
import ScutumCore

/// `/api/v1/settings`: the platform settings object, read whole and updated by partial merge.
struct SettingsRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/settings") { _, _ in AdminResponse.json(try await services.settings.load()) }
        group.get("/settings/schema") { _, _ in AdminResponse.json(.array(PlatformSettings.all.map(\.schema))) }
        group.put("/settings") { request, context in try await update(request, context) }
    }

    func update(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        fields.rejectUnknown(allowed: Set(PlatformSettings.all.map(\.name)))
        var changes: [String: JSONValue] = [:]
        for setting in PlatformSettings.all {
            let name = setting.name
            switch setting.kind {
            case .positiveInteger:
                if let value = fields.positiveInt(name, nullable: false).value { changes[name] = .int(Int64(value)) }
            case .flag:
                if let value = fields.bool(name, nullable: false).value { changes[name] = .bool(value) }
            case .string:
                // `null` unsets (`default_model`: a request without `model` is then 400 again).
                switch fields.string(name, nullable: true, nonEmpty: true, maxLength: 256) {
                case .value(let value): changes[name] = .string(value)
                case .null: changes[name] = .null
                case .absent: break
                }
            case .stringList:
                if let value = fields.stringList(name).value { changes[name] = .strings(value) }
            }
        }
        try fields.finish()
        let alertProblems = AlertSettingFields.problems(in: changes)
        if !alertProblems.isEmpty { throw AdminError.validation(alertProblems) }

        var settings = try await services.settings.load().objectValue ?? [:]
        settings.merge(changes) { _, new in new }
        try await services.settings.save(.object(settings))
        try await services.audit(principal, "settings.update", targetType: "settings", targetID: nil,
            details: .object(changes))
        return AdminResponse.json(.object(settings))
    }
}
