import ScutumCore
import Testing

@testable import ScutumAdmin

@Suite("Admin API: workflow conditions use the linear-time regex engine")
struct WorkflowConditionRoutesTests {
    typealias B = WorkflowBodies

    @Test("a matches pattern the engine does not support is refused when the workflow is saved, saying why")
    func unsupportedPatternRefused() async throws {
        try await AdminFixture.withAPI { api, _ in
            func graph(_ pattern: String) -> JSONValue {
                B.graph(nodes: [B.llm("a"), B.llm("b")], edges: [["source": "a", "target": "b",
                    "condition": ["path": "steps.a.output", "matches": .string(pattern)]]])
            }
            let reply = try await api.call(.post, "/api/v1/workflows", ["name": "w", "graph_definition": graph("(a+)+$")])
            expectValidationError(reply, at: "body.graph_definition.edges.0.condition.matches")
            let message = reply.json["detail"]?.arrayValue?.first?["msg"]?.stringValue ?? ""
            #expect(message.contains("Nested quantifiers") && message.contains("linear-time"), "\(message)")
            _ = try await api.ok(.post, "/api/v1/workflows", ["name": "w", "graph_definition": graph("^\\s*(?i)revise")])
        }
    }
}
