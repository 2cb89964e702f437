import Foundation
import ScutumTestSupport
import Testing

/// MCP servers as the cluster uses them: a workflow `tool` step calling a real MCP server (the test
/// server the mock upstream ships), and the leader keeping agentgateway's configuration in line.
@Suite("MCP servers in workflows and the agentgateway sync")
struct MCPClusterTests {
    static func register(_ gateway: Gateway, token: String, name: String, url: String, type: String = "http")
        async throws -> String
    {
        let created = try await Gateway.send(.POST, gateway.adminURL + "/api/v1/mcp-servers", key: token,
            body: #"{"name":"\#(name)","server_type":"\#(type)","url":"\#(url)"}"#)
        #expect(created.status == 200 || created.status == 201, "\(created.body)")
        return try #require(try created.json["id"] as? String)
    }

    @Test("a workflow tool step calls a registered MCP server; the leader deploys agentgateway's config and re-syncs on change")
    func toolStepAndSync() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scutum-agw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("config.yaml").path
        try await Gateway.cluster(nodes: 2, variables: ["GATEWAY_CONFIG_PATH": path]) { nodes in
            let token = try await AdminClusterTests.login(nodes[0])
            let admin = nodes[0].adminURL
            let allow = try await Gateway.send(.PUT, admin + "/api/v1/settings", key: token,
                body: #"{"mcp_allowed_hosts":["127.0.0.1"]}"#)
            #expect(allow.status == 200, "\(allow.body)")
            let id = try await Self.register(nodes[0], token: token, name: "tools", url: nodes[0].mockURL + "/mcp")
            let tested = try await Gateway.send(.POST, admin + "/api/v1/mcp-servers/\(id)/test", key: token, body: nil)
            #expect(try tested.json["success"] as? Bool == true, "\(tested.body)")

            // A workflow: an llm step, then the MCP server's echo tool on its answer.
            let workflow = #"""
                {"name":"echo-flow","graph_definition":{"nodes":[
                  {"name":"ask","type":"llm","config":{"model":"gpt-test","prompt":"Say hi to {{input.who}}"}},
                  {"name":"echo","type":"tool","config":{"server":"tools","tool":"echo","arguments":{"message":"echoed: {{steps.ask.output}}"}}}],
                 "edges":[{"source":"ask","target":"echo"}],"entry_point":"ask","end_nodes":["echo"]}}
                """#
            let created = try await Gateway.send(.POST, admin + "/api/v1/workflows", key: token, body: workflow)
            let workflowID = try #require(try created.json["id"] as? String, "\(created.body)")
            let done = try await Gateway.send(.POST, nodes[1].adminURL + "/api/v1/workflow-executions?wait=true&timeout=90",
                key: token, body: #"{"workflow_id":"\#(workflowID)","input_data":{"who":"otters"}}"#, timeout: .seconds(100))
            #expect(try done.json["status"] as? String == "completed", "\(done.body)")
            let steps = try done.json["steps"] as? [[String: Any]] ?? []
            let echoed = ((steps.last?["output_data"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"] as? String
            #expect(echoed?.hasPrefix("echoed: ") == true, "\(steps)")
            #expect((echoed?.count ?? 0) > "echoed: ".count, "the llm step's answer reached the tool")

            // Sync asked on the follower; the leader writes the file.
            let leaderID = try #require(try await eventually(timeout: .seconds(15)) { () -> String? in
                nodes.first { $0.node.election.fence != nil }?.node.election.nodeID
            })
            let follower = try #require(nodes.first { $0.node.election.nodeID != leaderID })
            let synced = try await Gateway.send(.POST, follower.adminURL + "/api/v1/mcp-servers/sync", key: token, body: nil)
            #expect(synced.status == 200, "\(synced.body)")
            #expect(try synced.json["deployed_by"] as? String == leaderID)
            #expect(try synced.json["active_servers"] as? Int == 1)
            let first = try String(contentsOfFile: path, encoding: .utf8)
            #expect(first.contains("binds:") && first.contains("tools") && first.contains("/mcp"), "\(first)")
            let preview = try await Gateway.send(.GET, admin + "/api/v1/mcp-servers/sync/preview", key: token, body: nil)
            #expect(try preview.json["config_yaml"] as? String == first)

            // A new server: the leader re-syncs by itself.
            _ = try await Self.register(nodes[1], token: token, name: "legacy", url: nodes[0].mockURL + "/sse", type: "sse")
            let second = try await eventually(timeout: .seconds(10)) { () -> String? in
                let text = try? String(contentsOfFile: path, encoding: .utf8)
                return text?.contains("legacy") == true ? text : nil
            }
            #expect(second?.contains("sse:") == true)
        }
    }
}
