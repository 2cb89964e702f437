import Foundation
import NIOHTTP1
import Logging
import PostgresNIO
import ScutumCore
import ScutumMock
import ScutumNode
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("Several nodes on one database")
struct ClusterTests {
    @Test("two nodes starting at once on an empty database both migrate safely and serve; a revoked key stops on both")
    func twoNodes() async throws {
        let mockLog = MockRequestLog()
        let mockPort = PortBox()
        let mock = MockUpstream.application(host: "127.0.0.1", port: 0, knobs: MockKnobs(), log: mockLog,
            logger: Gateway.quietLogger) { port in mockPort.set(port) }
        try await withThrowingTaskGroup(of: Void.self) { outer in
            outer.addTask { try await mock.run() }
            defer { outer.cancelAll() }
            let upstream = try await mockPort.wait()
            try await withTestDatabase { client, database in
                let catalog = try CatalogFile.parse(Gateway.catalogYAML(mockPort: upstream)).catalog(
                    environment: [:], supportedKinds: [.openai, .azure])
                var nodes: [GatewayNode] = []
                var ports: [PortBox] = []
                for _ in 0..<2 {
                    var configuration = try NodeConfiguration(variables: [
                        "DATABASE_URL": "postgres://unused@127.0.0.1/unused", "REDIS_URL": TestEnvironment.redisURL,
                        "SCUTUM_API_KEY": Gateway.masterKey, "SCUTUM_HOST": "127.0.0.1", "SCUTUM_PROXY_PORT": "0",
                        "SCUTUM_SQL_DIR": TestEnvironment.sqlDirectory, "SCUTUM_ADMIN_PORT": "0",
                        "SCUTUM_REDIS_NAMESPACE": "test-\(database.database)", "SCUTUM_REDIS_TIMEOUT_MILLISECONDS": "3000",
                        "SCUTUM_BACKEND_TIMEOUT_SECONDS": "10",
                    ])
                    configuration.database = database
                    let port = PortBox()
                    nodes.append(try GatewayNode(configuration: configuration, catalog: catalog,
                        logger: TestEnvironment.logger) { port.set($0) })
                    ports.append(port)
                }
                let groups = nodes.map { $0.serviceGroup(handlingSignals: false) }
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    for group in groups { tasks.addTask { try await group.run() } }
                    do {
                        let urls = [
                            "http://127.0.0.1:\(try await ports[0].wait())",
                            "http://127.0.0.1:\(try await ports[1].wait())",
                        ]
                        // Each migration ran exactly once.
                        let rows = try await client.query("SELECT version, count(*) FROM schema_migrations GROUP BY version")
                        var versions: [Int] = []
                        for try await (version, count) in rows.decode((Int, Int).self) {
                            #expect(count == 1)
                            versions.append(version)
                        }
                        let files = try Migration.load(from: TestEnvironment.sqlDirectory).map(\.version)
                        #expect(versions.sorted() == files)

                        let (key, record) = try await KeyStore(client: client, logger: TestEnvironment.logger)
                            .create(alias: "shared")
                        for url in urls {
                            let result = try await Gateway.send(.POST, url + "/v1/chat/completions", key: key,
                                body: Gateway.chat("hi"))
                            #expect(result.status == 200)
                        }
                        _ = try await KeyStore(client: client, logger: TestEnvironment.logger)
                            .setBlocked(hash: record.keyHash, true)
                        for url in urls {
                            let status = try await eventually { () async throws -> Int? in
                                let result = try await Gateway.send(.POST, url + "/v1/chat/completions", key: key,
                                    body: Gateway.chat("hi"))
                                return result.status == 401 ? 401 : nil
                            }
                            #expect(status == 401, "node \(url) still accepts a revoked key")
                        }
                    } catch {
                        for group in groups { await group.triggerGracefulShutdown() }
                        throw error
                    }
                    for group in groups { await group.triggerGracefulShutdown() }
                    try await tasks.waitForAll()
                }
            }
        }
    }
}
