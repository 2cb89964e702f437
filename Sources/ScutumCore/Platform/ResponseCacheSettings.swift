/// How the response cache applies, from the settings, a team's and a key's `metadata.cache`.
public struct ResponseCacheSettings: Sendable, Equatable {
    /// Who shares cached answers.
    public enum Scope: String, Sendable, Equatable, CaseIterable {
        case key
        case team
        case global
    }

    /// A team's or key's `metadata.cache`: each field overrides what is above it (key over team over
    /// the settings).
    public struct Override: Sendable, Equatable {
        public var enabled: Bool?
        public var scope: Scope?
        public var ttlSeconds: Int?

        public init(enabled: Bool? = nil, scope: Scope? = nil, ttlSeconds: Int? = nil) {
            self.enabled = enabled
            self.scope = scope
            self.ttlSeconds = ttlSeconds
        }

        /// The `cache` member of a metadata object; nil without one. Values of the wrong type are
        /// ignored here (the Admin API refuses them when they are written).
        public init?(metadata: [String: JSONValue]) {
            guard let cache = metadata["cache"]?.objectValue else { return nil }
            self.init(enabled: cache["enabled"]?.boolValue, scope: cache["scope"]?.stringValue.flatMap(Scope.init),
                ttlSeconds: cache["ttl_seconds"]?.intValue.map(Int.init).flatMap { $0 > 0 ? $0 : nil })
        }
    }

    /// `enable_response_cache`.
    public var enabled = PlatformSettings.responseCache.flag(in: [:])
    /// `response_cache_models`.
    public var models: Set<String> = []
    public var scope = Scope.team
    public var ttlSeconds = PlatformSettings.responseCacheTTL.integer(in: [:])
    public var maxTTLSeconds = PlatformSettings.responseCacheMaxTTL.integer(in: [:])
    public var allowTemperature = PlatformSettings.responseCacheTemperature.flag(in: [:])
    public var maxBytes = PlatformSettings.responseCacheMaxBytes.integer(in: [:])

    public init() {}

    /// Reads the cache settings of a settings object.
    public init(settings: JSONValue) {
        enabled = PlatformSettings.responseCache.flag(in: settings)
        models = Set(PlatformSettings.responseCacheModels.strings(in: settings))
        scope = PlatformSettings.responseCacheScope.string(in: settings).flatMap(Scope.init) ?? .team
        ttlSeconds = PlatformSettings.responseCacheTTL.positiveInteger(in: settings)
        maxTTLSeconds = PlatformSettings.responseCacheMaxTTL.positiveInteger(in: settings)
        allowTemperature = PlatformSettings.responseCacheTemperature.flag(in: settings)
        maxBytes = PlatformSettings.responseCacheMaxBytes.positiveInteger(in: settings)
    }

    /// Whether the cache may apply to requests for `model` at all, before any team or key says
    /// otherwise (cheap: read on every request).
    public var anyEnabled: Bool { enabled || !models.isEmpty }
}
