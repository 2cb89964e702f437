import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `/api/v1/models...`: the catalog file's models merged with the operator's overrides.
struct ModelRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/models") { _, _ in try await list() }
        group.get("/models/{model_id}") { _, context in try await show(context) }
        group.put("/models/{model_id}") { request, context in try await update(request, context) }
    }

    static let modelNotFound = AdminError.notFound("Model not found")

    func list() async throws -> Response {
        let overrides = try await overridesByName()
        let models = services.dependencies.catalogModels().map { Self.json($0, override: overrides[$0.name]) }
        return AdminResponse.json(["models": .array(models)])
    }

    func show(_ context: AdminRequestContext) async throws -> Response {
        let model = try find(context)
        return AdminResponse.json(Self.json(model, override: try await overridesByName()[model.name]))
    }

    func update(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        let inputCost = fields.amount("input_cost_per_token")
        let outputCost = fields.amount("output_cost_per_token")
        let rpm = fields.positiveInt("rpm")
        let tpm = fields.positiveInt("tpm")
        let active = fields.bool("active")
        let tier = fields.string("tier", maxLength: 64)
        let capabilities = fields.structured("capabilities")
        let credentials = fields.string("credentials", nonEmpty: true, maxLength: 256)
        try fields.finish()
        let model = try find(context)

        var override = try await overridesByName()[model.name] ?? ModelOverride(modelName: model.name)
        override.inputCostPerToken = inputCost.applied(to: override.inputCostPerToken)
        override.outputCostPerToken = outputCost.applied(to: override.outputCostPerToken)
        override.rpm = rpm.applied(to: override.rpm)
        override.tpm = tpm.applied(to: override.tpm)
        override.active = active.applied(to: override.active)
        override.tier = tier.applied(to: override.tier)
        override.capabilities = capabilities.map(\.jsonString).applied(to: override.capabilities)
        override.credentials = credentials.applied(to: override.credentials)
        try await services.modelOverrides.save(override)
        try await services.audit(principal, "model.update", targetType: "model", targetID: model.name,
            details: ["fields": .strings(fields.object.keys.sorted())])
        return AdminResponse.json(Self.json(model, override: override))
    }

    private func find(_ context: AdminRequestContext) throws -> ModelDeployment {
        let name = try PathParameter.string(context, "model_id")
        guard let model = services.dependencies.catalogModels().first(where: { $0.name == name }) else {
            throw Self.modelNotFound
        }
        return model
    }

    private func overridesByName() async throws -> [String: ModelOverride] {
        var overrides: [String: ModelOverride] = [:]
        for override in try await services.modelOverrides.list() { overrides[override.modelName] = override }
        return overrides
    }

    /// A catalog model with its override applied.
    static func json(_ model: ModelDeployment, override: ModelOverride?) -> JSONValue {
        [
            "model_name": .string(model.name), "provider": .string(model.provider.rawValue),
            "model": .string(model.upstreamModel), "mode": .string(model.mode.rawValue),
            "input_cost_per_token": .double(override?.inputCostPerToken ?? model.inputCostPerToken),
            "output_cost_per_token": .double(override?.outputCostPerToken ?? model.outputCostPerToken),
            "rpm": .optional(override?.rpm ?? model.rpm), "tpm": .optional(override?.tpm ?? model.tpm),
            "context_window": .optional(model.contextWindow), "max_output_tokens": .optional(model.maxOutputTokens),
            "credentials": .string(override?.credentials ?? model.credentials),
            "active": .bool(override?.active ?? true), "tier": .optional(override?.tier),
            "capabilities": .stored(override?.capabilities),
        ]
    }
}
