import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ScutumAdmin
import ScutumCluster
import ScutumCore
import ScutumMock
import ScutumProviders
import ScutumProxy
import ScutumRedis
import ScutumStore
import ScutumWorkflows
import ServiceLifecycle

/// One gateway node: its services, wired from a configuration, run in one `ServiceGroup`.
///
/// Start-up order is the order of `services`; graceful shutdown runs in reverse, so the proxy
/// stops accepting and drains its open streams first, then counters flush, then the connections
/// to Redis, providers and PostgreSQL close.
public struct GatewayNode: Sendable {
    public let configuration: NodeConfiguration
    public let catalog: CatalogHolder
    public let keyCache: KeyCache
    public let postgres: PostgresClient
    public let redis: RedisClient
    public let http: UpstreamHTTP
    /// Settings, teams and budgets as this node knows them.
    public let platform: PlatformState
    /// Spend records on their way to Redis.
    public let spend: SpendRecorder
    /// Each active budget's current-period spend, as this node knows it (no round trip to read).
    public let liveSpend: LiveSpend
    /// Whether the node serves the demo against a mock upstream.
    public let isDemo: Bool
    /// The proxy's Prometheus metrics.
    public let metrics: ProxyMetrics
    /// What this node saw of each deployment (load, latency, last minute's use).
    public let deploymentStats: DeploymentStats
    /// This node's part in the leader election.
    public let election: LeaderElection
    /// Chat completions for the gateway's own work (workflow steps).
    public let completions: InternalCompletions
    /// What this node knows of every deployment's circuit breaker (kept current by `BreakerSync`).
    public let breakers: BreakerBoard
    let services: [any Service]
    let logger: Logger

    /// Builds a node.
    /// - Parameters:
    ///   - catalog: the catalog to serve; nil reads `configuration.modelsFile` (demo mode when no
    ///     provider has credentials, or when `SCUTUM_DEMO_MOCK_URL` is set).
    ///   - onProxyRunning: called with the proxy's port once it listens.
    ///   - onAdminRunning: called with the Admin API's port once it listens.
    ///   - onConsoleRunning: called with the admin console's port once it listens.
    public init(configuration: NodeConfiguration, catalog: ModelCatalog? = nil, logger: Logger,
        onProxyRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onAdminRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onConsoleRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws
    {
        self.configuration = configuration
        self.logger = logger
        // Refused before anything that needs shutting down is made.
        let adminTokenSecret = try configuration.admin.map { _ in try configuration.adminTokenSecret() }
        let http = UpstreamHTTP(timeouts: configuration.upstreamTimeouts,
            maximumConnectionsPerHost: configuration.upstreamConnectionsPerHost)
        let providers = ProviderRegistry.standard(http: http)
        var services: [any Service] = []

        let served = try Self.servedCatalog(configuration: configuration, given: catalog,
            supportedKinds: providers.supportedKinds)
        let (resolvedCatalog, demoMock) = (served.catalog, served.demoMock)
        isDemo = served.isDemo

        let postgres = PostgresClient(configuration: configuration.database.clientConfiguration,
            backgroundLogger: logger)
        // LISTEN needs a session of its own: a direct connection when DATABASE_URL is a pooler.
        let listenPostgres = configuration.listenDatabase.map {
            PostgresClient(configuration: $0.clientConfiguration, backgroundLogger: logger)
        }
        let redis = RedisClient(configuration: configuration.redis, logger: logger)
        let keyCache = KeyCache()
        let catalogHolder = CatalogHolder(resolvedCatalog)
        let keyStore = KeyStore(client: postgres, logger: logger)

        let authenticator = Authenticator(
            masterKey: configuration.proxy.masterKey, cache: keyCache, ttl: configuration.proxy.keyCacheTTL,
            negativeTTL: configuration.proxy.negativeKeyCacheTTL, timeout: configuration.proxy.backendTimeout,
            logger: logger
        ) { hash in
            guard let record = try await keyStore.find(hash: hash) else { return nil }
            return KeyCache.CachedKey(key: Self.authenticatedKey(record), blocked: record.blocked,
                expiresAt: record.expiresAt?.timeIntervalSince1970)
        }
        let platform = PlatformState()
        let ledger = SpendLedger(redis: redis, namespace: configuration.redisNamespace)
        // A budget counter Redis lost is rebuilt from the spend log, in the background.
        let spendLogs = SpendLogStore(client: postgres, logger: logger)
        let liveSpend = LiveSpend(ledger: ledger, history: spendLogs, logger: logger)
        // Admission reads budgets from `liveSpend`: flushes aggregate 250 ms of spend each.
        // While Redis is unreachable records go straight to PostgreSQL (see `SpendRecorder`).
        let spendCounts = SpendCounts()
        let spend = SpendRecorder(ledger: ledger, liveSpend: liveSpend, store: spendLogs,
            capacity: configuration.spendBufferCapacity, directAfter: configuration.spendDirectAfter,
            counts: spendCounts, logger: logger)
        let nodeID = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        let registry = NodeRegistry(redis: redis, namespace: configuration.redisNamespace, nodeID: nodeID, logger: logger)
        let metrics = ProxyMetrics()
        let deploymentStats = DeploymentStats()
        self.metrics = metrics
        self.deploymentStats = deploymentStats
        let quotaLeases = QuotaLeases(windows: QuotaWindows(redis: redis, namespace: configuration.redisNamespace),
            liveNodes: { registry.liveNodes })
        let parallelSlots = ParallelSlots(redis: redis, namespace: configuration.redisNamespace, node: nodeID,
            liveNodes: { registry.liveNodes })
        let rateLimiting = RateLimiting(leases: quotaLeases,
            slots: parallelSlots, registry: registry,
            metrics: metrics, logger: logger)
        let accounting = Accounting(platform: platform, ledger: ledger, liveSpend: liveSpend, recorder: spend,
            rateLimiting: rateLimiting,
            logger: logger)
        let loader = PlatformLoader(platform: platform, catalog: catalogHolder, baseCatalog: resolvedCatalog,
            postgres: postgres, logger: logger)
        let database = configuration.database
        let backendTimeout = configuration.proxy.backendTimeout
        var readinessChecks: [ReadinessProbe.Check] = [
            .init(name: "postgres", onlyUntilFirstSuccess: true) {
                try await database.readinessCheck(pool: postgres, timeout: backendTimeout, logger: logger)
            },
            .init(name: "redis", required: false) {
                // Every master of a Redis Cluster: which one fails shows in /metrics and the readiness body.
                let nodes = await redis.nodeStatus()
                for node in nodes { metrics.redisNode(node.node.description, up: node.error == nil) }
                let failing = nodes.filter { $0.error != nil }
                if !failing.isEmpty { throw RedisNodesUnavailable(failing: failing, total: nodes.count) }
            },
        ]
        if let listenPostgres, let listenDatabase = configuration.listenDatabase {
            // Without it the node serves, but hears no cache invalidations: degraded, not unready.
            readinessChecks.append(.init(name: "postgres_listen", required: false) {
                try await listenDatabase.readinessCheck(pool: listenPostgres, timeout: backendTimeout, logger: logger)
            })
        }
        let readiness = ReadinessProbe(checks: readinessChecks, timeout: configuration.proxy.backendTimeout,
            logger: logger)
        let guardrailEvents = GuardrailEventRecorder(store: GuardrailEventStore(client: postgres, logger: logger),
            logger: logger)
        let realtime = RealtimeRecorder(redis: redis, namespace: configuration.redisNamespace, logger: logger)
        let providerHealth = ProviderHealth(redis: redis, namespace: configuration.redisNamespace)
        metrics.watchQueue("spend") { spend.pendingCount }
        metrics.watchSpend(spendCounts)
        metrics.watchUpstream { http.requestsAwaitingHead }
        metrics.watchQueue("guardrail_events") { guardrailEvents.pendingCount }
        let proxyDependencies = ProxyDependencies(catalog: catalogHolder, providers: providers,
            authenticator: authenticator, readiness: readiness, accounting: accounting,
            health: providerHealth, metrics: metrics, stats: deploymentStats, guardrailEvents: guardrailEvents,
            realtime: realtime,
            lanes: UpstreamLanes(timeouts: configuration.upstreamTimeouts),
            responses: ResponseStore(client: postgres, logger: logger),
            responseCache: ResponseCacheStore(redis: redis, namespace: configuration.redisNamespace))
        let ports = ListeningPorts()
        let workflowWakeUps = WakeUps()
        let mcpWakeUps = WakeUps()
        let proxy = ProxyApplication.application(configuration: configuration.proxy, dependencies: proxyDependencies,
            logger: logger, server: { configuration.listenerLimits.server(logger: logger, handlers: $0) },
            onServerRunning: { port in
                ports.set(proxy: port)
                await onProxyRunning(port)
            })
        completions = InternalCompletions(configuration: configuration.proxy, dependencies: proxyDependencies,
            logger: logger)
        let election = LeaderElection(nodeID: nodeID, lease: LeaderLease(client: postgres, logger: logger),
            leaseDuration: configuration.leaderLease, renewInterval: configuration.leaderLease / 3,
            onChange: { fence in metrics.leadership(isLeader: fence != nil) }, logger: logger)
        self.election = election
        let started = Date()
        let advertiseHost = configuration.advertiseHost
        let heartbeat = ClusterHeartbeat(store: ClusterNodeStore(client: postgres, logger: logger),
            interval: .seconds(2), logger: logger) {
            guard let proxyPort = ports.proxy else { return nil }
            return ClusterNode(nodeID: nodeID, address: "\(advertiseHost):\(proxyPort)",
                adminAddress: ports.admin.map { "\(advertiseHost):\($0)" }, version: ScutumVersion.current,
                startedAt: started, redisUnreachableSince: registry.redisUnreachableSince)
        }

        let migrate = configuration.migrateOnStart
        let sqlDirectory = configuration.sqlDirectory
        let listenDatabase = configuration.listenDatabase
        let preparedProxy = PreparedService(prepare: {
            if migrate {
                // Says plainly why PostgreSQL cannot be used (certificate, TLS, password) instead
                // of the pool's retrying in silence.
                try await database.checkConnection(logger: logger)
                try await listenDatabase?.checkConnection(logger: logger)
                let migrations = try Migration.load(from: sqlDirectory)
                try await MigrationRunner(client: postgres, logger: logger).migrate(migrations)
            }
            await loader.reload(within: .seconds(3))
        }, service: proxy)

        services.append(postgres)
        if let listenPostgres { services.append(listenPostgres) }
        services.append(RedisService(client: redis))
        services.append(BreakerSync(health: providerHealth, configuration: configuration.redis, logger: logger))
        services.append(UpstreamHTTPService(http: http, lanes: proxyDependencies.lanes))
        services.append(Self.invalidationListener(postgres: listenPostgres ?? postgres, loader: loader, keyCache: keyCache,
            workflowWakeUps: workflowWakeUps, mcpWakeUps: mcpWakeUps, logger: logger))
        services.append(spend)
        services.append(liveSpend)
        services.append(guardrailEvents)
        services.append(realtime)
        services.append(registry)
        services.append(quotaLeases)
        services.append(parallelSlots)
        services.append(SpendLogWriter(ledger: ledger, store: spendLogs, consumer: nodeID, counts: spendCounts,
            onStreamLost: { spend.streamLost() }, logger: logger))
        if let demoMock { services.append(demoMock) }
        services.append(preparedProxy)
        services.append(election)
        services.append(heartbeat)
        services.append(ResponseRetention(store: ResponseStore(client: postgres, logger: logger), logger: logger))
        services += Self.leaderOnlyServices(election: election, postgres: postgres, keys: keyStore,
            completions: completions, configuration: configuration, workflowWakeUps: workflowWakeUps,
            mcpWakeUps: mcpWakeUps, logger: logger)
        services += Self.alertServices(election: election, postgres: postgres, ledger: ledger, registry: registry,
            board: providerHealth.board, http: http, configuration: configuration.alerts, logger: logger)
        if let adminTokenSecret {
            services += Self.adminServices(configuration: configuration, tokenSecret: adminTokenSecret,
                baseCatalog: resolvedCatalog, catalog: catalogHolder, postgres: postgres, redis: redis, ledger: ledger,
                health: providerHealth, nodeID: nodeID, ports: ports, http: http, onAdminRunning: onAdminRunning,
                onConsoleRunning: onConsoleRunning, logger: logger)
        }

        self.breakers = providerHealth.board
        self.catalog = catalogHolder
        self.keyCache = keyCache
        self.postgres = postgres
        self.redis = redis
        self.http = http
        self.platform = platform
        self.spend = spend
        self.liveSpend = liveSpend
        self.services = services
    }

    /// What the proxy needs to know of a stored key.
    static func authenticatedKey(_ record: KeyRecord) -> AuthenticatedKey {
        AuthenticatedKey(id: record.keyID, hash: record.keyHash, alias: record.alias,
            role: record.role, teamID: record.settings.teamID, userID: record.settings.userID,
            models: record.settings.models, rpmLimit: record.settings.rpmLimit, tpmLimit: record.settings.tpmLimit,
            maxParallelRequests: record.settings.maxParallelRequests,
            metadata: (try? JSONParser.parse(Array(record.settings.metadata.utf8)))?.objectValue ?? [:],
            guardrails: record.settings.guardrails)
    }

    /// The service group, shutting down gracefully on SIGTERM/SIGINT (when `signals`) within the
    /// configured grace period. `first` start before the node's services and stop after them (a trace
    /// exporter, so spans of draining requests are still sent).
    public func serviceGroup(handlingSignals signals: Bool = true, first: [any Service] = []) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: (first + services).map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [],
            cancellationSignals: [],
            logger: logger)
        configuration.maximumGracefulShutdownDuration = self.configuration.shutdownGracePeriod
        return ServiceGroup(configuration: configuration)
    }

    /// Logs what the node serves; in demo mode, loudly.
    public func logStartup() {
        let catalog = catalog.current
        let routable = catalog.modelNames.filter { catalog.isRoutable($0) }
        if isDemo {
            let banner = String(repeating: "=", count: 78)
            logger.warning("\(banner)")
            logger.warning("DEMO MODE: no provider credentials are configured, so EVERY model is served by the")
            logger.warning("bundled mock upstream (\(configuration.demoMockURL ?? "http://127.0.0.1:\(configuration.demoMockPort)")).")
            logger.warning("Answers are canned, not from a real model. Set provider keys in config/.env")
            logger.warning("(OPENAI_API_KEY, ANTHROPIC_API_KEY, ...) to serve real models.")
            logger.warning("\(banner)")
        }
        logger.info("serving models", metadata: ["count": "\(routable.count)", "models": "\(routable.joined(separator: ", "))"])
        if let litellm = configuration.litellm {
            logger.info("the models file is a LiteLLM config, served as its Scutum equivalent (`scutum config convert` writes it)",
                metadata: ["file": "\(configuration.modelsFile)"])
            for note in litellm.notes { logger.notice("litellm config: \(note)") }
        }
        if configuration.proxy.masterKey == nil {
            logger.warning("SCUTUM_API_KEY is not set: only keys created with `scutum keys create` are accepted")
        }
    }
}
