import Logging
import PostgresNIO
import ScutumCluster
import ScutumCore
import ScutumProviders
import ScutumRedis
import ScutumStore
import ServiceLifecycle

extension GatewayNode {
    /// The leader's alert monitor and dispatcher (see `AlertMonitor`, `AlertDispatcher`), each
    /// started with a term and cancelled when it ends.
    static func alertServices(election: LeaderElection, postgres: PostgresClient, ledger: SpendLedger,
        registry: NodeRegistry, board: BreakerBoard, http: UpstreamHTTP, configuration: AlertConfiguration,
        logger: Logger) -> [any Service]
    {
        let store = AlertStore(client: postgres, logger: logger)
        let monitor = AlertMonitor(store: store, budgets: BudgetStore(client: postgres, logger: logger), ledger: ledger,
            keys: KeyStore(client: postgres, logger: logger), nodes: ClusterNodeStore(client: postgres, logger: logger),
            registry: registry, breakers: { board.statuses() },
            timing: .init(interval: configuration.interval, unreachableAfter: configuration.unreachableAfter),
            logger: logger)
        let dispatcher = AlertDispatcher(store: store, settings: SettingsStore(client: postgres, logger: logger),
            client: http.client,
            timing: .init(interval: configuration.interval, timeout: configuration.timeout,
                retryBase: configuration.retryBase, maximumAttempts: configuration.maximumAttempts),
            logger: logger)
        return [
            LeaderOnlyService(name: "alert monitor", election: election, logger: logger) { fence in
                await monitor.run(fence: fence)
            },
            LeaderOnlyService(name: "alert dispatcher", election: election, logger: logger) { fence in
                await dispatcher.run(leads: { election.fence == fence })
            },
        ]
    }
}
