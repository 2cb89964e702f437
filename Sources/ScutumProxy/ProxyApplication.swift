import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import Logging
import ScutumCluster
import ScutumCore
import ScutumProviders
import ScutumRedis
import ScutumStore

/// What the proxy needs from the rest of the node.
public struct ProxyDependencies: Sendable {
    public var catalog: CatalogHolder
    public var providers: ProviderRegistry
    public var authenticator: Authenticator
    public var readiness: ReadinessProbe
    /// Admission (maintenance, allow-lists, budgets) and spend recording; nil turns them off.
    public var accounting: Accounting?
    /// Shared circuit breakers of deployments; nil turns them off.
    public var health: ProviderHealth?
    /// The node's Prometheus metrics, served at `GET /metrics`.
    public var metrics: ProxyMetrics
    /// What the node saw of each deployment, for the load-aware routing strategies.
    public var stats: DeploymentStats
    /// Where guardrail events go; nil drops them (guardrails still apply when `accounting` is set).
    public var guardrailEvents: GuardrailEventRecorder?
    /// The cluster-wide realtime figures each request adds to; nil leaves them out.
    public var realtime: RealtimeRecorder?
    /// The direct lane's provider connections; nil turns the lane off (every request takes the router).
    public var lanes: UpstreamLanes?
    /// Where the Responses API keeps responses; nil keeps none.
    public var responses: ResponseStore?
    /// The response cache's entries; nil turns the cache off whatever the settings say.
    public var responseCache: ResponseCacheStore?

    public init(catalog: CatalogHolder, providers: ProviderRegistry, authenticator: Authenticator,
        readiness: ReadinessProbe, accounting: Accounting? = nil, health: ProviderHealth? = nil,
        metrics: ProxyMetrics = ProxyMetrics(), stats: DeploymentStats = DeploymentStats(),
        guardrailEvents: GuardrailEventRecorder? = nil, realtime: RealtimeRecorder? = nil, lanes: UpstreamLanes? = nil,
        responses: ResponseStore? = nil, responseCache: ResponseCacheStore? = nil)
    {
        self.responseCache = responseCache
        self.responses = responses
        self.lanes = lanes
        self.realtime = realtime
        self.guardrailEvents = guardrailEvents
        self.stats = stats
        self.health = health
        self.metrics = metrics
        self.accounting = accounting
        self.catalog = catalog
        self.providers = providers
        self.authenticator = authenticator
        self.readiness = readiness
    }
}

/// Builds the port-4000 application: health and metrics (no auth), then the OpenAI-compatible
/// routes behind the key check, every error in OpenAI's JSON.
public enum ProxyApplication {
    public static func router(configuration: ProxyConfiguration, dependencies: ProxyDependencies, logger: Logger)
        -> Router<ProxyRequestContext>
    {
        router(configuration: configuration, dependencies: dependencies,
            completions: completionRoutes(configuration: configuration, dependencies: dependencies, logger: logger),
            logger: logger)
    }

    static func router(configuration: ProxyConfiguration, dependencies: ProxyDependencies,
        completions: CompletionRoutes, logger: Logger) -> Router<ProxyRequestContext>
    {
        let router = Router(context: ProxyRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        if configuration.tracing {
            router.add(middleware: TracingMiddleware(recordingHeaders: [.userAgent, RequestIDMiddleware.field]))
        }
        router.add(middleware: ErrorMiddleware(logger: logger))
        HealthRoutes(probe: dependencies.readiness, rateLimiting: dependencies.accounting?.rateLimiting,
            metrics: dependencies.metrics).register(on: router)
        MetricsRoutes(metrics: dependencies.metrics).register(on: router)
        if let accounting = dependencies.accounting {
            router.add(middleware: MaintenanceMiddleware(platform: accounting.platform))
        }
        router.add(middleware: AuthMiddleware(authenticator: dependencies.authenticator))
        completions.register(on: router)
        MessagesRoutes(completions: completions).register(on: router)
        ResponsesRoutes(completions: completions, store: dependencies.responses,
            retention: configuration.responseRetention).register(on: router)
        ModelRoutes(catalog: dependencies.catalog, created: Int(Date().timeIntervalSince1970)).register(on: router)
        return router
    }

    static func completionRoutes(configuration: ProxyConfiguration, dependencies: ProxyDependencies, logger: Logger)
        -> CompletionRoutes
    {
        let dispatcher = Dispatcher(catalog: dependencies.catalog, providers: dependencies.providers,
            health: dependencies.health, platform: dependencies.accounting?.platform, stats: dependencies.stats,
            metrics: dependencies.metrics, logger: logger)
        let guardrails = dependencies.accounting.map {
            GuardrailGate(platform: $0.platform, events: dependencies.guardrailEvents, logger: logger)
        }
        let cache = dependencies.responseCache.map {
            ResponseCache(store: $0, metrics: dependencies.metrics, realtime: dependencies.realtime, logger: logger)
        }
        let pipeline = CompletionPipeline(dispatcher: dispatcher,
            accounting: dependencies.accounting, guardrails: guardrails, realtime: dependencies.realtime,
            cache: cache, tracing: configuration.tracing)
        return CompletionRoutes(pipeline: pipeline, maximumBodyBytes: configuration.maximumBodyBytes,
            abandonedStreamDrain: configuration.abandonedStreamDrain, logger: logger)
    }

    /// The channel handlers the proxy's listener adds to each connection: the direct lane's, when it
    /// is on (`ProxyConfiguration.directLane`, `lanes` given, tracing off: lane requests have no spans).
    static func channelHandlers(configuration: ProxyConfiguration, dependencies: ProxyDependencies,
        completions: CompletionRoutes, logger: Logger) -> @Sendable () -> [any RemovableChannelHandler]
    {
        guard configuration.directLane, !configuration.tracing, let lanes = dependencies.lanes else { return { [] } }
        let lane = DirectLane(routes: completions, authenticator: dependencies.authenticator, lanes: lanes,
            maximumResponseBytes: configuration.maximumResponseBytes, logger: logger)
        return { [LaneInstaller(lane: lane)] }
    }

    /// The application, listening on the configured address. `server` makes the HTTP server from the
    /// channel handlers the proxy needs on each connection.
    public static func application(configuration: ProxyConfiguration, dependencies: ProxyDependencies,
        logger: Logger,
        server: (_ handlers: @escaping @Sendable () -> [any RemovableChannelHandler]) -> HTTPServerBuilder = {
            .http1(configuration: .init(additionalChannelHandlers: $0()))
        },
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol
    {
        let completions = completionRoutes(configuration: configuration, dependencies: dependencies, logger: logger)
        return Application(
            router: router(configuration: configuration, dependencies: dependencies, completions: completions,
                logger: logger),
            server: server(channelHandlers(configuration: configuration, dependencies: dependencies,
                completions: completions, logger: logger)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "scutum"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}
