import ArgumentParser
import Foundation
import Logging
import OTel
import PostgresNIO
import ScutumCore
import ScutumNode
import ScutumProxy
import ScutumStore
import ServiceLifecycle
import Synchronization

/// The `scutum` command: serve a gateway node, migrate the database, manage keys.
struct Scutum: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scutum",
        abstract: "Scutum, an OpenAI-compatible LLM gateway.",
        subcommands: [Serve.self, Migrate.self, Keys.self, Admin.self, Config.self],
        defaultSubcommand: Serve.self)
}

/// Options every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "A KEY=VALUE file read before the environment (the environment wins).")
    var envFile: String = "config/.env"

    /// The node's configuration; `overrides` win over the environment (command-line flags).
    func load(overrides: [String: String] = [:]) throws -> NodeConfiguration {
        let configuration: NodeConfiguration
        do {
            configuration = try NodeConfiguration.load(envFile: envFile,
                environment: ProcessInfo.processInfo.environment.merging(overrides) { _, flag in flag })
        } catch {
            throw ValidationError("configuration: \(error)")
        }
        if Self.bootstrapped.withLock({ done in defer { done = true }; return !done }) {
            // Every line says which proxy request it is about, and with tracing on, which trace.
            var providers = [RequestLogMetadata.provider]
            if configuration.tracing { providers.append(OTel.makeLoggingMetadataProvider()) }
            let metadata = Logger.MetadataProvider.multiplex(providers)
            if configuration.jsonLogs {
                LoggingSystem.bootstrap({ label, provider in JSONLogHandler(label: label, metadataProvider: provider) },
                    metadataProvider: metadata)
            } else {
                LoggingSystem.bootstrap(StreamLogHandler.standardError, metadataProvider: metadata)
            }
        }
        return configuration
    }

    /// `LoggingSystem.bootstrap` may run once per process.
    static let bootstrapped = Mutex(false)

    func logger(_ configuration: NodeConfiguration, label: String = "scutum") -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = configuration.logLevel
        return logger
    }

    /// Runs `body` with the key store of the configured database.
    func withKeyStore<T: Sendable>(_ body: @escaping @Sendable (KeyStore) async throws -> T) async throws -> T {
        let configuration = try load()
        let logger = logger(configuration)
        return try await withPostgres(configuration, logger: logger) { client in
            try await body(KeyStore(client: client, logger: logger))
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a gateway node (proxy on :4000).")
    @OptionGroup var options: CommonOptions
    @Option(name: .customLong("config"),
        help: "The models file: Scutum's models.yaml or a LiteLLM config.yaml (over SCUTUM_MODELS_FILE).")
    var modelsFile: String?

    func run() async throws {
        let configuration = try options.load(overrides: modelsFile.map { ["SCUTUM_MODELS_FILE": $0] } ?? [:])
        let logger = options.logger(configuration)
        let node = try GatewayNode(configuration: configuration, logger: logger) { port in
            logger.info("proxy listening", metadata: ["address": "http://\(configuration.proxy.host):\(port)"])
        }
        node.logStartup()
        let files = FileDescriptorLimit.raise()
        if files < 16_384 {
            logger.warning("open-file limit is low for a gateway: each stream holds two sockets",
                metadata: ["limit": "\(files)"])
        }
        let tracing: [any Service] = configuration.tracing
            ? [try TraceExport.bootstrap(environment: configuration.variables, logger: logger)] : []
        try await node.serviceGroup(first: tracing).run()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations from the sql/ folder.")
    @OptionGroup var options: CommonOptions

    func run() async throws {
        let configuration = try options.load()
        let logger = options.logger(configuration)
        let migrations = try Migration.load(from: configuration.sqlDirectory)
        let applied = try await withPostgres(configuration, logger: logger) { client in
            try await MigrationRunner(client: client, logger: logger).migrate(migrations)
        }
        print(applied.isEmpty ? "Database is up to date (\(migrations.count) migrations)." :
            "Applied migrations: \(applied.map(String.init).joined(separator: ", ")).")
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke API keys.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it (shown only once).")
        @OptionGroup var options: CommonOptions
        @Option(help: "A name for the key.") var alias: String?
        @Option(help: "user or admin.") var role: String = "user"
        @Option(help: "Days until the key expires.") var days: Int?

        func run() async throws {
            guard let role = KeyRole(rawValue: role) else { throw ValidationError("--role must be user or admin") }
            let expires = days.map { Date().addingTimeInterval(Double($0) * 86400) }
            let alias = self.alias
            let (key, _) = try await options.withKeyStore { store in
                try await store.create(alias: alias, role: role, expiresAt: expires)
            }
            print(key)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var options: CommonOptions

        func run() async throws {
            let keys = try await options.withKeyStore { store in try await store.list() }
            for key in keys {
                let state = key.blocked ? "revoked" : "active"
                print("\(key.display)\t\(key.alias ?? "-")\t\(key.role)\t\(state)\t\(key.keyHash)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key, given the key or its hash.")
        @OptionGroup var options: CommonOptions
        @Argument(help: "The key (sk-...) or its SHA-256 hash.") var key: String

        func run() async throws {
            let hash = key.count == 64 && key.allSatisfy(\.isHexDigit) ? key.lowercased() : APIKey.hash(key)
            let found = try await options.withKeyStore { store in try await store.setBlocked(hash: hash, true) }
            guard found else { throw ValidationError("no such key") }
            print("Revoked. Every node stops accepting it within about a second.")
        }
    }
}

/// `scutum admin create-key`: the first admin key, to log in to the Admin API without the master key.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Admin API helpers.", subcommands: [CreateKey.self])

    struct CreateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-key",
            abstract: "Create an admin key and print it (shown only once); POST it to :8086/auth/login.")
        @OptionGroup var options: CommonOptions
        @Option(help: "A name for the key.") var alias: String = "admin"

        func run() async throws {
            let alias = self.alias
            let (key, _) = try await options.withKeyStore { store in try await store.create(alias: alias, role: .admin) }
            print(key)
        }
    }
}

/// Runs `body` with a PostgreSQL client that runs only for its duration.
func withPostgres<T: Sendable>(_ configuration: NodeConfiguration, logger: Logger,
    _ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T
{
    // A clear message (certificate, TLS, password) rather than a pool retrying in silence.
    try await configuration.database.checkConnection(logger: logger)
    let client = PostgresClient(configuration: configuration.database.clientConfiguration, backgroundLogger: logger)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await client.run()
            return nil
        }
        defer { group.cancelAll() }
        return try await body(client)
    }
}
