import Foundation
import Logging
import ScutumCore
import ScutumRedis
import ScutumStore
import ServiceLifecycle

/// Moves spend records from the Redis stream into PostgreSQL in batches, on every node: each batch
/// is up to `batchSize` stream entries (each a batch of records a recorder flushed, or one record
/// from an older node), written with one `INSERT` statement.
///
/// A batch is acknowledged only after PostgreSQL committed it, and rows are keyed by request id,
/// so a crash or an outage between the two replays the batch without duplicating it. Records a
/// dead node had claimed are taken over once they have been idle for `staleAfter`. If the stream
/// or its group disappears (Redis restarted empty, the key deleted), the group is created again.
/// A record PostgreSQL refuses for its data moves to `spend_dead_letters` (see `SpendLogSink`).
///
/// Older nodes' JSON entries (`SpendLedger.legacyStream`) are written too: looked for every
/// `legacyInterval` while none are found, at every turn while some are.
public struct SpendLogWriter: Service {
    let ledger: SpendLedger
    let sink: SpendLogSink
    let consumer: String
    let batchSize: Int
    let interval: Duration
    let staleAfter: Duration
    let legacyInterval: Duration
    /// Called when the stream's group turned out to be gone (Redis restarted empty): what it held
    /// unwritten is lost, so recorders send what they streamed recently again.
    let onStreamLost: @Sendable () -> Void
    let logger: Logger

    /// - Parameter batchSize: The most stream entries per batch (each up to
    ///   `SpendRecorder.defaultRecordsPerEntry` records).
    /// - Parameter legacyInterval: How often older nodes' stream is looked at while it holds nothing.
    /// - Parameter counts: Where dead letters are counted (shared with the node's recorder).
    /// - Parameter onStreamLost: Called when the group is found gone after it existed (e.g.
    ///   `SpendRecorder.streamLost`).
    public init(ledger: SpendLedger, store: SpendLogStore, consumer: String, batchSize: Int = 16,
        interval: Duration = .milliseconds(250), staleAfter: Duration = .seconds(30),
        legacyInterval: Duration = .seconds(5), counts: SpendCounts = SpendCounts(),
        onStreamLost: @escaping @Sendable () -> Void = {}, logger: Logger)
    {
        self.onStreamLost = onStreamLost
        self.ledger = ledger
        sink = SpendLogSink(store: store, counts: counts, logger: logger)
        self.consumer = consumer
        self.batchSize = batchSize
        self.interval = interval
        self.staleAfter = staleAfter
        self.legacyInterval = legacyInterval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var groupReady = false
            var warnings = LogGate()
            var legacyDue = ContinuousClock.now
            while !Task.isCancelled {
                do {
                    if !groupReady {
                        try await ledger.ensureGroup()
                        groupReady = true
                    }
                    let written = try await writeEntries(withLegacy: ContinuousClock.now >= legacyDue)
                    if written.legacy == 0 { legacyDue = .now + legacyInterval }
                    if written.entries == batchSize { continue }
                } catch {
                    if case RedisClientError.server(let message) = error, message.hasPrefix("NOGROUP") {
                        if groupReady {
                            logger.warning("the spend stream was lost (Redis restarted empty?): recent records are sent again")
                            onStreamLost()
                        }
                        groupReady = false
                    }
                    if warnings.opens() {
                        logger.warning("spend logs waiting to be written", metadata: ["error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Writes one batch (older nodes' entries filling what the stream leaves); returns how many
    /// records it wrote.
    @discardableResult
    public func writeBatch() async throws -> Int {
        try await writeEntries(withLegacy: true).records
    }

    /// Writes up to `batchSize` entries, those of `SpendLedger.stream` first, then (`withLegacy`)
    /// older nodes' ones; returns how many entries it wrote, how many of them older nodes' (nil
    /// when it did not look there) and how many records.
    private func writeEntries(withLegacy: Bool) async throws -> (entries: Int, legacy: Int?, records: Int) {
        let current = try await ledger.claim(consumer: consumer, count: batchSize, staleAfter: staleAfter)
        let looked = withLegacy && current.count < batchSize
        let legacy = looked ? await claimLegacy(batchSize - current.count) : []
        let entries = current + legacy
        guard !entries.isEmpty else { return (0, looked ? 0 : nil, 0) }
        let records = entries.flatMap(\.records)
        let unreadable = entries.reduce(0) { $0 + $1.unreadable }
        if unreadable > 0 {
            logger.warning("dropping unreadable spend entries", metadata: ["count": "\(unreadable)"])
        }
        try await sink.write(records)
        try await ledger.acknowledge(current.map(\.id))
        do {
            try await ledger.acknowledge(legacy.map(\.id), in: ledger.legacyStream)
        } catch {
            // Left pending, they are written again later: rows are keyed by request id.
            logger.warning("older nodes' spend entries not acknowledged", metadata: ["error": "\(error)"])
        }
        return (entries.count, looked ? legacy.count : nil, records.count)
    }

    /// Up to `count` entries of older nodes' stream; none when it does not exist (or has no group
    /// yet: then the group is made, and the next look reads it from its start). Never throws: a
    /// failure there is logged and must not hold back the records of `SpendLedger.stream`.
    private func claimLegacy(_ count: Int) async -> [SpendLedger.Entry] {
        do {
            return try await ledger.claim(consumer: consumer, count: count, staleAfter: staleAfter,
                from: ledger.legacyStream)
        } catch RedisClientError.server(let message) where message.hasPrefix("NOGROUP") {
            do {
                _ = try await ledger.ensureLegacyGroup()
            } catch {
                logger.warning("older nodes' spend stream cannot be read", metadata: ["error": "\(error)"])
            }
        } catch {
            logger.warning("older nodes' spend stream cannot be read", metadata: ["error": "\(error)"])
        }
        return []
    }
}
