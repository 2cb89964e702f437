import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `/api/v1/routing-policies`: fallback chains, model groups, the routing strategy and conditional
/// redirects. Every node applies a change on its next request (NOTIFY on the table).
struct RoutingPolicyRoutes {
    let services: AdminServices
    var store: RoutingPolicyStore { RoutingPolicyStore(client: services.dependencies.postgres, logger: services.logger) }

    static let types = ["fallback", "model_group", "routing_strategy", "conditional"]

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/routing-policies") { _, _ in
            AdminResponse.json(["policies": .array(try await store.list().map(Self.json))])
        }
        group.post("/routing-policies") { request, context in
            let principal = try context.requirePrincipal()
            var fields = try await services.body(request)
            let name = fields.required("name", fields.string("name", nullable: false, nonEmpty: true, maxLength: 200))
            let type = fields.required("type", fields.literal("type", Self.types, nullable: false))
            let config = fields.required("config", fields.object("config"))
            let enabled = fields.bool("enabled", nullable: false).value ?? true
            let priority = Self.priority(&fields) ?? 0
            if let type, let config { validate(type: type, config: config, into: &fields) }
            try fields.finish()
            guard let name, let type, let config else { throw AdminError.invalid(["body"], "Invalid policy") }
            let created = try await store.create(RoutingPolicy(name: name, type: type, config: config, enabled: enabled,
                priority: priority))
            try await services.audit(principal, "routing_policy.create", targetType: "routing_policy",
                targetID: created.id.wire, details: ["name": .string(name), "type": .string(type)])
            return AdminResponse.json(Self.json(created))
        }
        group.put("/routing-policies/{id}") { request, context in
            let principal = try context.requirePrincipal()
            var policy = try await find(context)
            var fields = try await services.body(request)
            if let name = fields.string("name", nullable: false, nonEmpty: true, maxLength: 200).value { policy.name = name }
            if let type = fields.literal("type", Self.types, nullable: false).value { policy.type = type }
            if let config = fields.object("config").value { policy.config = config }
            if let enabled = fields.bool("enabled", nullable: false).value { policy.enabled = enabled }
            if let priority = Self.priority(&fields) { policy.priority = priority }
            validate(type: policy.type, config: policy.config, into: &fields)
            try fields.finish()
            guard let updated = try await store.update(policy) else { throw AdminError.notFound("Routing policy not found") }
            try await services.audit(principal, "routing_policy.update", targetType: "routing_policy",
                targetID: policy.id.wire, details: ["fields": .array(fields.object.keys.sorted().map(JSONValue.string))])
            return AdminResponse.json(Self.json(updated))
        }
        group.delete("/routing-policies/{id}") { _, context in
            let principal = try context.requirePrincipal()
            let policy = try await find(context)
            _ = try await store.delete(policy.id)
            try await services.audit(principal, "routing_policy.delete", targetType: "routing_policy",
                targetID: policy.id.wire)
            return AdminResponse.json(["deleted": .string(policy.id.wire)])
        }
    }

    func find(_ context: AdminRequestContext) async throws -> RoutingPolicy {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text),
            let policy = try await store.find(id)
        else { throw AdminError.notFound("Routing policy not found") }
        return policy
    }

    static func priority(_ fields: inout BodyFields) -> Int? {
        guard let value = fields.object["priority"] else { return nil }
        guard let number = value.intValue, abs(number) <= 1_000_000 else {
            fields.fail("priority", "Input should be a valid integer", type: "int_type")
            return nil
        }
        return Int(number)
    }

    /// Checks a policy's config for its type; model names must be in the catalog.
    func validate(type: String, config: JSONValue, into fields: inout BodyFields) {
        let known = Set(services.dependencies.catalogModels().map(\.name))
        func model(_ key: String) {
            guard let name = config[key]?.stringValue, !name.isEmpty else {
                fields.fail("config", "Field required", type: "missing", path: [.string(key)])
                return
            }
            if !known.contains(name) {
                fields.fail("config", "Unknown model '\(name)'", type: "value_error", path: [.string(key)])
            }
        }
        func models(_ key: String) {
            guard let names = config[key]?.arrayValue, !names.isEmpty, names.allSatisfy({ $0.stringValue != nil }) else {
                fields.fail("config", "Should be a non-empty list of model names", type: "list_type", path: [.string(key)])
                return
            }
            for (index, name) in names.compactMap(\.stringValue).enumerated() where !known.contains(name) {
                fields.fail("config", "Unknown model '\(name)'", type: "value_error", path: [.string(key), .int(Int64(index))])
            }
        }
        switch type {
        case "fallback":
            model("model")
            models("fallbacks")
        case "model_group":
            if (config["alias"]?.stringValue ?? "").isEmpty {
                fields.fail("config", "Field required", type: "missing", path: ["alias"])
            }
            models("models")
        case "routing_strategy":
            let name = config["strategy"]?.stringValue ?? ""
            if RoutingRules.Strategy(rawValue: name) == nil {
                let choices = RoutingRules.Strategy.allCases.map(\.rawValue).joined(separator: ", ")
                fields.fail("config", "Input should be one of: \(choices)", type: "literal_error", path: ["strategy"])
            }
            if let args = config["args"], args.objectValue == nil, !args.isNull {
                fields.fail("config", "Input should be a valid dictionary", type: "dict_type", path: ["args"])
            }
        case "conditional":
            if let condition = config["condition"]?.objectValue {
                let known = ConditionalRoute.Condition.fields
                for name in condition.keys.sorted() where !known.contains(name) {
                    fields.fail("config", "Unknown condition field; expected one of: \(known.sorted().joined(separator: ", "))",
                        type: "value_error", path: ["condition", .string(name)])
                }
                if condition.isEmpty {
                    fields.fail("config", "The condition needs at least one field", type: "value_error", path: ["condition"])
                }
                for name in ["team_id", "key_alias", "user_id"] {
                    guard let value = condition[name] else { continue }
                    let valid = value.stringValue != nil
                        || (value.arrayValue.map { $0.allSatisfy { $0.stringValue != nil } } ?? false)
                    if !valid {
                        fields.fail("config", "Input should be a string or a list of strings", type: "value_error",
                            path: ["condition", .string(name)])
                    }
                }
                for name in ["min_prompt_tokens", "max_prompt_tokens"] {
                    if let value = condition[name], (value.doubleValue ?? -1) < 0 {
                        fields.fail("config", "Input should be a non-negative integer", type: "int_type",
                            path: ["condition", .string(name)])
                    }
                }
                if let metadata = condition["metadata"], metadata.objectValue == nil {
                    fields.fail("config", "Input should be a valid dictionary", type: "dict_type", path: ["condition", "metadata"])
                }
            } else {
                fields.fail("config", "Input should be a valid dictionary", type: "dict_type", path: ["condition"])
            }
            model("source_model")
            model("redirect_to")
        default:
            break
        }
    }

    static func json(_ policy: RoutingPolicy) -> JSONValue {
        [
            "id": .string(policy.id.wire), "name": .string(policy.name), "type": .string(policy.type),
            "config": policy.config, "enabled": .bool(policy.enabled), "priority": .int(Int64(policy.priority)),
            "created_at": .optional(policy.createdAt),
        ]
    }
}
