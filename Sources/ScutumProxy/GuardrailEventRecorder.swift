import Foundation
import Logging
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
    private let interval: Duration
    private let logger: Logger
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(store: GuardrailEventStore, capacity: Int = 50_000, interval: Duration = .seconds(1), logger: Logger) {
        self.store = store
        self.capacity = capacity
        self.interval = interval
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
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
        wake.yield()
    }

    public var pendingCount: Int { pending.withLock { $0.count } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in self.wakeups { await self.flush() }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.interval)
                        self.wake.yield()
                    }
                }
            }
        }
        await flush()
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
