import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("MCP server secrets at rest")
struct MCPServerStoreSecretsTests {
    @Test("env and header values are encrypted in PostgreSQL and read back in clear")
    func encrypted() async throws {
        try await withMigratedDatabase { client, _ in
            let box = SecretBox(material: Array("cluster-master-key-for-tests-0123".utf8))
            let store = MCPServerStore(client: client, logger: TestEnvironment.logger, secrets: box)
            let created = try await store.create(MCPServerRecord(name: "search", serverType: "http",
                env: ["API_TOKEN": "tok-123456"], url: "https://mcp.example.com/mcp",
                headers: ["Authorization": "Bearer hdr-secret"]))
            #expect(created.env == ["API_TOKEN": "tok-123456"])
            #expect(created.headers == ["Authorization": "Bearer hdr-secret"])

            var raw = ""
            for try await (env, headers) in try await client.query(
                "SELECT env::text, headers::text FROM mcp_servers WHERE id = \(created.id)", logger: TestEnvironment.logger
            ).decode((String, String).self) { raw = env + headers }
            #expect(!raw.contains("tok-123456") && !raw.contains("hdr-secret"), "\(raw)")
            #expect(raw.contains("API_TOKEN") && raw.contains("enc:v1:"))

            var updated = created
            updated.env["OTHER"] = "second-secret"
            let saved = try #require(try await store.update(updated))
            #expect(saved.env == ["API_TOKEN": "tok-123456", "OTHER": "second-secret"])
            #expect(try await store.find(created.id)?.headers == ["Authorization": "Bearer hdr-secret"])
            // Without the key the values stay sealed.
            let blind = MCPServerStore(client: client, logger: TestEnvironment.logger)
            #expect(try await blind.find(created.id)?.env["API_TOKEN"].map(SecretBox.isSealed) == true)
        }
    }
}
