import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `GET /api/v1/cluster`: the nodes heard from lately (id, addresses, version, last heartbeat,
/// role) and who leads. Every node answers the same from PostgreSQL.
struct ClusterRoutes {
    let services: AdminServices
    /// Nodes silent for longer are not listed.
    static let window: Duration = .seconds(30)

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/cluster") { _, _ in
            let client = services.dependencies.postgres
            let nodes = try await ClusterNodeStore(client: client, logger: services.logger).nodes(heardWithin: Self.window)
            let leader = try await LeaderLease(client: client, logger: services.logger).holder()
            let listed: [JSONValue] = nodes.map { node in
                [
                    "node_id": .string(node.nodeID), "address": .string(node.address),
                    "admin_address": .optional(node.adminAddress), "version": .string(node.version),
                    "started_at": .optional(node.startedAt), "last_heartbeat": .optional(node.lastHeartbeat),
                    "role": .string(node.nodeID == leader?.nodeID ? "leader" : "follower"),
                ]
            }
            let leaderJSON: JSONValue = leader.map { holder in
                ["node_id": .string(holder.nodeID), "fencing_token": .int(holder.token),
                 "lease_expires_at": .optional(holder.expiresAt)]
            } ?? .null
            return AdminResponse.json([
                "this_node": .optional(services.dependencies.nodeID), "leader": leaderJSON, "nodes": .array(listed),
            ])
        }
    }
}
