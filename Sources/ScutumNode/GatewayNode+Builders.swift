import Foundation
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

/// The parts of a node `GatewayNode.init` assembles, each built by name.
extension GatewayNode {
    /// The catalog a node serves, and the bundled mock upstream when it serves the demo.
    struct ServedCatalog {
        var catalog: ModelCatalog
        var demoMock: (any Service)?
        var isDemo: Bool
    }

    /// `given` as it is; else the catalog file, pointed at the demo mock (`SCUTUM_DEMO_MOCK_URL`, or
    /// one this node runs) when no provider has credentials.
    static func servedCatalog(configuration: NodeConfiguration, given: ModelCatalog?,
        supportedKinds: Set<ProviderKind>) throws -> ServedCatalog
    {
        if let given { return ServedCatalog(catalog: given, demoMock: nil, isDemo: false) }
        let file: CatalogFile
        if let litellm = configuration.litellm {
            file = litellm.catalog
        } else {
            let text: String
            do {
                text = try String(contentsOfFile: configuration.modelsFile, encoding: .utf8)
            } catch {
                throw NodeConfiguration.Invalid(description: "cannot read the model catalog \(configuration.modelsFile): \(error.localizedDescription)")
            }
            file = try CatalogFile.parse(text)
        }
        let fromFile = try file.catalog(environment: configuration.variables, supportedKinds: supportedKinds)
        if let url = configuration.demoMockURL {
            return ServedCatalog(catalog: fromFile.pointingEverything(atRoot: url, apiKey: "scutum-demo",
                vertexServiceAccount: DemoServiceAccount.json(tokenURI: url + "/token")), demoMock: nil, isDemo: true)
        }
        guard !fromFile.hasAnyProviderCredentials else {
            return ServedCatalog(catalog: fromFile, demoMock: nil, isDemo: false)
        }
        let root = "http://127.0.0.1:\(configuration.demoMockPort)"
        return ServedCatalog(
            catalog: fromFile.pointingEverything(atRoot: root, apiKey: "scutum-demo",
                vertexServiceAccount: DemoServiceAccount.json(tokenURI: root + "/token")),
            demoMock: MockUpstream.application(host: "127.0.0.1", port: configuration.demoMockPort, knobs: MockKnobs(),
                log: nil, logger: Logger(label: "scutum.mock")),
            isDemo: true)
    }

    /// Routes each change another node (or an operator) made in PostgreSQL to what it invalidates:
    /// the platform state, cached keys, the workflow runner, the MCP sync.
    static func invalidationListener(postgres: PostgresClient, loader: PlatformLoader, keyCache: KeyCache,
        workflowWakeUps: WakeUps, mcpWakeUps: WakeUps, logger: Logger) -> InvalidationListener
    {
        InvalidationListener(client: postgres, logger: logger,
            onChange: { change in
                if PlatformLoader.kinds.contains(change.kind) { await loader.reload([change.kind]) }
                switch change.kind {
                case .key: if let hash = change.key_hash { keyCache.invalidate(hash: hash) }
                // A team's keys may have changed with it (deleted with the team, blocked...).
                case .team: keyCache.invalidateAll()
                case .workflowExecution: workflowWakeUps.wake()
                case .mcp, .mcpSync: mcpWakeUps.wake()
                case .budget, .model, .settings, .routing, .guardrail, .workflow: break
                }
            },
            onResync: {
                // Missed changes are picked up as each key is next used; until then (and while
                // PostgreSQL cannot answer) the cached keys keep serving.
                keyCache.expireAll()
                await loader.reload()
            })
    }

    /// What only the elected leader runs: workflow executions, and the MCP sync when agentgateway's
    /// configuration is written by this deployment.
    static func leaderOnlyServices(election: LeaderElection, postgres: PostgresClient, keys: KeyStore,
        completions: InternalCompletions, configuration: NodeConfiguration, workflowWakeUps: WakeUps,
        mcpWakeUps: WakeUps, logger: Logger) -> [any Service]
    {
        let runner = workflowRunner(postgres: postgres, keys: keys, completions: completions,
            configuration: configuration, wakeUps: workflowWakeUps, logger: logger)
        var services: [any Service] = [
            LeaderOnlyService(name: "workflow runner", election: election, logger: logger) { fence in
                await runner.run(fence: fence)
            },
        ]
        if let path = configuration.gatewayConfigPath {
            let sync = MCPSync(postgres: postgres, path: path, port: configuration.agentGatewayPort,
                secrets: configuration.secrets, wakeUps: mcpWakeUps, logger: logger)
            services.append(LeaderOnlyService(name: "MCP sync", election: election, logger: logger) { fence in
                await sync.run(fence: fence)
            })
        }
        return services
    }

    /// The Admin API and, when configured, the admin console (none without an Admin API).
    static func adminServices(configuration: NodeConfiguration, tokenSecret: [UInt8], baseCatalog: ModelCatalog,
        catalog: CatalogHolder, postgres: PostgresClient, redis: RedisClient, ledger: SpendLedger,
        health: ProviderHealth, nodeID: String, ports: ListeningPorts, http: UpstreamHTTP,
        onAdminRunning: @escaping @Sendable (Int) async -> Void,
        onConsoleRunning: @escaping @Sendable (Int) async -> Void, logger: Logger) -> [any Service]
    {
        guard let adminConfiguration = configuration.admin else { return [] }
        var dependencies = AdminDependencies(postgres: postgres, masterKey: configuration.proxy.masterKey,
            jwtSecret: tokenSecret, catalogModels: { baseCatalog.deployments },
            liveSpend: { budget in try? await ledger.current([budget]).first }, nodeID: nodeID,
            deployMCPConfig: { try await MCPSync.requestDeployment(postgres: postgres, logger: logger) },
            secrets: configuration.secrets,
            realtime: {
                try await RealtimeReport(redis: redis, namespace: configuration.redisNamespace, health: health)
                    .json(deployments: catalog.current.deployments.map(\.id))
            },
            deploymentHealth: { ids in
                health.board.read(ids).map { reading in
                    switch reading {
                    case .closed: "closed"
                    case .open: "open"
                    case .halfOpen: "half_open"
                    }
                }
            },
            deploymentEndpoint: { deployment in baseCatalog.credentials[deployment.credentials]?.apiBase },
            clearResponseCache: { selection in
                try await ResponseCacheStore(redis: redis, namespace: configuration.redisNamespace)
                    .delete(scopes: selection.scopes?.map(ResponseCacheStore.Scope.init), model: selection.model)
            })
        dependencies.sso = configuration.sso
        dependencies.httpClient = http.client
        dependencies.masterKeyLogin = configuration.masterKeyLogin
        var services: [any Service] = [
            AdminApplication.application(configuration: adminConfiguration, dependencies: dependencies,
                logger: logger, server: configuration.listenerLimits.server(logger: logger),
                onServerRunning: { port in
                    ports.set(admin: port)
                    await onAdminRunning(port)
                }),
        ]
        if let consoleConfiguration = configuration.console {
            services.append(ConsoleService(configuration: consoleConfiguration, admin: adminConfiguration,
                dependencies: dependencies, logger: logger, server: configuration.listenerLimits.server(logger: logger),
                onServerRunning: onConsoleRunning))
        }
        return services
    }
}
