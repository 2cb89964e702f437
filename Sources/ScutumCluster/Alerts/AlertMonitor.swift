import Foundation
import Logging
import ScutumCore
import ScutumRedis
import ScutumStore
import Synchronization

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
    let breakers: @Sendable () -> [String: BreakerBoard.Status]
    /// The breakers' openings at the last look, to tell an episode that began and ended between two.
    let openingsSeen = OpeningsSeen()

    /// Openings by deployment at the last look (the monitor is a value; this is its one piece of memory).
    final class OpeningsSeen: Sendable {
        /// Nil before the first look of this monitor: openings before it are history.
        let state = Mutex<[String: UInt64]?>(nil)
    }
    let timing: Timing
    let logger: Logger

    public init(store: AlertStore, budgets: BudgetStore, ledger: SpendLedger, keys: KeyStore, nodes: ClusterNodeStore,
        registry: NodeRegistry, breakers: @escaping @Sendable () -> [String: BreakerBoard.Status], timing: Timing,
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
    /// carries on where the last one stopped. A breaker that opened and closed again between two looks
    /// (the board counts openings) gets both alerts, in order.
    func breakerEvents() async throws -> [AlertEvent] {
        let statuses = breakers()
        // Taken as seen once the alerts are read (a failed read leaves them to the next look).
        let seen = openingsSeen.state.withLock { $0 }
        let latest = statuses.isEmpty ? [:] : try await store.latestBySubject(of: [.breakerOpened, .breakerClosed])
        openingsSeen.state.withLock { $0 = statuses.mapValues(\.openings) }
        var events: [AlertEvent] = []
        for (deployment, status) in statuses.sorted(by: { $0.key < $1.key }) {
            let last = latest[deployment]
            let isOpen = status.reading != .closed
            // Openings since the last look that the alerts do not show yet.
            let missed = seen.map { status.openings > $0[deployment] ?? 0 } ?? false
            if isOpen, last?.kind != .breakerOpened {
                events.append(AlertConditions.breaker(deployment, opened: true, episode: last?.id ?? 0))
            } else if !isOpen, let last, last.kind == .breakerOpened {
                events.append(AlertConditions.breaker(deployment, opened: false, episode: last.id))
            } else if !isOpen, missed {
                await recordEpisode(deployment, after: last?.id ?? 0)
            }
        }
        return events
    }

    /// Records an opening and its closing, the closing following the opening's id.
    private func recordEpisode(_ deployment: String, after episode: Int64) async {
        do {
            guard let opened = try await store.record(AlertConditions.breaker(deployment, opened: true, episode: episode))
            else { return }
            _ = try await store.record(AlertConditions.breaker(deployment, opened: false, episode: opened))
            logger.notice("alert", metadata: ["kind": "breaker_opened and breaker_closed", "subject": "\(deployment)"])
        } catch {
            logger.warning("alert not recorded", metadata: ["subject": "\(deployment)", "error": "\(String(reflecting: error))"])
        }
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
