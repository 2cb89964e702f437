import Foundation
import ScutumTestSupport
import ScutumWorkflows
import Testing

/// Workflow executions run by the leader, through the gateway's own router and the mock upstream.
@Suite("Workflow executions on the leader")
struct WorkflowExecutionTests {
    /// A chain of `count` llm steps s1 → s2 → ...; step N's prompt carries the marker `wf-step-N`
    /// (to count upstream calls) and, for the steps in `slow`, a mock latency.
    static func chain(_ count: Int, slow: Set<Int> = [], model: String = "gpt-test") -> String {
        let nodes = (1...count).map { index in
            let latency = slow.contains(index) ? " [mock:latency_ms=1500]" : ""
            return #"{"name":"s\#(index)","type":"llm","config":{"model":"\#(model)","prompt":"wf-step-\#(index) {{input.topic}}\#(latency) after: {{last}}"}}"#
        }
        let edges = (1..<count).map { #"{"source":"s\#($0)","target":"s\#($0 + 1)"}"# }
        return #"{"name":"chain","description":"five calls","graph_definition":{"nodes":[\#(nodes.joined(separator: ","))],"edges":[\#(edges.joined(separator: ","))],"entry_point":"s1","end_nodes":["s\#(count)"]}}"#
    }

    static func execution(_ gateway: Gateway, token: String, id: String) async throws -> [String: Any] {
        let result = try await Gateway.send(.GET, gateway.adminURL + "/api/v1/workflow-executions/\(id)", key: token,
            body: nil)
        #expect(result.status == 200, "\(result.body)")
        return try result.json
    }

    static func completedSteps(_ execution: [String: Any]) -> [[String: Any]] {
        (execution["steps"] as? [[String: Any]] ?? []).filter { $0["status"] as? String == "completed" }
    }

    @Test("a 5-step execution survives its leader stopping after step 2: steps 1-2 are not run again, cost adds up")
    func failover() async throws {
        try await Gateway.cluster(nodes: 2) { nodes in
            let token = try await AdminClusterTests.login(nodes[0])
            let created = try await Gateway.send(.POST, nodes[0].adminURL + "/api/v1/workflows", key: token,
                body: Self.chain(5, slow: [3]))
            #expect(created.status == 200 || created.status == 201, "\(created.body)")
            let workflowID = try #require(try created.json["id"] as? String)
            let leader = try #require(try await eventually(timeout: .seconds(15)) { () -> Gateway? in
                nodes.first { $0.node.election.fence != nil }
            })
            let follower = try #require(nodes.first { $0.node.election.nodeID != leader.node.election.nodeID })

            // Queued on the follower; the leader runs it.
            let queued = try await Gateway.send(.POST, follower.adminURL + "/api/v1/workflow-executions", key: token,
                body: #"{"workflow_id":"\#(workflowID)","input_data":{"topic":"otters"}}"#)
            #expect(queued.status == 200 || queued.status == 201, "\(queued.body)")
            #expect(try queued.json["status"] as? String == "pending")
            let id = try #require(try queued.json["id"] as? String)

            let twoDone = try await eventually(timeout: .seconds(20)) { () async throws -> Bool? in
                Self.completedSteps(try await Self.execution(follower, token: token, id: id)).count >= 2 ? true : nil
            }
            #expect(twoDone == true)
            // Step 3 is slow: the leader is in the middle of it when it stops.
            await leader.group.triggerGracefulShutdown()

            // The leader drains for up to its grace period (10 s here), the follower takes the lease when it
            // lapses, then reruns step 3 (1.5 s) and runs 4 and 5: generous for a loaded 2-core machine.
            let finished = try await eventually(timeout: .seconds(60)) { () async throws -> [String: Any]? in
                let execution = try await Self.execution(follower, token: token, id: id)
                let status = execution["status"] as? String
                return status == "completed" || status == "failed" ? execution : nil
            }
            let execution = try #require(finished)
            #expect(execution["status"] as? String == "completed", "\(execution)")
            let completed = Self.completedSteps(execution)
            #expect(completed.map { $0["node_name"] as? String } == ["s1", "s2", "s3", "s4", "s5"])

            // Upstream calls: steps 1, 2, 4, 5 exactly once; step 3 at most twice (interrupted, then rerun).
            // (Later prompts quote earlier answers, so a call is counted by how its prompt starts.)
            let prompts = leader.mockLog.entries.compactMap { entry -> String? in
                let body = try? JSONSerialization.jsonObject(with: Data(entry.bodyString().utf8)) as? [String: Any]
                return ((body?["messages"] as? [[String: Any]])?.last?["content"] as? String)
            }
            for step in [1, 2, 4, 5] {
                #expect(prompts.filter { $0.hasPrefix("wf-step-\(step) ") }.count == 1, "step \(step)")
            }
            #expect((1...2).contains(prompts.filter { $0.hasPrefix("wf-step-3 ") }.count))

            // Totals are the sum of the steps'.
            let steps = execution["steps"] as? [[String: Any]] ?? []
            let cost = steps.reduce(0.0) { $0 + ($1["cost"] as? Double ?? 0) }
            let inputTokens = steps.reduce(0) { $0 + ($1["input_tokens"] as? Int ?? 0) }
            let outputTokens = steps.reduce(0) { $0 + ($1["output_tokens"] as? Int ?? 0) }
            #expect(cost > 0)
            #expect(abs((execution["total_cost"] as? Double ?? -1) - cost) < 1e-12)
            #expect(execution["total_input_tokens"] as? Int == inputTokens)
            #expect(execution["total_output_tokens"] as? Int == outputTokens)
            // Each step saw the previous one's answer.
            let s2Input = (completed[1]["input_data"] as? [String: Any]).flatMap { $0["messages"] as? [[String: Any]] }
            #expect((s2Input?.last?["content"] as? String)?.contains("after: ") == true)
        }
    }

    @Test("?wait=true returns the finished execution; a step that fails fails the execution with its reason")
    func waitAndFailure() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            let created = try await Gateway.send(.POST, gateway.adminURL + "/api/v1/workflows", key: token,
                body: Self.chain(2))
            let workflowID = try #require(try created.json["id"] as? String)
            let done = try await Gateway.send(.POST, gateway.adminURL + "/api/v1/workflow-executions?wait=true&timeout=90",
                key: token, body: #"{"workflow_id":"\#(workflowID)","input_data":{"topic":"tea"}}"#, timeout: .seconds(100))
            #expect(try done.json["status"] as? String == "completed", "\(done.body)")
            #expect((try done.json["steps"] as? [[String: Any]])?.count == 2)

            let broken = try await Gateway.send(.POST, gateway.adminURL + "/api/v1/workflow-executions?wait=true&timeout=90",
                key: token, body: #"{"workflow_id":"\#(workflowID)","input_data":{"topic":"[mock:status=400]"}}"#,
                timeout: .seconds(100))
            #expect(try broken.json["status"] as? String == "failed", "\(broken.body)")
            #expect((try broken.json["error"] as? String)?.contains("s1") == true, "\(broken.body)")
        }
    }
}
