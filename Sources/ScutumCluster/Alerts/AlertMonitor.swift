import Foundation
import Logging
import ScutumCore
import ScutumRedis
import ScutumStore

/// The leader's alert detection: every `interval` it reads budgets against live spend, keys
/// expiring within `keyWindow`, every breaker on this node's board, and the nodes' heartbeats, and
/// records what it finds (`AlertConditions`); at the start of a term, the leader change. A condition
/// seen again is not recorded again (dedup keys). Nothing here is on the request path.
public struct AlertMonitor: Sendable {
    /// How often and how patiently the monitor looks.
    public struct Timing: Sendable {
        public var interval: Duration
        /// How long a node must be cut off from Redis or PostgreSQL before it is an alert.
        public var unreachableAfter: Duration
        /// Keys expiring within this are announced.
        public var keyWindow: Duration

        public init(interval: Duration = .seconds(5), unreachableAfter: Duration = .seconds(10),
            keyWindow: Duration = .seconds(7 * 86_400))
        {
            self.interval = interval
            self.unreachableAfter = unreachableAfter
            self.keyWindow = keyWindow
        }
    }

    let store: AlertStore
    let budgets: BudgetStore
    let ledger: SpendLedger
    let keys: KeyStore
    let nodes: ClusterNodeStore
    let registry: NodeRegistry
    /// Every deployment's breaker as this node's board holds it.
    let breakers: @Sendable () -> [String: BreakerBoard.Reading]
    let timing: Timing
    let logger: Logger

    public init(store: AlertStore, budgets: BudgetStore, ledger: SpendLedger, keys: KeyStore, nodes: ClusterNodeStore,
        registry: NodeRegistry, breakers: @escaping @Sendable () -> [String: BreakerBoard.Reading], timing: Timing,
        logger: Logger)
    {
        self.store = store
        self.budgets = budgets
        self.ledger = ledger
        self.keys = keys
        self.nodes = nodes
        self.registry = registry
        self.breakers = breakers
        self.timing = timing
        self.logger = logger
    }

    /// Records the leader change, then looks every `interval` until cancelled (leadership lost,
    /// shutdown): the only waits are the sleep and the queries, both cancellable.
    public func run(fence: LeaderFence) async {
        await record([AlertConditions.leaderChanged(fence)])
        while !Task.isCancelled {
            await pass()
            do { try await Task.sleep(for: timing.interval) } catch { return }
        }
    }

    /// One look at everything; each source that cannot be read now is skipped (and logged) alone.
    public func pass() async {
        let now = Date()
        await record(from: "budgets") {
            let all = try await budgets.list().filter { $0.softBudget != nil || $0.maxBudget != nil }
            return AlertConditions.budgets(all, spend: try await ledger.current(all, at: now), at: now)
        }
        await record(from: "keys") {
            AlertConditions.expiringKeys(try await keys.expiring(within: timing.keyWindow))
        }
        await record(from: "breakers") { try await breakerEvents() }
        await record(from: "nodes") {
            let heartbeats = try await nodes.nodes(heardWithin: .seconds(3600))
            // Without Redis, PostgreSQL outages of other nodes cannot be told apart from deaths.
            let beats = (try? await registry.members()) ?? [:]
            return AlertConditions.unreachable(nodes: heartbeats, redisBeats: beats, after: timing.unreachableAfter,
                at: Date())
        }
    }

    /// A breaker that is open (or half-open) with no `breaker_opened` as its latest alert opened; one
    /// that is closed with `breaker_opened` as its latest closed. Kept in the table, so a new leader
    /// carries on where the last one stopped.
    func breakerEvents() async throws -> [AlertEvent] {
        let readings = breakers()
        guard !readings.isEmpty else { return [] }
        let latest = try await store.latestBySubject(of: [.breakerOpened, .breakerClosed])
        var events: [AlertEvent] = []
        for (deployment, reading) in readings.sorted(by: { $0.key < $1.key }) {
            let last = latest[deployment]
            let isOpen = reading != .closed
            if isOpen, last?.kind != .breakerOpened {
                events.append(AlertConditions.breaker(deployment, opened: true, episode: last?.id ?? 0))
            } else if !isOpen, let last, last.kind == .breakerOpened {
                events.append(AlertConditions.breaker(deployment, opened: false, episode: last.id))
            }
        }
        return events
    }

    private func record(from source: String, _ detect: () async throws -> [AlertEvent]) async {
        do {
            await record(try await detect())
        } catch {
            logger.warning("alert source not read", metadata: ["source": "\(source)", "error": "\(String(reflecting: error))"])
        }
    }

    private func record(_ events: [AlertEvent]) async {
        for event in events {
            do {
                if let id = try await store.record(event) {
                    logger.notice("alert", metadata: ["id": "\(id)", "kind": "\(event.kind.rawValue)",
                        "subject": "\(event.subject)"])
                }
            } catch {
                logger.warning("alert not recorded", metadata: ["kind": "\(event.kind.rawValue)",
                    "error": "\(String(reflecting: error))"])
            }
        }
    }
}
