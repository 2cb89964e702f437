import ScutumAdmin
import ScutumRedis

extension ResponseCacheStore.Scope {
    /// The store's scope for a scope `DELETE /api/v1/cache` selected.
    init(_ selected: ResponseCacheSelection.Scope) {
        switch selected {
        case .team(let id): self = .team(id)
        case .key(let id): self = .key(id)
        }
    }
}
