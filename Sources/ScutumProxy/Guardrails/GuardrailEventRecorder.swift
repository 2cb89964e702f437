import Foundation
import Logging
import ScutumCluster
import ScutumStore
import ServiceLifecycle
import Synchronization

/// Takes guardrail events off the request path: `record` appends to memory and wakes the writer,
/// which inserts whatever is pending in one transaction. While PostgreSQL is unreachable events stay
/// pending (up to `capacity`, then the oldest are dropped with an error in the log) and are retried.
public final class GuardrailEventRecorder: Service, Sendable {
    private let store: GuardrailEventStore
    private let pending = Mutex<[GuardrailEvent]>([])
    private let capacity: Int
    private let logger: Logger
    private let loop: FlushLoop

    public init(store: GuardrailEventStore, capacity: Int = 50_000, interval: Duration = .seconds(1), logger: Logger) {
        self.store = store
        self.capacity = capacity
        self.logger = logger
        loop = FlushLoop(interval: interval)
    }

    /// Queues events for writing.
    public func record(_ events: [GuardrailEvent]) {
        guard !events.isEmpty else { return }
        let dropped = pending.withLock { pending -> Int in
            pending.append(contentsOf: events)
            let excess = max(0, pending.count - capacity)
            if excess > 0 { pending.removeFirst(excess) }
            return excess
        }
        if dropped > 0 { logger.error("guardrail event buffer full; events dropped", metadata: ["dropped": "\(dropped)"]) }
        loop.poke()
    }

    public var pendingCount: Int { pending.withLock { $0.count } }

    public func run() async throws {
        await loop.run { await self.flush() }
    }

    /// Writes everything pending now; keeps it for the next try if PostgreSQL fails.
    public func flush() async {
        let batch = pending.withLock { pending -> [GuardrailEvent] in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.record(batch)
        } catch {
            logger.warning("guardrail events not yet written; will retry",
                metadata: ["events": "\(batch.count)", "error": "\(String(reflecting: error))"])
            pending.withLock { pending in
                pending.insert(contentsOf: batch, at: 0)
                if pending.count > capacity { pending.removeLast(pending.count - capacity) }
            }
        }
    }
}
