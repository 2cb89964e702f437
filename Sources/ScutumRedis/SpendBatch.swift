import ScutumCore

/// What one flush of the spend recorder sends to Redis: the records, and the cost they add to
/// each budget counter summed per counter, so a flush costs one `INCRBYFLOAT` (and one `EXPIRE`)
/// per counter however many requests it carries.
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
    private var positions: [String: Int] = [:]

    public init() {}

    public var isEmpty: Bool { records.isEmpty }

    /// Adds a record and charges its cost to `counters` (from `SpendLedger.counters(for:at:)`).
    public mutating func add(_ record: SpendRecord, counters: [SpendLedger.Counter]) {
        records.append(record)
        for counter in counters { charge(Increment(key: counter.key, amount: record.cost, ttl: counter.ttl)) }
    }

    /// Charges an amount to a counter without a record: cost whose records reached PostgreSQL
    /// another way (straight, while Redis was unreachable). Nothing for an amount of 0 or less.
    public mutating func charge(_ increment: Increment) {
        guard increment.amount > 0 else { return }
        if let position = positions[increment.key] {
            increments[position].amount += increment.amount
            // The longest life any record asks for: the counter must outlive the last one's period.
            if let ttl = increment.ttl, let current = increments[position].ttl {
                increments[position].ttl = max(current, ttl)
            }
        } else {
            positions[increment.key] = increments.count
            increments.append(increment)
        }
    }
}
