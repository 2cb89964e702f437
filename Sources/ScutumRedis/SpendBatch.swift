import ScutumCore

/// What one round trip of the spend recorder sends to Redis: the records, and for each budget
/// counter the records charged to it (each applied once, by request id) and their summed cost, so a
/// chunk costs one script call per counter however many requests it carries.
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

    /// The records, in the order they were added.
    public private(set) var records: [SpendRecord] = []
    /// One per counter, in the order each counter was first charged.
    public private(set) var increments: [Increment] = []
    /// For each increment (same order), the positions in `records` of the records it sums.
    public private(set) var charged: [[Int]] = []
    private var positions: [String: Int] = [:]

    public init() {}

    public var isEmpty: Bool { records.isEmpty }

    /// Adds a record and charges its cost to `counters` (from `SpendLedger.counters(for:at:)`).
    public mutating func add(_ record: SpendRecord, counters: [SpendLedger.Counter]) {
        records.append(record)
        guard record.cost > 0 else { return }
        for counter in counters {
            if let position = positions[counter.key] {
                increments[position].amount += record.cost
                charged[position].append(records.count - 1)
                // The longest life any record asks for: the counter must outlive the last one's period.
                if let ttl = counter.ttl, let current = increments[position].ttl {
                    increments[position].ttl = max(current, ttl)
                }
            } else {
                positions[counter.key] = increments.count
                increments.append(Increment(key: counter.key, amount: record.cost, ttl: counter.ttl))
                charged.append([records.count - 1])
            }
        }
    }
}
