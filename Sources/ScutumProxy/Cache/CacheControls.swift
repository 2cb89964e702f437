import ScutumCore

/// A request's own say on the response cache: its `cache` member (`{"no-cache": true}`,
/// `{"no-store": true}`, `{"ttl": 600}`) and its `Cache-Control` header (`no-cache`, `no-store`).
struct CacheControls: Sendable, Equatable {
    /// The caller asked not to be served from, or stored in, the cache.
    var bypass = false
    /// The caller's TTL for this answer, seconds (bounded by the settings' maximum).
    var ttlSeconds: Int?

    /// Longest TTL a request may ask for (30 days); the settings' maximum bounds it further.
    static let maximumTTLSeconds: Int64 = 2_592_000

    init() {}

    /// Reads both; a `cache` member that is not an object of those fields is a 400 naming it.
    init(member: JSONValue?, cacheControl header: String?) throws(GatewayError) {
        if let header {
            let directives = header.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            bypass = directives.contains("no-cache") || directives.contains("no-store")
        }
        guard let member, member != .null else { return }
        guard let fields = member.objectValue else {
            throw .invalidRequest("'cache' must be an object such as {\"no-cache\": true} or {\"ttl\": 600}.",
                param: "cache", code: "invalid_type")
        }
        for (name, value) in fields {
            switch name {
            case "no-cache", "no-store":
                guard let flag = value.boolValue else {
                    throw .invalidRequest("'cache.\(name)' must be true or false.", param: "cache.\(name)",
                        code: "invalid_type")
                }
                if flag { bypass = true }
            case "ttl":
                guard let seconds = value.intValue, seconds >= 1, seconds <= Self.maximumTTLSeconds else {
                    throw .invalidRequest("'cache.ttl' must be a whole number of seconds from 1 to \(Self.maximumTTLSeconds).",
                        param: "cache.ttl", code: "invalid_value")
                }
                ttlSeconds = Int(seconds)
            default:
                throw .invalidRequest("'cache.\(name)' is not a cache control (use no-cache, no-store or ttl).",
                    param: "cache.\(name)", code: "invalid_value")
            }
        }
    }
}
