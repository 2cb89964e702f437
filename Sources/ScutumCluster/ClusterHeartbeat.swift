import Foundation
import Logging
import ScutumStore
import ServiceLifecycle

/// Reports this node in `cluster_nodes` every `interval` (for `GET /api/v1/cluster`), and removes
/// it on graceful shutdown.
public struct ClusterHeartbeat: Service {
    let store: ClusterNodeStore
    let interval: Duration
    /// The node as it should be reported now (addresses are known once the servers listen).
    let describe: @Sendable () -> ClusterNode?
    let logger: Logger

    public init(store: ClusterNodeStore, interval: Duration = .seconds(2), logger: Logger,
        describe: @escaping @Sendable () -> ClusterNode?)
    {
        self.store = store
        self.interval = interval
        self.describe = describe
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                if let node = describe() {
                    do {
                        try await store.heartbeat(node)
                        if failing { logger.notice("cluster heartbeat written again") }
                        failing = false
                    } catch {
                        if !failing {
                            logger.warning("cluster heartbeat not written", metadata: ["error": "\(String(reflecting: error))"])
                        }
                        failing = true
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
        if let node = describe() { try? await store.remove(node.nodeID) }
    }
}
