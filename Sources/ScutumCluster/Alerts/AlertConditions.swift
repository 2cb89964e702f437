import Foundation
import ScutumCore
import ScutumStore

/// Turns what the cluster's state says into alert events, each with the dedup key that makes it
/// recorded once however often the condition is seen. No I/O: `AlertMonitor` gathers the inputs.
public enum AlertConditions {
    /// Soft and hard budgets reached in the current period (`spend[i]` is `budgets[i]`'s, USD).
    public static func budgets(_ budgets: [BudgetRecord], spend: [Double], at date: Date) -> [AlertEvent] {
        var events: [AlertEvent] = []
        for (budget, spent) in zip(budgets, spend) {
            let period = Int64(budget.period(at: date).start.timeIntervalSince1970)
            let details: JSONValue = [
                "budget_id": .string(budget.id.uuidString.lowercased()), "scope": .string(budget.subject.scope),
                "subject_id": .string(budget.subject.id), "spend": .double(spent),
                "soft_budget": budget.softBudget.map(JSONValue.double) ?? .null,
                "max_budget": budget.maxBudget.map(JSONValue.double) ?? .null, "period_start": .int(period),
            ]
            let subject = budget.subject.description
            if let soft = budget.softBudget, spent >= soft {
                events.append(AlertEvent(kind: .budgetSoftCrossed, subject: subject,
                    dedupKey: "budget_soft:\(budget.id):\(period)",
                    message: "The budget of \(subject) crossed its soft budget: $\(money(spent)) of $\(money(soft)) this period.",
                    details: details))
            }
            if let hard = budget.maxBudget, spent >= hard {
                events.append(AlertEvent(kind: .budgetHardReached, subject: subject,
                    dedupKey: "budget_hard:\(budget.id):\(period)",
                    message: "The budget of \(subject) reached its hard budget: $\(money(spent)) of $\(money(hard)); its requests are refused until the period ends.",
                    details: details))
            }
        }
        return events
    }

    /// Keys expiring soon: one alert per key and expiry date.
    public static func expiringKeys(_ keys: [ExpiringKey]) -> [AlertEvent] {
        keys.map { key in
            let name = key.alias.map { "'\($0)' (\(key.display))" } ?? key.display
            let at = Int64(key.expiresAt.timeIntervalSince1970)
            let when = ISO8601DateFormatter().string(from: key.expiresAt)
            return AlertEvent(kind: .keyExpiring, subject: "key \(name)", dedupKey: "key_expiring:\(key.id):\(at)",
                message: "API key \(name) expires at \(when).",
                details: [
                    "key_id": .string(key.id.uuidString.lowercased()), "key_alias": key.alias.map(JSONValue.string) ?? .null,
                    "team_id": key.teamID.map(JSONValue.string) ?? .null, "expires_at": .string(when),
                ])
        }
    }

    /// Nodes cut off from a backend for longer than `after`:
    /// - Redis: the node's PostgreSQL heartbeat says since when its Redis heartbeats fail;
    /// - PostgreSQL: the node still beats in Redis (`redisBeats`, by node) more than `after` past
    ///   its last PostgreSQL heartbeat (a node that died stops beating in both).
    public static func unreachable(nodes: [ClusterNode], redisBeats: [String: Date], after: Duration,
        at date: Date) -> [AlertEvent]
    {
        let threshold = Double(after.components.seconds) + Double(after.components.attoseconds) / 1e18
        var events: [AlertEvent] = []
        for node in nodes {
            if let since = node.redisUnreachableSince, date.timeIntervalSince(since) >= threshold,
                date.timeIntervalSince(node.lastHeartbeat) < threshold
            {
                let start = Int64(since.timeIntervalSince1970 * 1000)
                events.append(AlertEvent(kind: .redisUnreachable, subject: "node \(node.nodeID)",
                    dedupKey: "redis_unreachable:\(node.nodeID):\(start)",
                    message: "Node \(node.nodeID) cannot reach Redis since \(ISO8601DateFormatter().string(from: since)); it enforces per-node limits.",
                    details: ["node_id": .string(node.nodeID), "address": .string(node.address),
                        "since": .string(ISO8601DateFormatter().string(from: since))]))
            }
            if let beat = redisBeats[node.nodeID], beat.timeIntervalSince(node.lastHeartbeat) >= threshold {
                let last = Int64(node.lastHeartbeat.timeIntervalSince1970 * 1000)
                events.append(AlertEvent(kind: .postgresUnreachable, subject: "node \(node.nodeID)",
                    dedupKey: "postgres_unreachable:\(node.nodeID):\(last)",
                    message: "Node \(node.nodeID) cannot reach PostgreSQL: its last heartbeat there was at \(ISO8601DateFormatter().string(from: node.lastHeartbeat)); it serves cached keys only.",
                    details: ["node_id": .string(node.nodeID), "address": .string(node.address),
                        "last_heartbeat": .string(ISO8601DateFormatter().string(from: node.lastHeartbeat))]))
            }
        }
        return events
    }

    /// The leadership term `fence` began.
    public static func leaderChanged(_ fence: LeaderFence) -> AlertEvent {
        AlertEvent(kind: .leaderChanged, subject: "node \(fence.nodeID)", dedupKey: "leader_changed:\(fence.token)",
            message: "Node \(fence.nodeID) is now the cluster leader (term \(fence.token)).",
            details: ["node_id": .string(fence.nodeID), "term": .int(fence.token)])
    }

    /// A breaker change: `opened` or closed, the `episode` being the alert id it follows (0 for none).
    public static func breaker(_ deployment: String, opened: Bool, episode: Int64) -> AlertEvent {
        let kind: AlertKind = opened ? .breakerOpened : .breakerClosed
        return AlertEvent(kind: kind, subject: deployment, dedupKey: "\(kind.rawValue):\(deployment):\(episode)",
            message: opened
                ? "The circuit breaker of deployment \(deployment) opened: it is skipped until it recovers."
                : "The circuit breaker of deployment \(deployment) closed: it serves requests again.",
            details: ["deployment": .string(deployment)])
    }

    static func money(_ amount: Double) -> String {
        String(format: "%.2f", amount)
    }
}
