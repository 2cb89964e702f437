import Foundation
import Logging
import NIOCore
import ScutumCore
import ScutumRedis
import ScutumStore
import ServiceLifecycle
import Synchronization

/// Takes each finished request's spend record off the hot path: `record` only appends to memory
/// (and charges the attached `LiveSpend`, so this node sees the cost at once); a flush sends
/// everything pending to Redis in one pipeline of a handful of commands, however many records:
/// per budget counter one `INCRBYFLOAT` of the summed cost and one `EXPIRE`, and one `XADD` per
/// `recordsPerEntry` records to the durable stream (each entry a packed batch of records,
/// `PackedSpendRecords`).
///
/// A record asks for a flush, but flushes are at least `minimumGap` apart: a quiet node sends each
/// cost at once, a busy one aggregates a gap's worth of requests into one flush, sent in round trips
/// of at most `recordsPerFlush` records. A round trip whose reply is lost after Redis applied it (a
/// timeout) is sent again, as it was, before anything newer: the writer stores its records once (by
/// request id) and each counter takes the batch once (by its number, `SpendScripts.charge`). So
/// flushes run one at a time, and batches reach Redis in the order of their numbers.
///
/// **Redis down.** Records stay pending and flushes are retried every `interval`. Once flushes have
/// failed for `directAfter`, or the buffer holds `capacity` records, pending records are written
/// straight to PostgreSQL (through `SpendLogSink`, keyed by request id, so a record that also
/// reaches the stream is stored once). Their cost cannot reach the budget counters in Redis yet:
/// each such request's charge is kept (at most `heldCapacity` of them) and charged at the next flush
/// Redis takes. On graceful shutdown the last flush goes to Redis, else straight to
/// PostgreSQL. If PostgreSQL is unreachable too, the buffer keeps the newest `capacity` records:
/// older ones are dropped (their cost still charged to the counters later) and counted in
/// `SpendCounts.dropped`.
public final class SpendRecorder: Service, Sendable {
    struct Pending {
        var record: SpendRecord
        /// The budget counters its cost is charged to (none for a free request, or one whose cost
        /// Redis already took).
        var counters: [SpendLedger.Counter]
    }

    struct State {
        /// Oldest first; a ring, so dropping the oldest one at a time costs nothing per record.
        var pending = CircularBuffer<Pending>()
        /// Records already written to PostgreSQL (or dropped) whose cost Redis has not yet taken.
        var held: [Pending] = []
        /// The charges of batches whose reply never came (Redis may have applied them): sent again
        /// as they were, first, so their numbers keep them from counting twice.
        /// Their records went back to `pending` (a record sent twice is stored once).
        var unconfirmed: [SpendBatch] = []
        /// When the current run of failed flushes began; nil while Redis takes them.
        var failingSince: ContinuousClock.Instant?
        /// Whether the last straight write to PostgreSQL failed.
        var postgresFailing = false
        /// Log lines repeated while Redis (or PostgreSQL) stays down pass once per gate period;
        /// the metrics count every occurrence.
        var redisLog = LogGate()
        var directLog = LogGate()
        var dropLog = LogGate()
        var lostLog = LogGate()
        /// Records dropped since the last drop was logged.
        var droppedSinceLog = 0
        /// Records Redis took lately, oldest first: sent again if the stream is lost before the
        /// writers moved them to PostgreSQL (`streamLost`).
        var recent = CircularBuffer<(at: ContinuousClock.Instant, record: SpendRecord)>()
        /// Until when `recent` keeps everything (set when Redis comes back after an outage).
        var keepRecentUntil = ContinuousClock.Instant.now
        /// Redis's spend epoch as last seen (`SpendLedger.epochKey`).
        var epoch: String?

        /// Puts records taken for a write that failed back before those queued meanwhile.
        mutating func requeue(_ items: some Collection<Pending>) {
            pending.insert(contentsOf: items, at: pending.startIndex)
        }
    }

    /// The default largest number of records in one stream entry.
    public static let defaultRecordsPerEntry = 1_000
    /// The default largest number of records in one round trip to Redis.
    public static let defaultRecordsPerFlush = 10_000
    /// The default bound of the buffer (`capacity`).
    public static let defaultCapacity = 100_000
    /// The most records one straight `INSERT` carries.
    static let directBatchSize = 5_000

    private let ledger: SpendLedger
    private let liveSpend: LiveSpend?
    private let sink: SpendLogSink?
    private let state = Mutex(State())
    private let capacity: Int
    private let directAfter: Duration
    private let heldCapacity: Int
    private let recordsPerEntry: Int
    private let recordsPerFlush: Int
    /// How long, and how many, records Redis took are kept to be sent again if the stream is lost.
    private let recentRetention: Duration
    private let recentCapacity: Int
    private let logger: Logger
    private let loop: FlushLoop
    /// One flush at a time (batches must reach Redis in the order of their numbers).
    private let flushing = FlushGate()
    /// This recorder's name in the counters' applied hashes (each recorder numbers its own batches).
    private let writer = UUID().wire
    /// Drops, straight writes and dead letters, for `/metrics`.
    public let counts: SpendCounts

    /// - Parameters:
    ///   - liveSpend: The node's live view of spend, charged with each record and updated with the
    ///     totals each flush returns.
    ///   - store: Where records go straight while Redis is unreachable; nil keeps them in memory only.
    ///   - interval: How often a flush runs even when nothing asks for one (retries).
    ///   - minimumGap: The least time between two flushes; each flush costs a few commands, so this
    ///     sets the Redis cost of spend under load (`.zero`: flush after every record when idle).
    ///   - recordsPerEntry: The most records one stream entry carries.
    ///   - recordsPerFlush: The most records one round trip to Redis carries.
    ///   - capacity: The most records kept in memory; beyond it they go straight to PostgreSQL, and
    ///     while that fails too, the oldest are dropped.
    ///   - directAfter: How long flushes to Redis may fail before records go straight to PostgreSQL.
    ///   - heldCapacity: The most requests whose cost is kept for Redis meanwhile; cost beyond it is
    ///     logged and lost to the live counters (not to the spend log, from which a lost counter is rebuilt).
    ///   - counts: Where drops, straight writes and dead letters are counted.
    ///   - recentRetention, recentCapacity: How long (and how many) records Redis took are kept to be
    ///     sent again if the stream is lost before the writers moved them to PostgreSQL.
    public init(ledger: SpendLedger, liveSpend: LiveSpend? = nil, store: SpendLogStore? = nil,
        interval: Duration = .milliseconds(250), minimumGap: Duration = .milliseconds(250),
        recordsPerEntry: Int = SpendRecorder.defaultRecordsPerEntry,
        recordsPerFlush: Int = SpendRecorder.defaultRecordsPerFlush, capacity: Int = SpendRecorder.defaultCapacity,
        directAfter: Duration = .seconds(5), heldCapacity: Int = SpendRecorder.defaultCapacity,
        counts: SpendCounts = SpendCounts(), recentRetention: Duration = .seconds(10), recentCapacity: Int = 50_000,
        logger: Logger)
    {
        self.recentRetention = recentRetention
        self.recentCapacity = max(0, recentCapacity)
        self.ledger = ledger
        self.liveSpend = liveSpend
        sink = store.map { SpendLogSink(store: $0, counts: counts, logger: logger) }
        self.capacity = max(1, capacity)
        self.directAfter = directAfter
        self.heldCapacity = max(1, heldCapacity)
        self.recordsPerEntry = max(1, recordsPerEntry)
        self.recordsPerFlush = max(1, recordsPerFlush)
        self.counts = counts
        self.logger = logger
        loop = FlushLoop(interval: interval, minimumGap: minimumGap)
    }

    /// Queues a record; `budgets` are the budgets its cost counts against.
    public func record(_ record: SpendRecord, budgets: [BudgetRecord]) {
        let counters = record.cost > 0 ? ledger.counters(for: budgets, at: record.at) : []
        liveSpend?.add(cost: record.cost, counterKeys: counters.map(\.key))
        let (dropped, lost) = state.withLock { state -> (Int, SpendBatch) in
            state.pending.append(Pending(record: record, counters: counters))
            // Beyond the bound the next flush writes straight to PostgreSQL; only while that fails
            // (or a write is still on its way and the buffer reached twice the bound) is anything lost.
            let limit = sink == nil || state.postgresFailing ? capacity : 2 * capacity
            return dropOldest(in: &state, keeping: limit)
        }
        settleLost(lost)
        if dropped > 0 { reportDropped(dropped) }
        loop.poke()
    }

    /// The stream lost what it held (Redis restarted empty, found by a writer): the records Redis
    /// took within `recentRetention` (at most `recentCapacity`) are queued again, without charging
    /// their cost again (their counters were lost with Redis and are rebuilt from the spend log). The
    /// spend log stores a request id once, so the ones already written are not doubled.
    public func streamLost() {
        let replayed = state.withLock { state -> Int in
            let items = state.recent.map { Pending(record: $0.record, counters: []) }
            state.recent.removeAll(keepingCapacity: true)
            state.requeue(items)
            return items.count
        }
        guard replayed > 0 else { return }
        logger.warning("spend records sent again after the stream was lost", metadata: ["records": "\(replayed)"])
        loop.poke()
    }

    /// Records waiting for Redis (or PostgreSQL).
    public var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Requests whose cost waits for Redis (the records themselves are in PostgreSQL).
    public var heldCount: Int {
        state.withLock { state in
            state.held.count + state.unconfirmed.reduce(0) { $0 + $1.chargedRequestCount }
        }
    }

    /// Flushes until graceful shutdown, then once more: to Redis, else straight to PostgreSQL.
    public func run() async throws {
        await loop.run({ await self.flush() }, last: { await self.flush(final: true) })
        let held = heldCount
        if held > 0 {
            logger.warning("shutting down with budget counter increments Redis did not take",
                metadata: ["requests": "\(held)"])
        }
        if pendingCount > 0 {
            logger.error("shutting down with spend records neither Redis nor PostgreSQL took",
                metadata: ["records": "\(pendingCount)"])
        }
    }

    /// Sends everything pending now; keeps it for the next try if Redis fails (and writes it
    /// straight to PostgreSQL if Redis has been failing for `directAfter`, or the buffer is full).
    public func flush() async {
        await flush(final: false)
    }

    /// `final`: Redis gets one try, then whatever is pending goes straight to PostgreSQL.
    func flush(final: Bool) async {
        await flushing.enter()
        defer { flushing.leave() }
        let (unconfirmed, taken, held) = state.withLock { state -> ([SpendBatch], [Pending], [Pending]) in
            defer {
                state.unconfirmed.removeAll(keepingCapacity: true)
                state.pending.removeAll(keepingCapacity: true)
                state.held.removeAll(keepingCapacity: true)
            }
            return (state.unconfirmed, Array(state.pending), state.held)
        }
        guard !unconfirmed.isEmpty || !taken.isEmpty || !held.isEmpty else {
            // Nothing to send, but records Redis took lately: were they lost with it since?
            if state.withLock({ !$0.recent.isEmpty }), let epoch = try? await ledger.epoch() { notice(epoch: epoch) }
            return
        }
        // Batches whose reply was lost go again first, as they were.
        for (index, batch) in unconfirmed.enumerated() {
            do {
                let outcome = try await ledger.write(batch, recordsPerEntry: recordsPerEntry, writer: writer)
                settle(batch, outcome: outcome)
            } catch {
                state.withLock { state in state.unconfirmed.insert(contentsOf: unconfirmed[index...], at: 0) }
                await failed(error, taken: taken[...], held: held[...], final: final)
                return
            }
        }
        // The held cost first (charged only: its records are in PostgreSQL), then the records.
        var start = 0
        let count = held.count + taken.count
        while start < count {
            let end = min(start + recordsPerFlush, count)
            var batch = SpendBatch()
            for index in start..<end {
                if index < held.count {
                    batch.charge(held[index].record, counters: held[index].counters)
                } else {
                    let item = taken[index - held.count]
                    batch.add(item.record, counters: item.counters)
                }
            }
            do {
                let outcome = try await ledger.write(batch, recordsPerEntry: recordsPerEntry, writer: writer)
                settle(batch, outcome: outcome)
            } catch {
                // Redis may have applied its charges: they go again as they are; its records are
                // pending again, without charges.
                if !batch.increments.isEmpty {
                    state.withLock { state in state.unconfirmed.append(batch.chargeOnly()) }
                }
                let again = batch.records.map { Pending(record: $0, counters: []) }
                let unsentHeld = end < held.count ? held[end...] : []
                let unsentTaken = again + taken[max(0, end - held.count)...]
                await failed(error, taken: unsentTaken[...], held: unsentHeld, final: final)
                return
            }
            start = end
        }
    }

    /// Sends again what Redis took lately when its spend epoch changed (or was made anew) since this
    /// recorder last saw it: Redis lost its data, the stream with it, whichever node noticed first.
    private func notice(epoch: String?) {
        guard let epoch else { return }
        let lost = state.withLock { state -> Bool in
            defer { state.epoch = epoch }
            return state.epoch != nil && state.epoch != epoch
        }
        if lost { streamLost() }
    }

    /// What Redis took: the live view gets the totals, refused records go again.
    private func settle(_ batch: SpendBatch, outcome: SpendLedger.WriteOutcome) {
        liveSpend?.settle(batch, outcome: outcome)
        let now = ContinuousClock.now
        let unsent = Set(outcome.unsent.map(\.requestID))
        state.withLock { state in
            for record in batch.records where !unsent.contains(record.requestID) {
                state.recent.append((now, record))
            }
            // Back after an outage, what Redis took before it is kept `recentRetention` more: a
            // writer finds the stream lost only after Redis is back.
            if state.failingSince != nil { state.keepRecentUntil = now + recentRetention }
            while let first = state.recent.first, state.recent.count > recentCapacity
                || (now - first.at > recentRetention && now >= state.keepRecentUntil)
            {
                state.recent.removeFirst()
            }
            state.failingSince = nil
            // Whatever PostgreSQL did meanwhile, the buffer drains through Redis again.
            state.postgresFailing = false
        }
        notice(epoch: outcome.epoch)
        if let failure = outcome.errors.first {
            logger.warning("a spend command failed", metadata: ["reply": "\(failure)",
                "failures": "\(outcome.errors.count)", "records_to_retry": "\(outcome.unsent.count)"])
        }
        if !outcome.unsent.isEmpty {
            // Their cost is in the counters already: only the records go again.
            let retry = outcome.unsent.map { Pending(record: $0, counters: []) }
            state.withLock { state in state.requeue(retry) }
        }
    }

    /// Redis could not be reached: the records wait (or go straight to PostgreSQL), the held cost too.
    private func failed(_ error: any Error, taken: ArraySlice<Pending>, held: ArraySlice<Pending>, final: Bool) async {
        let now = ContinuousClock.now
        let (direct, lost, logged) = state.withLock { state -> (Bool, SpendBatch, Bool) in
            state.requeue(taken)
            var lost = SpendBatch()
            for item in held { hold(item, in: &state, lost: &lost) }
            let since = state.failingSince ?? now
            state.failingSince = since
            let direct = final || now - since >= directAfter || state.pending.count >= capacity
            return (direct, lost, state.redisLog.opens(at: now))
        }
        settleLost(lost)
        if logged {
            logger.warning("spend not yet in Redis; will retry", metadata: ["error": "\(error)",
                "records": "\(taken.count)", "straight_to_postgres": "\(direct && sink != nil)"])
        }
        if direct { await writeDirectly(final: final) }
    }

    /// Writes every pending record straight to PostgreSQL and keeps their cost for Redis; what
    /// PostgreSQL does not take stays pending, the oldest dropped beyond `capacity`.
    private func writeDirectly(final: Bool) async {
        guard let sink else {
            let (dropped, lost) = state.withLock { state in dropOldest(in: &state) }
            settleLost(lost)
            if dropped > 0 { reportDropped(dropped) }
            return
        }
        var unwritten = state.withLock { state -> ArraySlice<Pending> in
            defer { state.pending.removeAll(keepingCapacity: true) }
            return ArraySlice(state.pending)
        }
        var written = 0
        do {

            while !unwritten.isEmpty {
                let chunk = unwritten.prefix(Self.directBatchSize)
                try await sink.write(chunk.map(\.record))
                written += chunk.count
                let lost = state.withLock { state -> SpendBatch in
                    state.postgresFailing = false
                    var lost = SpendBatch()
                    for item in chunk { hold(item, in: &state, lost: &lost) }
                    return lost
                }
                settleLost(lost)
                unwritten.removeFirst(chunk.count)
            }
        } catch {
            let (dropped, lost) = state.withLock { state -> (Int, SpendBatch) in
                state.postgresFailing = true
                state.requeue(unwritten)
                return dropOldest(in: &state)
            }
            settleLost(lost)
            if state.withLock({ $0.directLog.opens() }) {
                logger.error("spend reaches neither Redis nor PostgreSQL; kept in memory", metadata: [
                    "error": "\(SpendDeadLetterStore.describe(error))", "records": "\(unwritten.count)",
                    "capacity": "\(capacity)",
                ])
            }
            if dropped > 0 { reportDropped(dropped) }
        }
        if written > 0 {
            counts.wroteDirectly(written)
            if final || state.withLock({ $0.directLog.opens() }) {
                logger.warning("spend written straight to PostgreSQL while Redis is unreachable",
                    metadata: ["records": "\(written)"])
            }
        }
    }

    /// Drops the oldest records beyond `limit` (`capacity` unless given), keeping their cost for
    /// the counters.
    private func dropOldest(in state: inout State, keeping limit: Int? = nil) -> (dropped: Int, lost: SpendBatch) {
        let excess = state.pending.count - (limit ?? capacity)
        guard excess > 0 else { return (0, SpendBatch.empty) }
        var lost = SpendBatch()
        for item in state.pending.prefix(excess) { hold(item, in: &state, lost: &lost) }
        state.pending.removeFirst(excess)
        return (excess, lost)
    }

    /// Keeps a record's cost for its counters until Redis takes it.
    private func hold(_ item: Pending, in state: inout State, lost: inout SpendBatch) {
        guard item.record.cost > 0, !item.counters.isEmpty else { return }
        if state.held.count < heldCapacity {
            state.held.append(item)
        } else {
            lost.charge(item.record, counters: item.counters)
        }
    }

    /// Cost that will never reach Redis leaves the live view's unflushed amounts.
    private func settleLost(_ lost: SpendBatch) {
        guard !lost.increments.isEmpty else { return }
        liveSpend?.settle(lost, outcome: SpendLedger.WriteOutcome())
        guard state.withLock({ $0.lostLog.opens() }) else { return }
        logger.error("budget counter increments lost: too many requests' cost waiting for Redis",
            metadata: ["counters": "\(lost.increments.count)", "limit": "\(heldCapacity)"])
    }

    private func reportDropped(_ count: Int) {
        counts.dropped(count)
        let since = state.withLock { state -> Int? in
            state.droppedSinceLog += count
            guard state.dropLog.opens() else { return nil }
            defer { state.droppedSinceLog = 0 }
            return state.droppedSinceLog
        }
        guard let since else { return }
        logger.error("spend buffer full while Redis and PostgreSQL are unreachable; oldest records dropped",
            metadata: ["dropped": "\(since)", "capacity": "\(capacity)"])
    }
}
