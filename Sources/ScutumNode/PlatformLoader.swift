import Foundation
import Logging
import PostgresNIO
import ScutumCluster
import ScutumCore
import ScutumProxy
import ScutumStore
import Synchronization

/// Loads what the Admin API manages (settings, teams, budgets, model overrides) into the node's
/// memory, at start and whenever a change is announced, so requests never wait on PostgreSQL.
struct PlatformLoader: Sendable {
    let platform: PlatformState
    let catalog: CatalogHolder
    /// The catalog from the models file, before any operator change.
    let baseCatalog: ModelCatalog
    let postgres: PostgresClient
    let logger: Logger
    /// The overrides the catalog was last built with, so an unchanged reload leaves it alone.
    let applied = AppliedOverrides()

    /// Everything the node caches from PostgreSQL, with the change kinds that reload each part.
    static let kinds: Set<InvalidationKind> = [.settings, .team, .budget, .model, .routing, .guardrail]

    /// Reloads the parts named by `kinds`; failures are logged and the previous state kept.
    func reload(_ kinds: Set<InvalidationKind> = Self.kinds) async {
        do {
            if kinds.contains(.settings) {
                let settings = try await SettingsStore(client: postgres, logger: logger).load()
                platform.update { $0.apply(settings: settings) }
            }
            if kinds.contains(.team) {
                let teams = try await TeamStore(client: postgres, logger: logger).list()
                let byID = Dictionary(teams.map { team in
                    let metadata = (try? RequestJSON.parse(Array(team.metadata.utf8)))?.objectValue ?? [:]
                    return (team.teamID, PlatformSnapshot.Team(models: team.models, blocked: team.blocked,
                        cache: ResponseCacheSettings.Override(metadata: metadata)))
                }, uniquingKeysWith: { _, last in last })
                platform.update {
                    $0.teams = byID
                    $0.someTeamCaches = byID.values.contains { $0.cache?.enabled == true }
                }
            }
            if kinds.contains(.budget) {
                let budgets = try await BudgetStore(client: postgres, logger: logger).list()
                let bySubject = Dictionary(budgets.map { ($0.subject, $0) }, uniquingKeysWith: { _, last in last })
                platform.update { $0.budgets = bySubject }
            }
            if kinds.contains(.guardrail) {
                let policy = GuardrailPolicy(snapshot: try await GuardrailSnapshot.load(client: postgres, logger: logger),
                    logger: logger)
                platform.update { $0.guardrails = policy }
            }
            // Settings too: `enable_routing_policies` turns the policies on and off.
            if kinds.contains(.model) || kinds.contains(.routing) || kinds.contains(.settings) {
                let overrides = try await ModelOverrideStore(client: postgres, logger: logger).list()
                let policies = platform.current.routingPoliciesEnabled
                    ? try await RoutingPolicyStore(client: postgres, logger: logger).list() : []
                let rules = RoutingRules(policies: policies.filter(\.enabled).map { ($0.type, $0.config) })
                platform.update { $0.routing = rules }
                if applied.swap(overrides, rules) {
                    catalog.replace(with: Self.apply(overrides, to: baseCatalog).applying(rules))
                }
            }
        } catch {
            logger.warning("could not load platform state; keeping the previous one",
                metadata: ["parts": "\(kinds.map(\.rawValue).sorted())", "error": "\(String(reflecting: error))"])
        }
    }

    /// Reloads everything, but waits at most `timeout`: a node must start (and serve cached keys
    /// and the master key) while PostgreSQL is down; the invalidation listener reloads once it is back.
    func reload(within timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await reload() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// The base catalog with operators' prices, limits, credentials and activation applied. An override
    /// names a model (it applies to each of its deployments) or one deployment by id (over the model's).
    static func apply(_ overrides: [ModelOverride], to base: ModelCatalog) -> ModelCatalog {
        guard !overrides.isEmpty else { return base }
        let byName = Dictionary(overrides.map { ($0.modelName, $0) }, uniquingKeysWith: { _, last in last })
        let deployments = base.deployments.map { deployment -> ModelDeployment in
            var deployment = deployment
            for change in [byName[deployment.name], deployment.id == deployment.name ? nil : byName[deployment.id]] {
                guard let change else { continue }
                if let cost = change.inputCostPerToken { deployment.inputCostPerToken = cost }
                if let cost = change.outputCostPerToken { deployment.outputCostPerToken = cost }
                if let rpm = change.rpm { deployment.rpm = rpm }
                if let tpm = change.tpm { deployment.tpm = tpm }
                if let credentials = change.credentials { deployment.credentials = credentials }
            }
            return deployment
        }
        let disabled = Set(overrides.filter { $0.active == false }.map(\.modelName))
        return base.replacing(deployments, disabled: disabled)
    }
}

/// The model overrides and routing rules last applied to the catalog.
final class AppliedOverrides: Sendable {
    private let applied = Mutex<(overrides: [ModelOverride], rules: RoutingRules)?>(nil)

    /// Records what is applied now; true when it differs from before (or nothing was applied yet).
    func swap(_ overrides: [ModelOverride], _ rules: RoutingRules) -> Bool {
        applied.withLock { current in
            defer { current = (overrides, rules) }
            guard let current else { return true }
            return current.overrides != overrides || current.rules != rules
        }
    }
}
