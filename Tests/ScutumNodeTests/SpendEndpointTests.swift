import Foundation
import PostgresNIO
import ScutumCore
import ScutumTestSupport
import Testing

/// Every spend row names the front door its request came in by, and `/metrics` counts requests per
/// front door.
@Suite("Spend rows and metrics name the front door")
struct SpendEndpointTests {
    /// The stored `endpoint` of each request id ("NULL" for none), once all of them have a row.
    static func endpoints(_ gateway: Gateway, _ ids: [String]) async throws -> [String: String] {
        await gateway.node.spend.flush()
        let found = try await eventually(timeout: .seconds(20)) { () async throws -> [String: String]? in
            let rows = try await gateway.node.postgres.query(
                "SELECT request_id, coalesce(endpoint, 'NULL') FROM spend_logs WHERE request_id = ANY(\(ids))",
                logger: TestEnvironment.logger)
            var found: [String: String] = [:]
            for try await (id, endpoint) in rows.decode((String, String).self) { found[id] = endpoint }
            return found.count == Set(ids).count ? found : nil
        }
        return try #require(found, "no spend row for some of \(ids)")
    }

    static func requestID(_ result: HTTPResult) throws -> String {
        #expect(result.status == 200, "\(result.body)")
        return try #require(result.header("x-request-id"))
    }

    @Test("chat (router and direct lane), embeddings and messages: each row has its path; /metrics counts each door by status")
    func frontDoors() async throws {
        try await Gateway.with { gateway in
            let (key, _) = try await gateway.keys.create(alias: "front-doors")
            // A key's first request waits for its look-up, which the direct lane never does: the router serves it.
            let laneBefore = try await DirectLaneTests.laneCount(gateway, "served")
            let routed = try Self.requestID(try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat("through the router")))
            #expect(try await DirectLaneTests.laneCount(gateway, "served") == laneBefore)
            let embedded = try Self.requestID(try await gateway.request("/v1/embeddings", key: key,
                body: #"{"model":"azure-text-embedding-3-large","input":"a fox"}"#))
            let message = try Self.requestID(try await gateway.request("/v1/messages", key: key,
                body: MessagesTests.body("Say hello"), headers: [("anthropic-version", "2023-06-01")]))
            let streamedMessage = try Self.requestID(try await gateway.request("/v1/messages", key: key,
                body: MessagesTests.body("Say hello", stream: true)))

            try await DirectLaneTests.warmUp(gateway)
            var laneIDs: [String] = []
            try await DirectLaneTests.untilLane(gateway, "served", body: Gateway.chat("through the lane")) { result in
                laneIDs.append(try Self.requestID(result))
            }

            let stored = try await Self.endpoints(gateway, [routed, embedded, message, streamedMessage] + laneIDs)
            #expect(stored[routed] == "/v1/chat/completions")
            #expect(stored[embedded] == "/v1/embeddings")
            #expect(stored[message] == "/v1/messages" && stored[streamedMessage] == "/v1/messages")
            #expect(laneIDs.allSatisfy { stored[$0] == "/v1/chat/completions" }, "\(stored)")

            // A refusal on the way (an unknown model) is counted under its door and status too.
            let unknown = try await gateway.request("/v1/messages", body: MessagesTests.body(model: "no-such-model", "hi"))
            #expect(unknown.status == 404)
            let metrics = try await gateway.request("/metrics", method: .GET, key: nil).body
            func count(_ endpoint: String, _ status: Int) -> Double? {
                MetricsTests.sample(metrics, #"scutum_endpoint_requests_total{endpoint="\#(endpoint)",status="\#(status)"}"#)
            }
            #expect((count("/v1/chat/completions", 200) ?? 0) >= Double(1 + laneIDs.count))
            #expect(count("/v1/embeddings", 200) == 1)
            #expect(count("/v1/messages", 200) == 2)
            #expect(count("/v1/messages", 404) == 1)
            #expect(count("/v1/responses", 200) == nil, "a door without requests has no series")
            // The per-model series are unchanged by it.
            #expect(MetricsTests.sample(metrics, #"scutum_requests_total{model="unknown",status="404"}"#) == 1)
        }
    }

    @Test("a workflow's llm steps are booked as `workflow`")
    func workflowSteps() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            let created = try await Gateway.send(.POST, gateway.adminURL + "/api/v1/workflows", key: token,
                body: WorkflowExecutionTests.chain(2))
            let workflowID = try #require(try created.json["id"] as? String)
            let done = try await Gateway.send(.POST, gateway.adminURL + "/api/v1/workflow-executions?wait=true&timeout=90",
                key: token, body: #"{"workflow_id":"\#(workflowID)","input_data":{"topic":"endpoints"}}"#,
                timeout: .seconds(100))
            #expect(try done.json["status"] as? String == "completed", "\(done.body)")
            // The leader (the only node) runs the steps and books them like any request.
            await gateway.node.spend.flush()
            let rows = try await eventually(timeout: .seconds(20)) { () async throws -> [String]? in
                let rows = try await gateway.node.postgres.query(
                    "SELECT coalesce(endpoint, 'NULL') FROM spend_logs WHERE status = 200",
                    logger: TestEnvironment.logger)
                var found: [String] = []
                for try await endpoint in rows.decode(String.self) { found.append(endpoint) }
                return found.count >= 2 ? found : nil
            }
            #expect(rows == ["workflow", "workflow"])
        }
    }
}
