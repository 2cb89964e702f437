import Logging
import PostgresNIO
import ScutumCore
import ScutumStore

/// Writes spend records into `spend_logs` so that one bad record never blocks the others: a batch
/// PostgreSQL refuses for its data is split in halves until the record it refuses stands alone,
/// and that record moves to `spend_dead_letters` (counted in `SpendCounts.deadLettered`).
///
/// Used by the stream writer and by the recorder when it writes straight to PostgreSQL. Writes are
/// keyed by request id on both tables, so writing the same records again (a replayed batch, or
/// records that reached PostgreSQL both ways) stores each once.
public struct SpendLogSink: Sendable {
    public let store: SpendLogStore
    public let deadLetters: SpendDeadLetterStore
    public let counts: SpendCounts
    let logger: Logger

    public init(store: SpendLogStore, counts: SpendCounts, logger: Logger) {
        self.store = store
        deadLetters = SpendDeadLetterStore(client: store.client, logger: store.logger)
        self.counts = counts
        self.logger = logger
    }

    /// Writes `records`; throws only when PostgreSQL could not be reached (or failed otherwise than
    /// by refusing the data), and then the whole call may be repeated safely.
    public func write(_ records: [SpendRecord]) async throws {
        do {
            try await store.insert(records)
        } catch where SpendLogStore.isDataError(error) {
            guard records.count > 1 else {
                if let record = records.first { try await keep(record, refusedWith: error) }
                return
            }
            let half = records.count / 2
            try await write(Array(records[..<half]))
            try await write(Array(records[half...]))
        }
    }

    /// Moves a refused record to the dead letters. If PostgreSQL refuses that as well
    /// too (for its data, or a missing table), the record is logged and counted, and the others go
    /// on; if PostgreSQL did not answer, or failed for a passing reason (shutting down, read-only
    /// after a failover, out of connections), this throws, so the record is tried again with its batch.
    private func keep(_ record: SpendRecord, refusedWith refusal: any Error) async throws {
        let reason = SpendDeadLetterStore.describe(refusal)
        do {
            if try await deadLetters.keep(record, refusedWith: refusal) { counts.deadLettered(1) }
            logger.error("spend record refused by PostgreSQL; kept in spend_dead_letters", metadata: [
                "request_id": "\(record.requestID.storableIdentifier)", "error": "\(reason)",
            ])
        } catch let failure as PSQLError where failure.serverInfo != nil && !SpendLogStore.isPassing(failure) {
            counts.deadLetterFailed(1)
            logger.error("spend record refused by PostgreSQL, and its dead letter too; skipped", metadata: [
                "request_id": "\(record.requestID.storableIdentifier)", "error": "\(reason)",
                "dead_letter_error": "\(SpendDeadLetterStore.describe(failure))",
                "record": "\(SpendLogStore.storable(record).json.jsonString)",
            ])
        }
    }
}
