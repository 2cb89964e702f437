/// What an alert is about. The raw value is the kind's name in the `alerts` table, the Admin API,
/// the `alert_kinds` setting and the webhook's `kind` field.
public enum AlertKind: String, Sendable, Hashable, CaseIterable {
    /// A budget's current-period spend reached its soft budget (a warning; requests still pass).
    case budgetSoftCrossed = "budget_soft_crossed"
    /// A budget's current-period spend reached its hard budget (requests are refused).
    case budgetHardReached = "budget_hard_reached"
    /// An API key expires within seven days.
    case keyExpiring = "key_expiring"
    /// A deployment's circuit breaker opened (it is skipped by routing).
    case breakerOpened = "breaker_opened"
    /// A deployment's circuit breaker closed again.
    case breakerClosed = "breaker_closed"
    /// A node cannot reach Redis (it runs on per-node limits).
    case redisUnreachable = "redis_unreachable"
    /// A node cannot reach PostgreSQL (it serves cached keys only).
    case postgresUnreachable = "postgres_unreachable"
    /// Another node (or this one, after a gap) became the cluster leader.
    case leaderChanged = "leader_changed"

    /// The kind's name in a sentence ("soft budget crossed").
    public var title: String {
        switch self {
        case .budgetSoftCrossed: "Soft budget crossed"
        case .budgetHardReached: "Hard budget reached"
        case .keyExpiring: "API key expiring"
        case .breakerOpened: "Circuit breaker opened"
        case .breakerClosed: "Circuit breaker closed"
        case .redisUnreachable: "Redis unreachable"
        case .postgresUnreachable: "PostgreSQL unreachable"
        case .leaderChanged: "Leader changed"
        }
    }
}
