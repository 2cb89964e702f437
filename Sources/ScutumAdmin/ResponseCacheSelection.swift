/// Which response-cache entries `DELETE /api/v1/cache` removes: those of some scopes (nil: every
/// scope, the global one included) and of one model (nil: every model).
public struct ResponseCacheSelection: Sendable, Equatable {
    /// A scope the cache shares entries in, as the node's cache store names it.
    public enum Scope: Sendable, Hashable {
        /// The entries shared by a team's keys.
        case team(String)
        /// One key's own entries.
        case key(String)
    }

    public var scopes: [Scope]?
    public var model: String?

    public init(scopes: [Scope]?, model: String?) {
        self.scopes = scopes
        self.model = model
    }
}
