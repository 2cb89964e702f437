import Foundation
import Testing
import Yams

@testable import ScutumMCP

@Suite("agentgateway configuration")
struct AgentGatewayConfigTests {
    /// An extract of agentgateway's config schema: repo agentgateway/agentgateway, `schema/local.json`
    /// @ 03ee81f97ce45cbd46fc54d9896ebb61f33bf761, the `binds → listeners → routes → backends → mcp`
    /// branch copied verbatim (see the file's `$comment`).
    static func schema() throws -> Any {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/agentgateway-schema.json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }

    static let servers: [AgentGatewayConfig.Server] = [
        .init(name: "Remote Tools", kind: .http(url: "https://tools.example.com/mcp")),
        .init(name: "everything", kind: .stdio(MCPStdioCommand(command: "npx",
            args: ["-y", "@modelcontextprotocol/server-everything"], env: ["API_TOKEN": "s3cret \"quoted\"", "LOG_LEVEL": "info"]))),
        .init(name: "legacy_sse", kind: .sse(url: "http://10.0.0.5:8081/sse")),
        .init(name: "remote-tools", kind: .http(url: "https://other.example.com/mcp")),
    ]

    @Test("target names are [a-z0-9-], never contain '_', and are unique")
    func names() {
        #expect(AgentGatewayConfig.targetName("Remote Tools") == "remote-tools")
        #expect(AgentGatewayConfig.targetName("legacy_sse") == "legacy-sse")
        #expect(AgentGatewayConfig.targetName("__Ünïcode!!__") == "n-code")
        #expect(AgentGatewayConfig.targetName("___") == "server")
        let config = AgentGatewayConfig(servers: Self.servers)
        #expect(config.targets.map(\.name) == ["everything", "legacy-sse", "remote-tools", "remote-tools-2"])
        #expect(config.targets.allSatisfy { $0.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" } })
    }

    @Test("the YAML validates against agentgateway's schema and carries every target")
    func validatesAgainstSchema() throws {
        let yaml = AgentGatewayConfig(servers: Self.servers, port: 3100).yaml()
        let document = try #require(try Yams.load(yaml: yaml))
        let errors = SchemaValidator.errors(document, schema: try Self.schema())
        #expect(errors.isEmpty, "\(errors.joined(separator: "\n"))\n\(yaml)")

        let root = try #require(document as? [String: Any])
        let bind = try #require((root["binds"] as? [[String: Any]])?.first)
        #expect(bind["port"] as? Int == 3100)
        let listener = try #require((bind["listeners"] as? [[String: Any]])?.first)
        let route = try #require((listener["routes"] as? [[String: Any]])?.first)
        let backend = try #require((route["backends"] as? [[String: Any]])?.first)
        let targets = try #require((backend["mcp"] as? [String: Any])?["targets"] as? [[String: Any]])
        #expect(targets.count == 4)
        let stdio = try #require(targets.first { $0["name"] as? String == "everything" }?["stdio"] as? [String: Any])
        #expect(stdio["cmd"] as? String == "npx")
        #expect(stdio["args"] as? [String] == ["-y", "@modelcontextprotocol/server-everything"])
        #expect((stdio["env"] as? [String: String])?["API_TOKEN"] == "s3cret \"quoted\"")
        let sse = try #require(targets.first { $0["name"] as? String == "legacy-sse" }?["sse"] as? [String: Any])
        #expect(sse["host"] as? String == "http://10.0.0.5:8081/sse")
        let http = try #require(targets.first { $0["name"] as? String == "remote-tools" }?["mcp"] as? [String: Any])
        #expect(http["host"] as? String == "https://tools.example.com/mcp")
    }

    @Test("no servers is still a valid configuration")
    func empty() throws {
        let document = try Yams.load(yaml: AgentGatewayConfig(servers: []).yaml())
        #expect(SchemaValidator.errors(document, schema: try Self.schema()).isEmpty)
    }

    @Test("the validator catches what agentgateway would reject")
    func validatorRejects() throws {
        let schema = try Self.schema()
        let bad: [String] = [
            "binds: [{port: 3000, listeners: [{routes: [{backends: [{mcp: {targets: [{name: a, stdio: {cmd: x}, sse: {host: y}}]}}]}]}]}]",
            "binds: [{port: 3000, listeners: [{routes: [{backends: [{mcp: {targets: [{name: a, stdio: {command: x}}]}}]}]}]}]",
            "binds: [{port: 3000, listeners: [{routes: [{backends: [{mcp: {targets: [{stdio: {cmd: x}}]}}]}]}]}]",
            "binds: [{port: 3000, listeners: [{routes: [{backends: [{mcp: {targets: [], failureMode: failOpen}}]}]}]}]",
            "binds: [{listeners: []}]",
        ]
        for text in bad {
            #expect(!SchemaValidator.errors(try Yams.load(yaml: text), schema: schema).isEmpty, "\(text)")
        }
    }

    @Test("the output is deterministic and previews mask environment values")
    func deterministicAndMasked() {
        let forward = AgentGatewayConfig(servers: Self.servers).yaml()
        #expect(forward == AgentGatewayConfig(servers: Self.servers.reversed()).yaml())
        let preview = AgentGatewayConfig(servers: Self.servers).yaml(maskingSecrets: true)
        #expect(!preview.contains("s3cret"))
        #expect(preview.contains(#""API_TOKEN": "****""#))
        #expect(forward.contains("s3cret"))
    }
}

@Suite("Writing agentgateway's configuration")
struct AgentGatewayDeployerTests {
    static func withDirectory(_ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scutum-agw-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(directory)
    }

    @Test("the file is replaced whole, with its size and SHA-256 reported and no temporary file left behind")
    func atomicWrite() async throws {
        try await Self.withDirectory { directory in
            let path = directory + "/config.yaml"
            let deployer = AgentGatewayDeployer(path: path)
            let first = try await deployer.deploy("binds: []\n")
            // printf 'binds: []\n' | sha256sum
            #expect(first == AgentGatewayDeployment(path: path, bytes: 10,
                sha256: "f3aae76507bb8e8696a21632185895be3baaa42f868a49043b5eee5c8d02ca66"))
            let yaml = AgentGatewayConfig(servers: AgentGatewayConfigTests.servers).yaml()
            let second = try await deployer.deploy(yaml)
            #expect(second.bytes == yaml.utf8.count)
            #expect(second.sha256 != first.sha256)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == yaml)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["config.yaml"])
            let again = try await deployer.deploy(yaml)
            #expect(again.sha256 == second.sha256)
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o640)
        }
    }

    @Test("a directory that does not exist is a clear error")
    func missingDirectory() async throws {
        do throws(AgentGatewayDeployError) {
            _ = try await AgentGatewayDeployer(path: "/nonexistent-\(UUID().uuidString)/config.yaml").deploy("x")
            Issue.record("wrote into a missing directory")
        } catch {
            #expect(error.message.contains("could not create a temporary file"), "\(error)")
        }
    }
}
