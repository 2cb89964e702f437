import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumWorkflows

/// What the Admin API needs from the rest of the node.
public struct AdminDependencies: Sendable {
    public var postgres: PostgresClient
    /// `SCUTUM_API_KEY`; logging in with it gives an admin token.
    public var masterKey: String?
    /// HS256 secret for access tokens (`JWT_SECRET_KEY`).
    public var jwtSecret: [UInt8]
    /// The models of the catalog file, before overrides (for `GET /api/v1/models`).
    public var catalogModels: @Sendable () -> [ModelDeployment]
    /// Current-period spend (USD) of a budget's subject, from the live counters; nil if unknown.
    public var liveSpend: @Sendable (BudgetRecord) async -> Double?
    /// This node's id in the cluster registry, for `GET /api/v1/cluster`.
    public var nodeID: String?
    /// Writes agentgateway's configuration from the active MCP servers (see `MCPConfigSync`) and
    /// returns what it did as JSON; nil when this node cannot (`POST /api/v1/mcp-servers/sync` is 503).
    public var deployMCPConfig: (@Sendable () async throws -> JSONValue)?
    /// Encrypts the secrets the Admin API stores (MCP servers' env and header values).
    public var secrets: SecretBox?
    /// The cluster-wide realtime figures (`GET /api/v1/metrics/realtime`); nil answers 503.
    public var realtime: (@Sendable () async throws -> JSONValue)?
    /// Each deployment's circuit breaker (`closed`, `open`, `half_open`) by id, as this node's board
    /// holds it; nil when unknown.
    public var deploymentHealth: (@Sendable ([String]) -> [String])?
    /// The endpoint a deployment calls (its credentials' `api_base`; never a secret).
    public var deploymentEndpoint: (@Sendable (ModelDeployment) -> String?)?
    /// Deletes the selected response-cache entries from the shared Redis and answers how many;
    /// throws when Redis does not answer. nil: `DELETE /api/v1/cache` is 503.
    public var clearResponseCache: (@Sendable (ResponseCacheSelection) async throws -> Int)?
    /// Single sign-on for the console; nil turns it off.
    public var sso: SSOConfiguration?
    /// The client that talks to the identity provider (required with `sso`).
    public var httpClient: HTTPClient?
    /// False turns signing in with the master key off (`SCUTUM_MASTER_KEY_LOGIN=false`), leaving
    /// single sign-on and admin keys; the master key still works on the proxy.
    public var masterKeyLogin: Bool = true

    public init(postgres: PostgresClient, masterKey: String?, jwtSecret: [UInt8],
        catalogModels: @escaping @Sendable () -> [ModelDeployment],
        liveSpend: @escaping @Sendable (BudgetRecord) async -> Double?, nodeID: String? = nil,
        deployMCPConfig: (@Sendable () async throws -> JSONValue)? = nil, secrets: SecretBox? = nil,
        realtime: (@Sendable () async throws -> JSONValue)? = nil,
        deploymentHealth: (@Sendable ([String]) -> [String])? = nil,
        deploymentEndpoint: (@Sendable (ModelDeployment) -> String?)? = nil,
        clearResponseCache: (@Sendable (ResponseCacheSelection) async throws -> Int)? = nil)
    {
        self.clearResponseCache = clearResponseCache
        self.deploymentHealth = deploymentHealth
        self.deploymentEndpoint = deploymentEndpoint
        self.realtime = realtime
        self.secrets = secrets
        self.nodeID = nodeID
        self.postgres = postgres
        self.masterKey = masterKey
        self.jwtSecret = jwtSecret
        self.catalogModels = catalogModels
        self.liveSpend = liveSpend
        self.deployMCPConfig = deployMCPConfig
    }
}

/// Where the Admin API listens.
public struct AdminConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Larger bodies get 413.
    public var maximumBodyBytes: Int
    /// Lifetime of access tokens.
    public var tokenLifetime: Duration

    public init(host: String = "0.0.0.0", port: Int = 8086, maximumBodyBytes: Int = 1024 * 1024,
        tokenLifetime: Duration = .seconds(8 * 3600))
    {
        self.host = host
        self.port = port
        self.maximumBodyBytes = maximumBodyBytes
        self.tokenLifetime = tokenLifetime
    }
}

/// Builds the port-8086 application: `POST /auth/login`, single sign-on (`/auth/sso...`) and
/// `GET /health` without a token, `GET /auth/me` and everything under `/api/v1` behind an access
/// token (what each caller reaches: `AdminAccess`), every error in FastAPI's `{"detail": ...}` JSON.
public enum AdminApplication {
    public static func router(configuration: AdminConfiguration, dependencies: AdminDependencies, logger: Logger)
        -> Router<AdminRequestContext>
    {
        var dependencies = dependencies
        if dependencies.jwtSecret.isEmpty {
            logger.warning(
                "no JWT secret configured: using a random one, so access tokens end with this process and work on this node only")
            var generator = SystemRandomNumberGenerator()
            dependencies.jwtSecret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        }
        let services = AdminServices(configuration: configuration, dependencies: dependencies, logger: logger)
        let authenticator = AdminAuthenticator(jwt: AdminJWT(secret: dependencies.jwtSecret),
            masterKey: dependencies.masterKey, keys: services.keys, users: services.users,
            tokenLifetime: configuration.tokenLifetime, masterKeyLogin: dependencies.masterKeyLogin)
        var login: SSOLogin?
        if let sso = dependencies.sso {
            if let httpClient = dependencies.httpClient {
                login = SSOLogin(configuration: sso, httpClient: httpClient, logger: logger)
            } else {
                logger.error("single sign-on is configured but no HTTP client was given: it stays off")
            }
        }

        let router = Router(context: AdminRequestContext.self)
        router.add(middleware: AdminErrorMiddleware(logger: logger))
        router.get("/health") { _, _ in AdminResponse.json(["status": "ok"]) }
        let authenticated = router.group().add(middleware: AdminAuthMiddleware(authenticator: authenticator))
        AuthRoutes(services: services, authenticator: authenticator).register(login: router, me: authenticated)
        SSORoutes(services: services, authenticator: authenticator, login: login,
            cookie: SSOStateCookie(secret: dependencies.jwtSecret)).register(on: router)

        let api = router.group("/api/v1").add(middleware: AdminAuthMiddleware(authenticator: authenticator))
        KeyRoutes(services: services).register(on: api)
        TeamRoutes(services: services).register(on: api)
        UserRoutes(services: services).register(on: api)
        BudgetRoutes(services: services).register(on: api)
        ModelRoutes(services: services).register(on: api)
        SettingsRoutes(services: services).register(on: api)
        SpendRoutes(services: services).register(on: api)
        OperatorRoutes(services: services).register(on: api)
        RoutingPolicyRoutes(services: services).register(on: api)
        ClusterRoutes(services: services).register(on: api)
        RealtimeRoutes(services: services).register(on: api)
        WorkflowRoutes(services: services).register(on: api)
        WorkflowExecutionRoutes(services: services).register(on: api)
        MCPServerRoutes(services: services).register(on: api)
        GuardrailRoutes(services: services).register(on: api)
        GuardrailEventRoutes(services: services).register(on: api)
        CacheRoutes(services: services).register(on: api)
        AlertRoutes(services: services).register(on: api)
        return router
    }

    /// The application, listening on the configured address.
    public static func application(configuration: AdminConfiguration, dependencies: AdminDependencies,
        logger: Logger, server: HTTPServerBuilder = .http1(),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol
    {
        Application(
            router: router(configuration: configuration, dependencies: dependencies, logger: logger),
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                serverName: "scutum-admin"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}
