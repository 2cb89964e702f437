import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `/api/v1/models...`: the catalog file's models merged with the operator's overrides, each once,
/// with its deployments (a pool has several) and their circuit breakers.
///
/// `{model_id}` is a model name or a deployment id: an update to a model applies to each of its
/// deployments, an update to a deployment id to that one alone (over the model's).
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
        let deployments = services.dependencies.catalogModels()
        var seen: Set<String> = []
        let models = deployments.compactMap { deployment -> JSONValue? in
            guard seen.insert(deployment.name).inserted else { return nil }
            return json(pool: deployments.filter { $0.name == deployment.name }, overrides: overrides)
        }
        return AdminResponse.json(["models": .array(models)])
    }

    func show(_ context: AdminRequestContext) async throws -> Response {
        let target = try find(context)
        let overrides = try await overridesByName()
        if target.id != target.name, try PathParameter.string(context, "model_id") == target.id {
            return AdminResponse.json(deploymentJSON(target, overrides: overrides, health: health([target.id]).first))
        }
        return AdminResponse.json(json(pool: services.dependencies.catalogModels().filter { $0.name == target.name },
            overrides: overrides))
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
        let subject = try PathParameter.string(context, "model_id")

        var override = try await overridesByName()[subject] ?? ModelOverride(modelName: subject)
        override.inputCostPerToken = inputCost.applied(to: override.inputCostPerToken)
        override.outputCostPerToken = outputCost.applied(to: override.outputCostPerToken)
        override.rpm = rpm.applied(to: override.rpm)
        override.tpm = tpm.applied(to: override.tpm)
        override.active = active.applied(to: override.active)
        override.tier = tier.applied(to: override.tier)
        override.capabilities = capabilities.map(\.jsonString).applied(to: override.capabilities)
        override.credentials = credentials.applied(to: override.credentials)
        try await services.modelOverrides.save(override)
        try await services.audit(principal, "model.update", targetType: "model", targetID: subject,
            details: ["fields": .strings(fields.object.keys.sorted())])
        var overrides = try await overridesByName()
        overrides[subject] = override
        if subject != model.name {
            return AdminResponse.json(deploymentJSON(model, overrides: overrides, health: health([model.id]).first))
        }
        return AdminResponse.json(json(pool: services.dependencies.catalogModels().filter { $0.name == model.name },
            overrides: overrides))
    }

    /// The model (its first deployment) with this name, or the deployment with this id.
    private func find(_ context: AdminRequestContext) throws -> ModelDeployment {
        let name = try PathParameter.string(context, "model_id")
        let deployments = services.dependencies.catalogModels()
        guard let model = deployments.first(where: { $0.name == name }) ?? deployments.first(where: { $0.id == name })
        else {
            throw Self.modelNotFound
        }
        return model
    }

    private func health(_ ids: [String]) -> [String] {
        services.dependencies.deploymentHealth?(ids) ?? ids.map { _ in "unknown" }
    }

    /// A model: its first deployment's fields (with the model's override), and every deployment.
    private func json(pool: [ModelDeployment], overrides: [String: ModelOverride]) -> JSONValue {
        guard var model = Self.json(pool[0], override: overrides[pool[0].name]).objectValue else { return .null }
        let states = health(pool.map(\.id))
        model["deployments"] = .array(zip(pool, states).map { deploymentJSON($0, overrides: overrides, health: $1) })
        return .object(model)
    }

    /// One deployment with the model's override, then its own, applied.
    private func deploymentJSON(_ deployment: ModelDeployment, overrides: [String: ModelOverride], health: String?)
        -> JSONValue
    {
        let own = deployment.id == deployment.name ? nil : overrides[deployment.id]
        let model = overrides[deployment.name]
        return [
            "id": .string(deployment.id), "model_name": .string(deployment.name),
            "provider": .string(deployment.provider.rawValue), "model": .string(deployment.upstreamModel),
            "api_base": .optional(services.dependencies.deploymentEndpoint?(deployment)),
            "credentials": .string(own?.credentials ?? model?.credentials ?? deployment.credentials),
            "weight": deployment.weight.map(JSONValue.double) ?? .null, "priority": .int(Int64(deployment.priority)),
            "rpm": .optional(own?.rpm ?? model?.rpm ?? deployment.rpm),
            "tpm": .optional(own?.tpm ?? model?.tpm ?? deployment.tpm),
            "input_cost_per_token": .double(own?.inputCostPerToken ?? model?.inputCostPerToken ?? deployment.inputCostPerToken),
            "output_cost_per_token": .double(
                own?.outputCostPerToken ?? model?.outputCostPerToken ?? deployment.outputCostPerToken),
            "active": .bool((own?.active ?? true) && (model?.active ?? true)),
            "health": .optional(health),
        ]
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
