import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import ScutumCore
import ScutumMock
import ScutumNode
import ScutumStore
import ScutumTestSupport
import Testing
import ServiceLifecycle
import Synchronization

/// A running gateway node for tests: a mock upstream on a free port, a fresh migrated database,
/// the test Redis, and the node's proxy on a free port.
struct Gateway: Sendable {
    static let masterKey = "sk-test-master-key-0123456789abcdef"

    /// For the mock: cancelling its server at the end of a test is expected, not worth a log line.
    static let quietLogger: Logger = {
        var logger = Logger(label: "test.mock")
        logger.logLevel = .critical
        return logger
    }()

    let baseURL: String
    /// The node's Admin API.
    let adminURL: String
    let node: GatewayNode
    let keys: KeyStore
    let mockLog: MockRequestLog
    let database: DatabaseConfiguration
    let group: ServiceGroup

    /// Starts the node's graceful shutdown (as SIGTERM would).
    func shutdown() async { await group.triggerGracefulShutdown() }

    /// The test catalog: every model points at the mock.
    static func catalogYAML(mockPort: Int) -> String {
        """
        credentials:
          openai: {api_key: sk-upstream-openai, api_base: "http://127.0.0.1:\(mockPort)/v1"}
          azure: {api_key: azure-upstream-key, api_base: "http://127.0.0.1:\(mockPort)", api_version: "2024-10-21"}
          deepseek: {api_base: "http://127.0.0.1:\(mockPort)/v1"}
          anthropic: {api_key: sk-ant-upstream, api_base: "http://127.0.0.1:\(mockPort)"}
          gemini: {api_key: gemini-upstream-key, api_base: "http://127.0.0.1:\(mockPort)"}
          vertex:
            api_base: "http://127.0.0.1:\(mockPort)"
            extra: {project: test-project, location: europe-west4, credentials_json: '\(serviceAccount(mockPort: mockPort))'}
          bedrock:
            api_key: AKIDTESTUPSTREAM
            api_base: "http://127.0.0.1:\(mockPort)"
            extra: {secret_key: test-secret, region: eu-central-1}
        models:
          - {model_name: gpt-test, provider: openai, model: gpt-upstream-id, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
          - {model_name: gpt-test-2, provider: openai, model: gpt-upstream-2}
          - {model_name: gpt-chat, provider: openai, model: gpt-upstream-chat, responses_api: translated, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
          - {model_name: primary-test, provider: openai, model: primary-upstream, context_window: 8000}
          - {model_name: big-context-test, provider: openai, model: big-upstream, context_window: 200000}
          - {model_name: limited-test, provider: openai, model: limited-upstream, rpm: 2}
          - {model_name: tpm-test, provider: openai, model: tpm-upstream, tpm: 700}
          - {model_name: azure-text-embedding-3-large, provider: azure, model: text-embedding-3-large, mode: embedding}
          - {model_name: azure-chat, provider: azure, model: my-gpt-deployment}
          - {model_name: deepseek-nokey, provider: deepseek, model: deepseek-chat}
          - {model_name: claude-test, provider: anthropic, model: claude-sonnet-4-5, max_output_tokens: 64000}
          - {model_name: gemini-test, provider: gemini, model: gemini-3-pro-preview}
          - {model_name: gemini-embed, provider: gemini, model: gemini-embedding-001, mode: embedding}
          - {model_name: vertex-gemini, provider: vertex, model: gemini-2.5-pro}
          - {model_name: vertex-claude, provider: vertex, model: claude-sonnet-4-5@20250929}
          - {model_name: bedrock-claude, provider: bedrock, model: "anthropic.claude-sonnet-4-5-20250929-v1:0"}
          - {model_name: bedrock-titan, provider: bedrock, model: "amazon.titan-embed-text-v2:0", mode: embedding}
          - {model_name: bedrock-cohere, provider: bedrock, model: cohere.embed-english-v3, mode: embedding}
          - {model_name: claude-priced, provider: anthropic, model: claude-sonnet-4-5, max_output_tokens: 64000, input_cost_per_token: 0.000003, output_cost_per_token: 0.000015, cache_read_input_token_cost: 0.0000003, cache_creation_input_token_cost: 0.00000375, cache_creation_input_token_cost_above_1hr: 0.000006}
          - {model_name: bedrock-claude-auto, provider: bedrock, model: "anthropic.claude-sonnet-4-5-20250929-v1:0", cache_breakpoints: auto, input_cost_per_token: 0.000003, output_cost_per_token: 0.000015, cache_read_input_token_cost: 0.0000003, cache_creation_input_token_cost: 0.00000375}
        fallbacks:
          primary-test: [gpt-test-2, big-context-test]
          limited-test: [gpt-test-2]
          tpm-test: [gpt-test-2]
        aliases:
          fast: [gpt-test, gpt-test-2]
          broken: [deepseek-nokey]
        """
    }

    /// A Google service-account key whose token endpoint is the mock's (one key per test process).
    static func serviceAccount(mockPort: Int) -> String {
        DemoServiceAccount.json(tokenURI: "http://127.0.0.1:\(mockPort)/token") ?? "{}"
    }

    /// Starts everything, runs `body`, then shuts the node down gracefully. With `modelsFile`, the
    /// node reads its catalog from the file it returns (given the mock's port), as `scutum serve`
    /// does, instead of being handed the test catalog.
    static func with<T: Sendable>(
        variables: [String: String] = [:],
        redisURL: String = TestEnvironment.redisURL,
        knobs: MockKnobs = MockKnobs(),
        database: DatabaseConfiguration? = nil,
        modelsFile: (@Sendable (_ mockPort: Int) throws -> String)? = nil,
        _ body: @escaping @Sendable (Gateway) async throws -> T
    ) async throws -> T {
        let mockLog = MockRequestLog()
        let mockPort = PortBox()
        let mock = MockUpstream.application(host: "127.0.0.1", port: 0, knobs: knobs, log: mockLog,
            logger: Gateway.quietLogger) { port in mockPort.set(port) }
        return try await whileServing("the mock upstream", { try await mock.run() }) {
            let upstreamPort = try await mockPort.wait()
            var variables = variables
            var catalogYAML: String? = catalogYAML(mockPort: upstreamPort)
            if let modelsFile {
                variables["SCUTUM_MODELS_FILE"] = try modelsFile(upstreamPort)
                catalogYAML = nil
            }
            if let database {
                return try await runNode(database: database, redisURL: redisURL, variables: variables,
                    catalogYAML: catalogYAML, mockLog: mockLog, body)
            }
            return try await withMigratedDatabase { [variables, catalogYAML] _, database in
                try await runNode(database: database, redisURL: redisURL, variables: variables,
                    catalogYAML: catalogYAML, mockLog: mockLog, body)
            }
        }
    }

    /// The mock upstream's base URL (it also serves the MCP test server at `/mcp` and `/sse`).
    var mockURL: String {
        let base = node.catalog.current.credentials["openai"]?.apiBase ?? ""
        return base.hasSuffix("/v1") ? String(base.dropLast(3)) : base
    }

    /// Starts `count` nodes on one fresh database (one cluster: same Redis namespace) and one mock.
    static func cluster<T: Sendable>(nodes count: Int, variables extra: [String: String] = [:],
        _ body: @escaping @Sendable ([Gateway]) async throws -> T) async throws -> T
    {
        let mockLog = MockRequestLog()
        let mockPort = PortBox()
        let mock = MockUpstream.application(host: "127.0.0.1", port: 0, knobs: MockKnobs(), log: mockLog,
            logger: Gateway.quietLogger) { port in mockPort.set(port) }
        return try await whileServing("the mock upstream", { try await mock.run() }) {
            let yaml = catalogYAML(mockPort: try await mockPort.wait())
            return try await withMigratedDatabase { _, database in
                let variables = extra.merging(["SCUTUM_REDIS_NAMESPACE": "test-cluster-\(database.database)"]) { $1 }
                @Sendable func start(_ started: [Gateway]) async throws -> T {
                    if started.count == count { return try await body(started) }
                    return try await runNode(database: database, variables: variables, catalogYAML: yaml,
                        mockLog: mockLog) { gateway in try await start(started + [gateway]) }
                }
                return try await start([])
            }
        }
    }

    /// Starts a node on an existing database; used directly by multi-node tests. A nil `catalogYAML`
    /// has the node read its models file.
    static func runNode<T: Sendable>(
        database: DatabaseConfiguration, redisURL: String = TestEnvironment.redisURL,
        variables: [String: String] = [:], catalogYAML: String?, mockLog: MockRequestLog,
        _ body: @escaping @Sendable (Gateway) async throws -> T
    ) async throws -> T {
        var all = [
            "DATABASE_URL": "postgres://unused@127.0.0.1/unused",
            "REDIS_URL": redisURL,
            "SCUTUM_API_KEY": masterKey,
            "SCUTUM_HOST": "127.0.0.1",
            "SCUTUM_PROXY_PORT": "0",
            "SCUTUM_SQL_DIR": TestEnvironment.sqlDirectory,
            "SCUTUM_SHUTDOWN_GRACE_SECONDS": "10",
            "SCUTUM_ADMIN_PORT": "0",
            "SCUTUM_CONSOLE_PORT": "0",
            // Dozens of nodes share two cores during the suite; Redis replies can take longer than production's 250 ms.
            "SCUTUM_REDIS_TIMEOUT_MILLISECONDS": "3000",
            // Likewise PostgreSQL answers (readiness, key lookups); tests of the deadline set their own.
            "SCUTUM_BACKEND_TIMEOUT_SECONDS": "10",
        ]
        // A TLS or Sentinel test Redis (`make test`'s TLS run) brings its CA, client certificate and sentinel
        // password as variables, as a node's environment would.
        // Each only with its kind of URL: a node refuses REDIS_TLS_* beside a plain one.
        let tls = redisURL.hasPrefix("rediss"), sentinel = redisURL.contains("+sentinel")
        all.merge(ProcessInfo.processInfo.environment.filter {
            (tls && $0.key.hasPrefix("REDIS_TLS_")) || (sentinel && $0.key.hasPrefix("REDIS_SENTINEL_"))
        }) { _, new in new }
        all.merge(variables) { _, new in new }
        all["SCUTUM_REDIS_NAMESPACE"] = all["SCUTUM_REDIS_NAMESPACE"] ?? "test-\(database.database)"
        var configuration = try NodeConfiguration(variables: all)
        configuration.database = database
        // Dozens of nodes run at once during the suite; a small pool each keeps PostgreSQL's
        // connection limit out of the way.
        configuration.database.maximumConnections = 8
        if let url = TestEnvironment.listenDatabaseURL {
            var listen = try DatabaseConfiguration(url: url)
            listen.database = database.database
            listen.maximumConnections = 2
            configuration.listenDatabase = listen
        }
        let catalog = try catalogYAML.map {
            try CatalogFile.parse($0).catalog(environment: [:], supportedKinds: Set(ProviderKind.allCases))
        }
        let proxyPort = PortBox()
        let adminPort = PortBox()
        let node = try GatewayNode(configuration: configuration, catalog: catalog, logger: TestEnvironment.logger,
            onProxyRunning: { port in proxyPort.set(port) }, onAdminRunning: { port in adminPort.set(port) })
        let group = node.serviceGroup(handlingSignals: false)
        let running = Task { try await group.run() }
        let outcome: Result<T, any Error>
        do {
            let port = try await proxyPort.wait()
            let admin = try await adminPort.wait()
            let gateway = Gateway(baseURL: "http://127.0.0.1:\(port)", adminURL: "http://127.0.0.1:\(admin)", node: node,
                keys: KeyStore(client: node.postgres, logger: TestEnvironment.logger), mockLog: mockLog,
                database: database, group: group)
            outcome = .success(try await body(gateway))
        } catch {
            outcome = .failure(error)
        }
        await group.triggerGracefulShutdown()
        // The node's own shutdown is the product's: one that does not finish fails the test (by name),
        // instead of stalling the run. Its grace period here is 10 s.
        if await ended(running, within: .seconds(60)) {
            if case .success = outcome { try await running.value }
        } else {
            Issue.record("the gateway node did not finish its graceful shutdown within 60 s")
        }
        return try outcome.get()
    }
}

/// A port reported by a server callback, awaited by the test.
final class PortBox: Sendable {
    private let port = Mutex<Int?>(nil)

    func set(_ value: Int) { port.withLock { $0 = value } }

    func wait(timeout: Duration = .seconds(60)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = port.withLock({ $0 }) { return value }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("server did not start within \(timeout)")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A plain HTTP response, body collected.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The body as a JSON object.
    var json: [String: Any] {
        get throws {
            guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
                throw TestFailure("not a JSON object: \(body)")
            }
            return object
        }
    }

    /// The `error` object of an OpenAI error body, checked to have exactly its four fields.
    var openAIError: [String: Any] {
        get throws {
            guard let error = try json["error"] as? [String: Any] else { throw TestFailure("no error object: \(body)") }
            guard Set(error.keys) == ["message", "type", "param", "code"] else {
                throw TestFailure("error fields are \(error.keys.sorted())")
            }
            return error
        }
    }
}

extension Gateway {
    /// Sends a request to the proxy and collects the answer.
    func request(_ path: String, method: HTTPMethod = .POST, key: String? = Gateway.masterKey, body: String? = nil,
        headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)) async throws -> HTTPResult
    {
        try await Self.send(method, baseURL + path, key: key, body: body, headers: headers, timeout: timeout)
    }

    static func send(_ method: HTTPMethod, _ url: String, key: String?, body: String?, headers: [(String, String)] = [],
        timeout: TimeAmount = .seconds(30)) async throws -> HTTPResult
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return HTTPResult(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: String(buffer: bytes))
    }

    /// The key's spend rows once there are `count` of them (the spend buffer flushed first), or
    /// nil when fewer arrive within 10 s.
    func spendLogs(keyID: String, count: Int) async throws -> [SpendRecord]? {
        await node.spend.flush()
        return try await eventually(timeout: .seconds(10)) { () async throws -> [SpendRecord]? in
            let logs = try await SpendLogStore(client: node.postgres, logger: TestEnvironment.logger).logs(.init(keyID: keyID))
            return logs.count == count ? logs : nil
        }
    }

    /// A chat body with one user message.
    static func chat(model: String = "gpt-test", _ content: String, stream: Bool = false, extra: String = "") -> String {
        let escaped = String(decoding: try! JSONEncoder().encode(content), as: UTF8.self)
        return #"{"model":"\#(model)","messages":[{"role":"user","content":\#(escaped)}]"#
            + (stream ? #","stream":true"# : "") + extra + "}"
    }
}

extension Gateway {
    /// Streams a request, timing the first body bytes and the whole response.
    /// Streams a request, timing when `marker` first appears in the body (nil: the first bytes)
    /// and the whole response.
    func timeToFirstFrame(_ path: String, body: String, marker: String? = nil) async throws
        -> (elapsed: Duration, total: Duration)
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(Gateway.masterKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let clock = ContinuousClock()
        let start = clock.now
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        var first: Duration?
        var seen = ""
        for try await buffer in response.body where buffer.readableBytes > 0 {
            if marker != nil { seen += String(buffer: buffer) }
            if first == nil, marker.map(seen.contains) ?? true { first = clock.now - start }
        }
        return (first ?? clock.now - start, clock.now - start)
    }
}

extension MockRecordedRequest {
    /// A request header, by case-insensitive name.
    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}
