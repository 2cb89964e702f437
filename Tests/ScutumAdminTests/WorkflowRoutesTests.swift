import Foundation
import HTTPTypes
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import ScutumWorkflows
import Testing

@testable import ScutumAdmin

/// Workflow bodies for the route tests.
enum WorkflowBodies {
    static func llm(_ name: String, _ extra: [String: JSONValue] = [:]) -> JSONValue {
        var config: [String: JSONValue] = ["model": "gpt-test", "prompt": "Say {{input.topic}}"]
        config.merge(extra) { _, new in new }
        return ["name": .string(name), "type": "llm", "config": .object(config)]
    }

    static func graph(nodes: [JSONValue], edges: [JSONValue], entry: JSONValue = "a", ends: JSONValue = ["b"]) -> JSONValue {
        ["nodes": .array(nodes), "edges": .array(edges), "entry_point": entry, "end_nodes": ends]
    }

    static let simpleGraph = graph(nodes: [llm("a"), llm("b")], edges: [["source": "a", "target": "b"]])

    static func workflow(_ name: String = "two-step", graph: JSONValue = simpleGraph) -> JSONValue {
        ["name": .string(name), "description": "Two model calls", "graph_definition": graph,
            "input_schema": ["type": "object", "required": ["topic"], "properties": ["topic": ["type": "string"]]]]
    }
}

@Suite("Admin API: workflows")
struct WorkflowRoutesTests {
    typealias B = WorkflowBodies

    @Test("create, get by id or name, list, update, delete; every write audited")
    func crud() async throws {
        try await AdminFixture.withAPI { api, _ in
            let created = try await api.ok(.post, "/api/v1/workflows", B.workflow())
            let id = try #require(created["id"]?.stringValue)
            #expect(created["name"] == "two-step" && created["is_active"] == true)
            #expect(created["graph_definition"] == B.simpleGraph)
            #expect(created["template_type"] == .null && created["created_by"] == "master")
            #expect(created["input_schema"]?["required"] == ["topic"])
            #expect(try await api.ok(.get, "/api/v1/workflows/\(id)") == created)
            #expect(try await api.ok(.get, "/api/v1/workflows/two-step")["id"]?.stringValue == id)
            #expect(try await api.ok(.get, "/api/v1/workflows")["workflows"]?.arrayValue?.count == 1)

            expectError(try await api.call(.post, "/api/v1/workflows", B.workflow()), .conflict,
                "A workflow named 'two-step' already exists")

            let updated = try await api.ok(.put, "/api/v1/workflows/\(id)", ["is_active": false, "description": nil])
            #expect(updated["is_active"] == false && updated["description"] == .null)
            #expect(updated["graph_definition"] == B.simpleGraph)
            let badGraph = B.graph(nodes: [B.llm("a")], edges: [], ends: ["zzz"])
            expectValidationError(try await api.call(.put, "/api/v1/workflows/\(id)", ["graph_definition": badGraph]),
                at: "body.graph_definition.end_nodes.0")

            #expect(try await api.ok(.delete, "/api/v1/workflows/\(id)")["deleted"]?.stringValue == id)
            expectError(try await api.call(.get, "/api/v1/workflows/\(id)"), .notFound, "Workflow not found")
            expectError(try await api.call(.delete, "/api/v1/workflows/\(id)"), .notFound, "Workflow not found")
            let actions = try await api.auditEntries().compactMap { $0["action"]?.stringValue }
            #expect(actions.filter { $0.hasPrefix("workflow.") } == ["workflow.delete", "workflow.update", "workflow.create"])
        }
    }

    @Test("graphs are validated on save with 422s at the problem")
    func validation() async throws {
        try await AdminFixture.withAPI { api, _ in
            func post(_ graph: JSONValue) async throws -> Reply {
                try await api.call(.post, "/api/v1/workflows", ["name": "w", "graph_definition": graph])
            }
            let unknownType = B.graph(nodes: [B.llm("a"), ["name": "b", "type": "teleport", "config": [:]]],
                edges: [["source": "a", "target": "b"]])
            let reply = try await post(unknownType)
            expectValidationError(reply, at: "body.graph_definition.nodes.1.type")
            #expect(reply.json["detail"]?.arrayValue?.first?["type"] == "literal_error")

            expectValidationError(try await post(B.graph(nodes: [B.llm("a"), B.llm("b")],
                edges: [["source": "a", "target": "b"], ["source": "a", "target": "nowhere"]])),
                at: "body.graph_definition.edges.1.target")

            let cycle = B.graph(nodes: [B.llm("a"), B.llm("c"), B.llm("b")],
                edges: [["source": "a", "target": "c"], ["source": "c", "target": "a"], ["source": "c", "target": "b",
                    "condition": ["path": "last", "contains": "done"]]])
            let cycleReply = try await post(cycle)
            expectValidationError(cycleReply, at: "body.graph_definition.edges.0")
            #expect(cycleReply.json["detail"]?.arrayValue?.first?["type"] == "cycle_unbounded")
            #expect(cycleReply.json["detail"]?.arrayValue?.first?["msg"]?.stringValue?.hasPrefix("Cycle without a bound") == true)

            let noEntry: JSONValue = ["nodes": [B.llm("a")], "edges": [], "end_nodes": ["a"]]
            expectValidationError(try await post(noEntry), at: "body.graph_definition.entry_point")
            expectValidationError(try await post(B.graph(nodes: [B.llm("a", ["prompt": nil])], edges: [], ends: ["a"])),
                at: "body.graph_definition.nodes.0.config.prompt")
            expectValidationError(try await api.call(.post, "/api/v1/workflows", ["name": "w"]), at: "body.graph_definition")
            expectValidationError(try await api.call(.post, "/api/v1/workflows", ["graph_definition": B.simpleGraph]),
                at: "body.name")
            expectValidationError(try await api.call(.post, "/api/v1/workflows", ["name": "w", "template_type": "poetry"]),
                at: "body.template_type")
            expectValidationError(try await api.call(.post, "/api/v1/workflows", ["name": "w", "graph_definition": [1]]),
                at: "body.graph_definition")
            #expect(try await api.ok(.get, "/api/v1/workflows")["workflows"] == [])
        }
    }

    @Test("the built-in templates are listed, validate, and create workflows by template_type alone")
    func templates() async throws {
        try await AdminFixture.withAPI { api, _ in
            let templates = try await api.ok(.get, "/api/v1/workflows/templates")["templates"]?.arrayValue ?? []
            #expect(templates.compactMap { $0["template_type"]?.stringValue } == ["research", "coding", "data_analysis"])
            for template in templates {
                let graph = try #require(template["graph_definition"])
                #expect(WorkflowGraph.problems(in: graph).isEmpty)
                let name = try #require(template["template_type"]?.stringValue)
                let created = try await api.ok(.post, "/api/v1/workflows", ["name": .string("my-\(name)"), "template_type": .string(name)])
                #expect(created["graph_definition"] == graph)
                #expect(created["input_schema"] == template["input_schema"])
                #expect(created["template_type"] == .string(name))
            }
        }
    }
}

@Suite("Admin API: workflow executions")
struct WorkflowExecutionRoutesTests {
    typealias B = WorkflowBodies

    @Test("queue at once as pending; get with steps and totals; list with filters; cancel once")
    func lifecycle() async throws {
        try await AdminFixture.withAPI { api, _ in
            let workflow = try await api.ok(.post, "/api/v1/workflows", B.workflow())
            let workflowID = try #require(workflow["id"]?.stringValue)
            let queued = try await api.ok(.post, "/api/v1/workflow-executions",
                ["workflow_id": .string(workflowID), "input_data": ["topic": "tides"]])
            let id = try #require(queued["id"]?.stringValue)
            #expect(queued["status"] == "pending" && queued["workflow_id"] == .string(workflowID))
            #expect(queued["input_data"] == ["topic": "tides"] && queued["key_id"] == .null && queued["created_by"] == "master")
            let byName = try await api.ok(.post, "/api/v1/workflow-executions",
                ["workflow_id": "two-step", "input_data": ["topic": "waves"]])
            let second = try #require(byName["id"]?.stringValue)

            let detail = try await api.ok(.get, "/api/v1/workflow-executions/\(id)")
            #expect(detail["steps"] == [] && detail["total_cost"] == 0 && detail["total_input_tokens"] == 0)
            #expect(detail["total_output_tokens"] == 0 && detail["status"] == "pending")

            let cancelled = try await api.ok(.post, "/api/v1/workflow-executions/\(second)/cancel")
            #expect(cancelled["status"] == "cancelled" && cancelled["completed_at"] != .null)
            expectError(try await api.call(.post, "/api/v1/workflow-executions/\(second)/cancel"), .conflict,
                "Workflow execution already cancelled")

            func listed(_ query: String) async throws -> [String] {
                try await api.ok(.get, "/api/v1/workflow-executions\(query)")["executions"]?.arrayValue?
                    .compactMap { $0["id"]?.stringValue } ?? []
            }
            #expect(try await listed("") == [second, id])
            #expect(try await listed("?status=pending") == [id])
            #expect(try await listed("?status=cancelled&workflow_id=\(workflowID)") == [second])
            #expect(try await listed("?workflow_id=two-step&limit=1") == [second])
            #expect(try await listed("?workflow_id=nothing-like-it").isEmpty)
            expectValidationError(try await api.call(.get, "/api/v1/workflow-executions?status=done"), at: "query.status")
            expectValidationError(try await api.call(.get, "/api/v1/workflow-executions?limit=0"), at: "query.limit")

            let audit = try await api.auditEntries().compactMap { $0["action"]?.stringValue }
            #expect(audit.filter { $0.hasPrefix("workflow_execution.") }
                == ["workflow_execution.cancel", "workflow_execution.create", "workflow_execution.create"])
        }
    }

    @Test("refusals: unknown workflow or execution, inactive workflow, input against the schema, bad ids")
    func refusals() async throws {
        try await AdminFixture.withAPI { api, _ in
            let workflow = try await api.ok(.post, "/api/v1/workflows", B.workflow())
            let workflowID = try #require(workflow["id"]?.stringValue)
            expectError(try await api.call(.post, "/api/v1/workflow-executions", ["workflow_id": .string(UUID().uuidString)]),
                .notFound, "Workflow not found")
            expectValidationError(try await api.call(.post, "/api/v1/workflow-executions", ["input_data": [:]]),
                at: "body.workflow_id")
            expectValidationError(try await api.call(.post, "/api/v1/workflow-executions",
                ["workflow_id": .string(workflowID), "input_data": [:]]), at: "body.input_data.topic")
            expectValidationError(try await api.call(.post, "/api/v1/workflow-executions",
                ["workflow_id": .string(workflowID), "input_data": ["topic": 3]]), at: "body.input_data.topic")
            expectValidationError(try await api.call(.post, "/api/v1/workflow-executions?wait=true&timeout=500",
                ["workflow_id": .string(workflowID), "input_data": ["topic": "x"]]), at: "query.timeout")

            _ = try await api.ok(.put, "/api/v1/workflows/\(workflowID)", ["is_active": false])
            expectError(try await api.call(.post, "/api/v1/workflow-executions",
                ["workflow_id": .string(workflowID), "input_data": ["topic": "x"]]), .conflict,
                "Workflow 'two-step' is inactive; set is_active to true to execute it")

            let missing = UUID().uuidString.lowercased()
            expectError(try await api.call(.get, "/api/v1/workflow-executions/\(missing)"), .notFound,
                "Workflow execution not found")
            expectError(try await api.call(.post, "/api/v1/workflow-executions/\(missing)/cancel"), .notFound,
                "Workflow execution not found")
            expectValidationError(try await api.call(.get, "/api/v1/workflow-executions/not-a-uuid"), at: "path.id")
        }
    }

    @Test("?wait=true returns the finished execution with its steps once a leader ran it")
    func waitForResult() async throws {
        try await AdminFixture.withAPI { api, client in
            _ = try await api.ok(.post, "/api/v1/workflows", B.workflow())
            let executions = WorkflowExecutionStore(client: client, logger: TestEnvironment.logger)
            let lease = LeaderLease(client: client, logger: TestEnvironment.logger)
            // A stand-in for the leader's runner: claim, run both nodes, finish.
            let leader = Task {
                let fence = try #require(try await lease.acquireOrRenew(nodeID: "test-leader", lease: .seconds(600)))
                while !Task.isCancelled {
                    guard let claim = try await executions.claim(fence: fence, limit: 1).first else {
                        try await Task.sleep(for: .milliseconds(50))
                        continue
                    }
                    let id = claim.execution.id
                    for (order, node) in ["a", "b"].enumerated() {
                        try await executions.startStep(fence: fence, execution: id, node: node, order: order, input: ["n": .string(node)])
                        try await executions.completeStep(fence: fence, execution: id, order: order, output: .string("out-\(node)"),
                            inputTokens: 5, outputTokens: 7, cost: 0.01, durationMS: 3)
                    }
                    try await executions.finish(fence: fence, execution: id, status: .completed, output: "out-b")
                    return
                }
            }
            defer { leader.cancel() }
            let finished = try await api.ok(.post, "/api/v1/workflow-executions?wait=true&timeout=20",
                ["workflow_id": "two-step", "input_data": ["topic": "x"]])
            try await leader.value
            #expect(finished["status"] == "completed" && finished["output_data"] == "out-b")
            #expect(finished["total_input_tokens"] == 10 && finished["total_output_tokens"] == 14)
            #expect(finished["total_cost"]?.doubleValue.map { abs($0 - 0.02) < 1e-9 } == true)
            let steps = finished["steps"]?.arrayValue ?? []
            #expect(steps.compactMap { $0["node_name"]?.stringValue } == ["a", "b"])
            let step = try #require(steps.first)
            #expect(Set((step.objectValue ?? [:]).keys) == [
                "node_name", "step_order", "status", "input_data", "output_data", "input_tokens", "output_tokens", "cost",
                "duration_ms", "error", "started_at", "completed_at",
            ])
            #expect(step["status"] == "completed" && step["input_data"] == ["n": "a"] && step["duration_ms"] == 3)

            // Nobody runs this one: the wait ends at the timeout with the execution as it is.
            leader.cancel()
            let started = ContinuousClock.now
            let pending = try await api.ok(.post, "/api/v1/workflow-executions?wait=true&timeout=0.4",
                ["workflow_id": "two-step", "input_data": ["topic": "y"]])
            #expect(pending["status"] == "pending" && pending["steps"] == [])
            #expect(ContinuousClock.now - started >= .milliseconds(400))
        }
    }

    @Test("an admin key's execution records the key and its team")
    func callerKey() async throws {
        try await AdminFixture.withAPI { api, client in
            let teams = TeamStore(client: client, logger: TestEnvironment.logger)
            try await teams.create(TeamRecord(teamID: "team-wf", alias: "Workflows"))
            let keys = KeyStore(client: client, logger: TestEnvironment.logger)
            let (_, record) = try await keys.create(alias: "ops", role: .admin, settings: KeySettings(teamID: "team-wf"))
            _ = try await api.ok(.post, "/api/v1/workflows", B.workflow())
            let reply = try await api.call(.post, "/api/v1/workflow-executions", ["workflow_id": "two-step", "input_data": ["topic": "x"]],
                as: AdminFixture.token(subject: record.keyID))
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.json["key_id"] == .string(record.keyID) && reply.json["team_id"] == "team-wf")
            #expect(reply.json["created_by"] == .string(record.keyID))
        }
    }
}
