import Foundation
import ScutumCore
import Synchronization

/// What every node keeps in memory of the Admin API's state, so the request path never reads
/// PostgreSQL: settings, teams and budgets. The node reloads it when a change is announced.
public struct PlatformSnapshot: Sendable {
    /// A team as the proxy needs it.
    public struct Team: Sendable, Equatable {
        public var models: [String]
        public var blocked: Bool
        /// The team's `metadata.cache`, when it has one.
        public var cache: ResponseCacheSettings.Override?

        public init(models: [String], blocked: Bool, cache: ResponseCacheSettings.Override? = nil) {
            self.models = models
            self.blocked = blocked
            self.cache = cache
        }
    }

    /// Every route but health answers 503.
    public var maintenanceMode = PlatformSettings.maintenanceMode.flag(in: [:])
    public var budgetEnforcement = PlatformSettings.budgetEnforcement.flag(in: [:])
    public var costTracking = PlatformSettings.costTracking.flag(in: [:])
    /// Requests per minute across the whole gateway (`global_rate_limit`); 0 for none.
    public var globalRateLimit = PlatformSettings.globalRateLimit.integer(in: [:])
    /// Limits of keys that set none (`default_key_rpm`, `default_key_tpm`).
    public var defaultKeyRPM = PlatformSettings.defaultKeyRPM.integer(in: [:])
    public var defaultKeyTPM = PlatformSettings.defaultKeyTPM.integer(in: [:])
    public var teams: [String: Team] = [:]
    public var budgets: [BudgetSubject: BudgetRecord] = [:]
    /// The operators' routing policies.
    public var routing = RoutingRules()
    /// `enable_guardrails`: off skips every guardrail profile.
    public var guardrailsEnabled = PlatformSettings.guardrails.flag(in: [:])
    /// The guardrail profiles and who they apply to.
    public var guardrails = GuardrailPolicy.empty
    /// `enable_routing_policies`: off, the operators' routing policies (strategies, conditional
    /// routes, fallbacks and groups from the Admin API) are ignored; the catalog file's still apply.
    public var routingPoliciesEnabled = PlatformSettings.routingPolicies.flag(in: [:])
    /// `default_model`: the model a chat completion without `model` is served by; nil refuses it (400).
    public var defaultModel: String?
    /// The response cache's settings.
    public var responseCache = ResponseCacheSettings()
    /// Whether some team's `metadata.cache` turns the cache on (so requests must look closer).
    public var someTeamCaches = false

    public init() {}

    /// Reads the switches of the settings object.
    public mutating func apply(settings: JSONValue) {
        maintenanceMode = PlatformSettings.maintenanceMode.flag(in: settings)
        budgetEnforcement = PlatformSettings.budgetEnforcement.flag(in: settings)
        costTracking = PlatformSettings.costTracking.flag(in: settings)
        globalRateLimit = PlatformSettings.globalRateLimit.integer(in: settings)
        defaultKeyRPM = PlatformSettings.defaultKeyRPM.integer(in: settings)
        defaultKeyTPM = PlatformSettings.defaultKeyTPM.integer(in: settings)
        guardrailsEnabled = PlatformSettings.guardrails.flag(in: settings)
        routingPoliciesEnabled = PlatformSettings.routingPolicies.flag(in: settings)
        defaultModel = PlatformSettings.defaultModel.string(in: settings)
        responseCache = ResponseCacheSettings(settings: settings)
    }

    /// The guardrail profiles a caller's requests go through (none when guardrails are off).
    public func guardrailProfiles(for principal: Principal?) -> [GuardrailPolicy.Profile] {
        guard guardrailsEnabled else { return [] }
        return guardrails.profiles(for: principal?.key)
    }

    /// The budgets a key's spend counts against: its own, its team's, its user's, and the global one.
    public func budgets(for key: AuthenticatedKey?) -> [BudgetRecord] {
        var subjects: [BudgetSubject] = [.global]
        if let key {
            subjects.append(.key(key.id))
            if let team = key.teamID { subjects.append(.team(team)) }
            if let user = key.userID { subjects.append(.user(user)) }
        }
        return subjects.compactMap { budgets[$0] }
    }
}

/// The current `PlatformSnapshot`, replaced as a whole on each reload.
public final class PlatformState: Sendable {
    private let snapshot: Mutex<PlatformSnapshot>

    public init(_ snapshot: PlatformSnapshot = PlatformSnapshot()) {
        self.snapshot = Mutex(snapshot)
    }

    public var current: PlatformSnapshot { snapshot.withLock { $0 } }

    public func update(_ change: (inout PlatformSnapshot) -> Void) {
        snapshot.withLock { change(&$0) }
    }
}
