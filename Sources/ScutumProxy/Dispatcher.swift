import Logging
import ScutumCore
import ScutumProviders

/// Resolves a model name to deployments and calls them in order until one answers.
///
/// Errors that are the client's (400) end the attempt at once. When a single deployment fails,
/// the client gets that failure's status (500 for a provider failure, 429 for its rate limit);
/// when several were tried and all failed, a 503 naming each one and why.
struct Dispatcher: Sendable {
    let catalog: CatalogHolder
    let providers: ProviderRegistry
    let logger: Logger

    func targets(for model: String, mode: ModelMode) throws(GatewayError) -> [RoutableDeployment] {
        try catalog.current.resolve(model, mode: mode)
    }

    /// Calls `operation` on each target in turn; returns the first success and who served it.
    func dispatch<Result>(
        _ model: String, mode: ModelMode, allowed: Set<String>? = nil,
        _ operation: (any ProviderAdapter, RoutableDeployment) async throws(ProviderError) -> Result
    ) async throws(GatewayError) -> (Result, RoutableDeployment) {
        var targets = try targets(for: model, mode: mode)
        if let allowed, !allowed.contains(model) {
            targets = targets.filter { allowed.contains($0.deployment.name) }
            guard !targets.isEmpty else {
                throw GatewayError(status: 403, message: "This API key is not allowed to use the model '\(model)'.",
                    type: "permission_error", param: "model", code: "model_not_allowed")
            }
        }
        var failures: [(RoutableDeployment, ProviderError)] = []
        for target in targets {
            guard let adapter = providers.adapter(for: target.deployment.provider) else {
                failures.append((target, ProviderError(.status(501), "no adapter for \(target.deployment.provider)")))
                continue
            }
            do {
                return (try await operation(adapter, target), target)
            } catch {
                logger.warning("provider call failed", metadata: [
                    "model": "\(target.deployment.name)", "provider": "\(target.deployment.provider.rawValue)",
                    "error": "\(error.message)",
                ])
                if !error.isRetryable { throw error.gatewayError(model: target.deployment.name) }
                failures.append((target, error))
            }
        }
        if failures.count == 1, let (target, error) = failures.first {
            throw error.gatewayError(model: target.deployment.name)
        }
        let tried = failures.map { "\($0.0.deployment.name) (\($0.1.gatewayError(model: $0.0.deployment.name).code ?? "error"): \($0.1.message))" }
        throw GatewayError.noDeployment(
            "Every deployment for '\(model)' failed. Tried, in order: \(tried.joined(separator: "; ")).")
    }
}
