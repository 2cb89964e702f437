import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// The admin console as a node service: reads the bundled files once (asynchronously, before it
/// listens), then runs `ConsoleApplication` until the service group shuts down.
///
/// Files that cannot be read leave the node without a console (an error in the log) rather than
/// stopping the proxy and the Admin API with it; a port that cannot be bound stops the node, as the
/// other listeners do.
public struct ConsoleService: Service {
    let configuration: ConsoleConfiguration
    let admin: AdminConfiguration
    let dependencies: AdminDependencies
    let logger: Logger
    let loadAssets: @Sendable () async throws -> ConsoleAssets
    let onServerRunning: @Sendable (Int) async -> Void
    let server: HTTPServerBuilder

    /// - Parameters:
    ///   - admin: the Admin API's configuration (body limit, token lifetime), shared with port 8086.
    ///   - loadAssets: where the files come from; the bundled console by default.
    ///   - server: the HTTP server (with its connection limits).
    public init(configuration: ConsoleConfiguration, admin: AdminConfiguration, dependencies: AdminDependencies,
        logger: Logger, loadAssets: @escaping @Sendable () async throws -> ConsoleAssets = { try await ConsoleAssets.bundled() },
        server: HTTPServerBuilder = .http1(), onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
    {
        self.server = server
        self.configuration = configuration
        self.admin = admin
        self.dependencies = dependencies
        self.logger = logger
        self.loadAssets = loadAssets
        self.onServerRunning = onServerRunning
    }

    public func run() async throws {
        let assets: ConsoleAssets
        do {
            assets = try await loadAssets()
        } catch {
            logger.error("admin console disabled: its files could not be read",
                metadata: ["error": "\(error)", "port": "\(configuration.port)"])
            try? await gracefulShutdown()
            return
        }
        logger.info("admin console loaded", metadata: ["files": "\(assets.files.count)"])
        let logger = logger
        let application = ConsoleApplication.application(configuration: configuration, admin: admin,
            dependencies: dependencies, assets: assets, logger: logger, server: server,
            onServerRunning: { [onServerRunning] port in
                logger.info("admin console listening", metadata: ["port": "\(port)"])
                await onServerRunning(port)
            })
        try await application.run()
    }
}
