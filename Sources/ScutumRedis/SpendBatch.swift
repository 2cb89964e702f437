import Foundation
import ScutumCore
import Synchronization

/// What one round trip of the spend recorder sends to Redis: the records for the stream, and for
/// each budget counter the requests charged to it (applied once per batch, by its number) and their
/// summed cost, so a batch costs one script call per counter however many requests it carries.
public struct SpendBatch: Sendable, Equatable {
    /// The cost a flush adds to one budget counter.
    public struct Increment: Sendable, Equatable {
        /// The counter (`SpendLedger.counterKey`).
        public var key: String
        /// The summed cost of the batch's records that count against it, in USD.
        public var amount: Double
        /// Seconds the counter should live from now; nil for a budget period that never ends.
        public var ttl: Int?

        public init(key: String, amount: Double, ttl: Int?) {
            self.key = key
            self.amount = amount
            self.ttl = ttl
        }
    }

    /// One request's cost charged to a counter (once: its batch is applied at most once).
    public struct Charge: Sendable, Equatable {
        public var requestID: String
        public var cost: Double
        /// When the request was served (a rebuilt counter tells late records by it).
        public var at: Date
        /// `cost` and `at` (ms since 1970) as the charge script's arguments, made once for every counter.
        let arguments: [RedisArgument]

        init(requestID: String, cost: Double, at: Date) {
            self.requestID = requestID
            self.cost = cost
            self.at = at
            arguments = [RedisArgument(String(cost)), RedisArgument(String(SpendLedger.milliseconds(at)))]
        }
    }

    /// Numbers this batch in the counters' applied hashes (`SpendScripts.charge`): the same batch
    /// sent again is charged once. Rising in the order batches are made, process-wide.
    public let sequence: Int64 = SpendBatch.sequences.wrappingAdd(1, ordering: .relaxed).newValue
    private static let sequences = Atomic<Int64>(0)
    /// The records for the stream, in the order they were added.
    public private(set) var records: [SpendRecord] = []
    /// One per counter, in the order each counter was first charged.
    public private(set) var increments: [Increment] = []
    /// For each increment (same order), the requests it sums.
    public private(set) var charged: [[Charge]] = []
    private var positions: [String: Int] = [:]

    public init() {}

    /// No records, no charges: what nothing settles with (made once).
    public static let empty = SpendBatch()

    /// The same batch (same number and charges) without its records: what is left to send once the
    /// records reached PostgreSQL another way.
    public func chargeOnly() -> SpendBatch {
        var copy = self
        copy.records = []
        return copy
    }

    /// Requests whose cost the batch charges.
    public var chargedRequestCount: Int { Set(charged.joined().map(\.requestID)).count }

    /// Nothing to send: no record and no charge.
    public var isEmpty: Bool { records.isEmpty && increments.isEmpty }

    /// Adds a record for the stream and charges its cost to `counters` (from `SpendLedger.counters(for:at:)`).
    public mutating func add(_ record: SpendRecord, counters: [SpendLedger.Counter]) {
        records.append(record)
        charge(record, counters: counters)
    }

    /// Charges a record's cost to `counters` without streaming the record: one that reached
    /// PostgreSQL another way (straight, while Redis was unreachable). Nothing for a free record.
    public mutating func charge(_ record: SpendRecord, counters: [SpendLedger.Counter]) {
        guard record.cost > 0, !counters.isEmpty else { return }
        let charge = Charge(requestID: record.requestID, cost: record.cost, at: record.at)
        for counter in counters {
            if let position = positions[counter.key] {
                increments[position].amount += record.cost
                charged[position].append(charge)
                // The longest life any record asks for: the counter must outlive the last one's period.
                if let ttl = counter.ttl, let current = increments[position].ttl {
                    increments[position].ttl = max(current, ttl)
                }
            } else {
                positions[counter.key] = increments.count
                increments.append(Increment(key: counter.key, amount: record.cost, ttl: counter.ttl))
                charged.append([charge])
            }
        }
    }
}
