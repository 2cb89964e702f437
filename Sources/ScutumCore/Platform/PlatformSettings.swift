/// One platform setting: its name in the stored settings object and the Admin API, what kind of
/// value it holds, its default, and what it does. `PlatformSettings.all` lists every one; the Admin
/// API validates against it, the proxy reads values through it, and `GET /api/v1/settings/schema`
/// serves it to the console.
public struct PlatformSetting: Sendable, Hashable {
    /// What a setting holds, and so how the Admin API validates it.
    public enum Kind: String, Sendable, Hashable {
        /// An integer ≥ 1 that fits PostgreSQL's `integer`.
        case positiveInteger = "positive_integer"
        case flag
        /// A non-empty string of at most 256 characters; `null` unsets it.
        case string
        case stringList = "string_list"
    }

    public let name: String
    public let kind: Kind
    /// The value while the settings object has none.
    public let defaultValue: JSONValue
    /// Its name in the console's form.
    public let label: String
    /// What it does, in a line.
    public let summary: String

    public init(name: String, kind: Kind, defaultValue: JSONValue, label: String, summary: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.label = label
        self.summary = summary
    }

    /// The setting's flag in `settings`, else its default.
    public func flag(in settings: JSONValue) -> Bool {
        settings[name]?.boolValue ?? defaultValue.boolValue ?? false
    }

    /// The setting's integer in `settings`, else its default.
    public func integer(in settings: JSONValue) -> Int {
        (settings[name]?.intValue ?? defaultValue.intValue).map(Int.init) ?? 0
    }

    /// The setting's integer in `settings` when it is one a `positive_integer` may hold (1 to
    /// `Int32.max`), else its default.
    public func positiveInteger(in settings: JSONValue) -> Int {
        guard let value = settings[name]?.intValue, value > 0, value <= Int64(Int32.max) else {
            return defaultValue.intValue.map(Int.init) ?? 0
        }
        return Int(value)
    }

    /// The setting's string in `settings` (nil when unset or empty), else its default.
    public func string(in settings: JSONValue) -> String? {
        let text = settings[name]?.stringValue ?? (settings[name] == nil ? defaultValue.stringValue : nil)
        return text.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The setting's strings in `settings`, else its default.
    public func strings(in settings: JSONValue) -> [String] {
        (settings[name]?.arrayValue ?? defaultValue.arrayValue ?? []).compactMap(\.stringValue)
    }

    /// The setting as the schema endpoint shows it.
    public var schema: JSONValue {
        .object(["name": .string(name), "kind": .string(kind.rawValue), "default": defaultValue,
            "label": .string(label), "summary": .string(summary)])
    }
}

/// Every platform setting.
public enum PlatformSettings {
    public static let globalRateLimit = PlatformSetting(
        name: "global_rate_limit", kind: .positiveInteger, defaultValue: .int(1000),
        label: "Global rate limit (requests per minute)",
        summary: "Requests per minute across the whole gateway (0, set in SQL, for none).")
    public static let defaultKeyRPM = PlatformSetting(
        name: "default_key_rpm", kind: .positiveInteger, defaultValue: .int(100),
        label: "Default RPM for new keys",
        summary: "Requests per minute of a key that sets none.")
    public static let defaultKeyTPM = PlatformSetting(
        name: "default_key_tpm", kind: .positiveInteger, defaultValue: .int(100_000),
        label: "Default TPM for new keys",
        summary: "Tokens per minute of a key that sets none.")
    public static let budgetEnforcement = PlatformSetting(
        name: "enable_budget_enforcement", kind: .flag, defaultValue: .bool(true),
        label: "Enforce budgets",
        summary: "Refuse requests of keys, teams and users past a hard budget.")
    public static let costTracking = PlatformSetting(
        name: "enable_cost_tracking", kind: .flag, defaultValue: .bool(true),
        label: "Track cost",
        summary: "Price requests into spend logs and budgets (off: recorded at $0).")
    public static let guardrails = PlatformSetting(
        name: "enable_guardrails", kind: .flag, defaultValue: .bool(true),
        label: "Run guardrails",
        summary: "Run guardrail profiles (off skips every profile).")
    public static let routingPolicies = PlatformSetting(
        name: "enable_routing_policies", kind: .flag, defaultValue: .bool(true),
        label: "Apply routing policies",
        summary: "Apply the Admin API's routing policies (off: only the catalog file's fallbacks and aliases).")
    public static let maintenanceMode = PlatformSetting(
        name: "maintenance_mode", kind: .flag, defaultValue: .bool(false),
        label: "Maintenance mode (the proxy refuses requests)",
        summary: "Every proxy route but health answers 503.")
    public static let defaultModel = PlatformSetting(
        name: "default_model", kind: .string, defaultValue: .null,
        label: "Default model",
        summary: "The model serving chat requests that omit `model` (unset: they are 400).")
    public static let mcpAllowedHosts = PlatformSetting(
        name: "mcp_allowed_hosts", kind: .stringList, defaultValue: .array([]),
        label: "Internal hosts MCP servers may use",
        summary: "Hosts, IPs or CIDR blocks MCP servers may use although they are internal.")

    public static let responseCache = PlatformSetting(
        name: "enable_response_cache", kind: .flag, defaultValue: .bool(false),
        label: "Response cache for every key",
        summary: "Serve repeated requests from the cluster's cache (teams and keys may turn it on or off in their metadata).")
    public static let responseCacheModels = PlatformSetting(
        name: "response_cache_models", kind: .stringList, defaultValue: .array([]),
        label: "Models always cached",
        summary: "Models whose requests use the response cache even when it is off for everyone.")
    public static let responseCacheScope = PlatformSetting(
        name: "response_cache_scope", kind: .string, defaultValue: .string("team"),
        label: "Response cache scope",
        summary: "Who shares cached answers: team (default), key or global.")
    public static let responseCacheTTL = PlatformSetting(
        name: "response_cache_ttl_seconds", kind: .positiveInteger, defaultValue: .int(3600),
        label: "Response cache TTL (seconds)",
        summary: "How long a cached answer is served.")
    public static let responseCacheMaxTTL = PlatformSetting(
        name: "response_cache_max_ttl_seconds", kind: .positiveInteger, defaultValue: .int(86_400),
        label: "Longest response cache TTL (seconds)",
        summary: "The bound on every TTL: a request's, a team's or a key's.")
    public static let responseCacheTemperature = PlatformSetting(
        name: "response_cache_allow_temperature", kind: .flag, defaultValue: .bool(false),
        label: "Cache sampled requests",
        summary: "Also cache requests with a temperature above 0.")
    public static let responseCacheMaxBytes = PlatformSetting(
        name: "response_cache_max_bytes", kind: .positiveInteger, defaultValue: .int(1_048_576),
        label: "Largest cached answer (bytes)",
        summary: "Answers above this size are not cached.")
    public static let alertWebhookURL = PlatformSetting(
        name: "alert_webhook_url", kind: .string, defaultValue: .null,
        label: "Alert webhook URL",
        summary: "Where the leader posts alerts (budgets, expiring keys, breakers, unreachable Redis or PostgreSQL, leader changes); http(s) only.")
    public static let alertWebhookFormat = PlatformSetting(
        name: "alert_webhook_format", kind: .string, defaultValue: .string("json"),
        label: "Alert webhook format",
        summary: "json (id, kind, subject, message, details, at) or slack ({\"text\": ...}).")
    public static let alertKinds = PlatformSetting(
        name: "alert_kinds", kind: .stringList, defaultValue: .array([]),
        label: "Alert kinds sent",
        summary: "The alert kinds posted to the webhook (empty: every kind); all are recorded.")

    /// In the order the console shows them.
    public static let all: [PlatformSetting] = [
        maintenanceMode, budgetEnforcement, costTracking, guardrails, routingPolicies, globalRateLimit, defaultKeyRPM,
        defaultKeyTPM, defaultModel, mcpAllowedHosts, responseCache, responseCacheModels, responseCacheScope,
        responseCacheTTL, responseCacheMaxTTL, responseCacheTemperature, responseCacheMaxBytes,
        alertWebhookURL, alertWebhookFormat, alertKinds,
    ]

    /// The setting named `name`, if there is one.
    public static func named(_ name: String) -> PlatformSetting? {
        all.first { $0.name == name }
    }
}
