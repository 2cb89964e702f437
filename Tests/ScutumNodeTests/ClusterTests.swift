import Foundation
import ScutumTestSupport
import Testing

@Suite("Leader election across nodes")
struct ClusterTests {
    static func cluster(_ gateway: Gateway, token: String) async throws -> [String: Any] {
        let result = try await Gateway.send(.GET, gateway.adminURL + "/api/v1/cluster", key: token, body: nil)
        #expect(result.status == 200, "\(result.body)")
        return try result.json
    }

    @Test("three nodes: exactly one leader, every node reports the same; a leader that stops hands over")
    func oneLeader() async throws {
        try await Gateway.cluster(nodes: 3) { nodes in
            let token = try await AdminClusterTests.login(nodes[0])
            let listed = try await eventually(timeout: .seconds(20)) { () async throws -> [[String: Any]]? in
                let nodesListed = try await Self.cluster(nodes[0], token: token)["nodes"] as? [[String: Any]] ?? []
                let leaders = nodesListed.filter { $0["role"] as? String == "leader" }
                return nodesListed.count == 3 && leaders.count == 1 ? nodesListed : nil
            }
            let entries = try #require(listed)
            let leaderID = try #require(entries.first { $0["role"] as? String == "leader" }?["node_id"] as? String)
            for entry in entries {
                #expect((entry["version"] as? String)?.isEmpty == false)
                #expect((entry["address"] as? String)?.contains("127.0.0.1:") == true)
                #expect(entry["last_heartbeat"] as? String != nil)
            }
            // Every node agrees, and exactly one holds a fence.
            for node in nodes {
                let view = try await Self.cluster(node, token: token)
                #expect((view["leader"] as? [String: Any])?["node_id"] as? String == leaderID)
            }
            #expect(nodes.filter { $0.node.election.fence != nil }.count == 1)
            let leader = try #require(nodes.first { $0.node.election.nodeID == leaderID })
            #expect(MetricsTests.sample(try await leader.request("/metrics", method: .GET, key: nil).body,
                "scutum_cluster_leader_state") == 1)

            // The leader shuts down: it releases the lease and another node takes over at once.
            let started = ContinuousClock.now
            await leader.group.triggerGracefulShutdown()
            let others = nodes.filter { $0.node.election.nodeID != leaderID }
            let successor = try await eventually(timeout: .seconds(10)) { () -> String? in
                others.first { $0.node.election.fence != nil }?.node.election.nodeID
            }
            #expect(successor != nil)
            #expect(ContinuousClock.now - started < .seconds(8))
            let view = try await Self.cluster(others[0], token: token)
            #expect((view["leader"] as? [String: Any])?["node_id"] as? String == successor)
            #expect(others.filter { $0.node.election.fence != nil }.count == 1)
        }
    }
}
