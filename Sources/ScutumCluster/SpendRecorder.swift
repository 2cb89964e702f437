import Foundation
import Logging
import ScutumCore
import ScutumRedis
import ServiceLifecycle
import Synchronization

/// Takes each finished request's spend record off the hot path: `record` only appends to memory
/// and wakes the sender, which sends whatever is pending to Redis in one pipeline (budget counters
/// and the durable stream), so budgets see a cost right after its request ends and a burst costs
/// one round trip. While Redis is unreachable records stay pending (up to `capacity`) and are
/// retried every `interval`.
public final class SpendRecorder: Service, Sendable {
    struct Pending {
        var record: SpendRecord
        var budgets: [BudgetRecord]
    }

    private let ledger: SpendLedger
    private let pending = Mutex<[Pending]>([])
    private let capacity: Int
    private let logger: Logger
    private let loop: FlushLoop

    public init(ledger: SpendLedger, interval: Duration = .milliseconds(250), capacity: Int = 200_000, logger: Logger) {
        self.ledger = ledger
        self.capacity = capacity
        self.logger = logger
        loop = FlushLoop(interval: interval)
    }

    /// Queues a record; `budgets` are the budgets its cost counts against.
    public func record(_ record: SpendRecord, budgets: [BudgetRecord]) {
        let dropped = pending.withLock { pending -> Bool in
            guard pending.count < capacity else { return true }
            pending.append(Pending(record: record, budgets: budgets))
            return false
        }
        if dropped {
            logger.error("spend buffer full; a record was dropped", metadata: ["request_id": "\(record.requestID)"])
        }
        loop.poke()
    }

    public var pendingCount: Int { pending.withLock { $0.count } }

    public func run() async throws {
        await loop.run { await self.flush() }
    }

    /// Sends everything pending now; keeps it for the next try if Redis fails.
    public func flush() async {
        let batch = pending.withLock { pending -> [Pending] in
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            return batch
        }
        guard !batch.isEmpty else { return }
        let commands = batch.flatMap { ledger.commands(for: $0.record, budgets: $0.budgets) }
        do {
            let replies = try await ledger.redis.pipeline(commands)
            if let failure = replies.first(where: { if case .error = $0 { true } else { false } }) {
                logger.warning("a spend command failed", metadata: ["reply": "\(failure)"])
            }
        } catch {
            logger.warning("spend not yet in Redis; will retry", metadata: ["error": "\(error)", "records": "\(batch.count)"])
            pending.withLock { pending in pending.insert(contentsOf: batch, at: 0) }
        }
    }
}
