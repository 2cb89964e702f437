import Foundation
import Logging
import ScutumCore
import ScutumRedis
import ServiceLifecycle
import Synchronization

/// Takes each finished request's spend record off the hot path: `record` only appends to memory
/// (and charges the attached `LiveSpend`, so this node sees the cost at once); a flush sends
/// everything pending to Redis in round trips of at most `recordsPerFlush` records, each a pipeline
/// of a handful of commands: per budget counter one script call charging each record at most once
/// (by request id, `SpendLedger.write`), and one `XADD` per `recordsPerEntry` records to the durable
/// stream (each entry a JSON array of records).
///
/// A record asks for a flush, but flushes are at least `minimumGap` apart: a quiet node sends each
/// cost at once, a busy one aggregates a gap's worth of requests into one flush. While Redis is
/// unreachable records stay pending (up to `capacity`) and are retried every `interval`. A chunk
/// whose reply is lost after Redis applied it (a timeout) is sent again: its counters skip the
/// records they already hold (markers live `SpendLedger.markerTTL`) and the writer stores each
/// record once (by request id).
public final class SpendRecorder: Service, Sendable {
    struct Pending {
        var record: SpendRecord
        /// The budget counters its cost is charged to (none for a free request).
        var counters: [SpendLedger.Counter]
    }

    /// The default largest number of records in one stream entry.
    public static let defaultRecordsPerEntry = 1_000
    /// The default largest number of records in one round trip to Redis.
    public static let defaultRecordsPerFlush = 500

    private let ledger: SpendLedger
    private let liveSpend: LiveSpend?
    private let pending = Mutex<[Pending]>([])
    private let capacity: Int
    private let recordsPerEntry: Int
    private let recordsPerFlush: Int
    private let logger: Logger
    private let loop: FlushLoop

    /// - Parameters:
    ///   - liveSpend: The node's live view of spend, charged with each record and updated with the
    ///     totals each flush returns.
    ///   - interval: How often a flush runs even when nothing asks for one (retries).
    ///   - minimumGap: The least time between two flushes; each flush costs a few commands, so this
    ///     sets the Redis cost of spend under load (`.zero`: flush after every record when idle).
    ///   - recordsPerEntry: The most records one stream entry carries.
    ///   - recordsPerFlush: The most records one round trip to Redis carries (a flush sends more in
    ///     several), so one reply, and one script call per counter, stays small.
    ///   - capacity: The most records kept while Redis is unreachable; more are dropped (and logged).
    public init(ledger: SpendLedger, liveSpend: LiveSpend? = nil, interval: Duration = .milliseconds(250),
        minimumGap: Duration = .milliseconds(250), recordsPerEntry: Int = SpendRecorder.defaultRecordsPerEntry,
        recordsPerFlush: Int = SpendRecorder.defaultRecordsPerFlush, capacity: Int = 200_000, logger: Logger)
    {
        self.ledger = ledger
        self.liveSpend = liveSpend
        self.capacity = capacity
        self.recordsPerEntry = max(1, recordsPerEntry)
        self.recordsPerFlush = max(1, recordsPerFlush)
        self.logger = logger
        loop = FlushLoop(interval: interval, minimumGap: minimumGap)
    }

    /// Queues a record; `budgets` are the budgets its cost counts against.
    public func record(_ record: SpendRecord, budgets: [BudgetRecord]) {
        let counters = record.cost > 0 ? ledger.counters(for: budgets, at: record.at) : []
        let dropped = pending.withLock { pending -> Bool in
            guard pending.count < capacity else { return true }
            pending.append(Pending(record: record, counters: counters))
            return false
        }
        if dropped {
            logger.error("spend buffer full; a record was dropped", metadata: ["request_id": "\(record.requestID)"])
            return
        }
        liveSpend?.add(cost: record.cost, counterKeys: counters.map(\.key))
        loop.poke()
    }

    public var pendingCount: Int { pending.withLock { $0.count } }

    public func run() async throws {
        await loop.run { await self.flush() }
    }

    /// Sends everything pending now, `recordsPerFlush` records per round trip; keeps what Redis
    /// did not take for the next try (sent again, a record is not charged twice).
    public func flush() async {
        let taken = pending.withLock { pending -> [Pending] in
            let taken = pending
            pending.removeAll(keepingCapacity: true)
            return taken
        }
        var start = 0
        while start < taken.count {
            let end = min(start + recordsPerFlush, taken.count)
            guard await send(taken[start..<end]) else {
                pending.withLock { pending in pending.insert(contentsOf: taken[start...], at: 0) }
                return
            }
            start = end
        }
    }

    /// Sends one chunk; false when Redis could not be reached (the caller keeps the chunk).
    private func send(_ chunk: ArraySlice<Pending>) async -> Bool {
        var batch = SpendBatch()
        for item in chunk { batch.add(item.record, counters: item.counters) }
        do {
            let outcome = try await ledger.write(batch, recordsPerEntry: recordsPerEntry)
            liveSpend?.settle(batch, outcome: outcome)
            if let failure = outcome.errors.first {
                logger.warning("a spend command failed", metadata: ["reply": "\(failure)",
                    "failures": "\(outcome.errors.count)", "records_to_retry": "\(outcome.unsent.count)"])
            }
            if !outcome.unsent.isEmpty {
                // Their cost is in the counters already: only the records go again.
                let retry = outcome.unsent.map { Pending(record: $0, counters: []) }
                pending.withLock { pending in pending.insert(contentsOf: retry, at: 0) }
            }
            return true
        } catch {
            logger.warning("spend not yet in Redis; will retry", metadata: ["error": "\(error)", "records": "\(chunk.count)"])
            return false
        }
    }
}
