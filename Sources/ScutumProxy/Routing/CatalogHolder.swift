import ScutumCore
import Synchronization

/// The node's current model catalog; replaced as a whole when the configuration changes.
public final class CatalogHolder: Sendable {
    private let catalog: Mutex<ModelCatalog>

    public init(_ catalog: ModelCatalog) {
        self.catalog = Mutex(catalog)
    }

    public var current: ModelCatalog { catalog.withLock { $0 } }

    public func replace(with catalog: ModelCatalog) {
        self.catalog.withLock { $0 = catalog }
    }
}
