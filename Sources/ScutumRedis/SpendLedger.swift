import Foundation
import ScutumCore

/// Live spend in Redis, shared by every node: one counter per budget per period, so a budget is
/// enforced cluster-wide once a request's cost is flushed; and the durable buffer of spend records
/// (a Redis stream, each entry a batch of records) that the batch writer moves into PostgreSQL.
///
/// The buffer's entries are packed (`PackedSpendRecords`) in `stream`. Older nodes wrote JSON to
/// `legacyStream`, and while a cluster is upgraded some still do: the writers read both, and
/// packed entries go only where older writers never look (they would drop what they cannot read).
public struct SpendLedger: Sendable {
    /// The consumer group of the nodes that write spend records to PostgreSQL.
    public static let writers = "writers"

    public let redis: RedisClient
    /// Prefix of every key, so that clusters (or tests) sharing one Redis stay apart.
    public let namespace: String
    /// The writer named in the counters' applied hashes when `write` is given none. A writer's
    /// batches must reach Redis in the order of their numbers: each `SpendRecorder` is a writer of
    /// its own and sends them so.
    public let writer: String
    /// How long, from the first time it was read, the spend log is read again for the part of a
    /// (re)created counter's period before it existed (`SpendScripts`): longer than the spend log's
    /// lag behind Redis.
    public let seedWindow: Duration
    /// The stream spend records wait in until PostgreSQL has them (packed entries).
    public var stream: String { "\(namespace):spend:log:p1" }
    /// The stream older nodes buffer records in as JSON: still read and emptied, never written.
    public var legacyStream: String { "\(namespace):spend:log" }

    /// Replicas that must hold a batch before `write` counts it as taken (`WAIT`), and how long to wait
    /// for them. Behind Sentinel, 1: a master that was just replaced (its replica promoted, itself not yet
    /// told) still takes writes, which the promoted replica never sees and the old master drops when it
    /// rejoins; with `WAIT` they find no replica, and the batch is sent again, to the new master.
    public var replicaAcknowledgements: Int
    public var replicaWait: Duration = .milliseconds(100)

    public init(redis: RedisClient, namespace: String = "scutum", seedWindow: Duration = .seconds(60)) {
        self.redis = redis
        self.namespace = namespace
        self.writer = UUID().wire
        self.seedWindow = seedWindow
        self.replicaAcknowledgements = redis.configuration.sentinel == nil ? 0 : 1
    }

    /// The counter of a budget's period containing `date`.
    public func counterKey(_ budget: BudgetRecord, at date: Date) -> String {
        let start = Int64(budget.period(at: date).start.timeIntervalSince1970)
        return "\(namespace):spend:\(budget.subject.scope):\(budget.subject.id):\(start)"
    }

    /// Current-period spend of each budget, in order (0 for a counter not yet written); one round trip.
    public func current(_ budgets: [BudgetRecord], at date: Date = Date()) async throws -> [Double] {
        guard !budgets.isEmpty else { return [] }
        let reply = try await redis.send(["MGET"] + budgets.map { RedisArgument(counterKey($0, at: date)) })
        return (reply.array ?? []).map { value in value.string.flatMap(Double.init) ?? 0 }
    }

    /// The values of counters by key, in order (nil for a counter not yet written): one pipeline
    /// of `MGET`s of at most `chunk` keys each, so one round trip however many.
    public func totals(_ keys: [String], chunk: Int = 1_000) async throws -> [Double?] {
        guard !keys.isEmpty else { return [] }
        var commands: [[RedisArgument]] = []
        var start = 0
        while start < keys.count {
            let end = min(start + max(1, chunk), keys.count)
            commands.append(["MGET"] + keys[start..<end].map { RedisArgument($0) })
            start = end
        }
        var values: [Double?] = []
        values.reserveCapacity(keys.count)
        for reply in try await redis.pipeline(commands) {
            if case .error(let message) = reply { throw RedisClientError.server(message) }
            values += (reply.array ?? []).map { value in value.string.flatMap(Double.init) }
        }
        return values
    }

    /// A budget counter a record's cost is charged to, and how long it should live.
    public struct Counter: Sendable, Equatable {
        public var key: String
        /// Seconds from the record's time; nil for a budget whose one period never ends.
        public var ttl: Int?

        public init(key: String, ttl: Int?) {
            self.key = key
            self.ttl = ttl
        }
    }

    /// The counters of `budgets`' periods containing `date`.
    public func counters(for budgets: [BudgetRecord], at date: Date) -> [Counter] {
        budgets.map { budget in
            // Counters outlive their period by a day, for reports; a budget without a duration keeps its own.
            let ttl = budget.period(at: date).end.map { end in max(60, Int(end.timeIntervalSince(date)) + 86_400) }
            return Counter(key: counterKey(budget, at: date), ttl: ttl)
        }
    }

    /// The stream field of an entry holding a batch of records in `PackedSpendRecords`' form.
    public static let packedField = "p"
    /// The stream field of an entry holding a batch of records as a JSON array (written by older
    /// nodes, still read).
    public static let batchField = "b"
    /// The stream field of an entry holding one record as a JSON object (written by older nodes,
    /// still read).
    public static let recordField = "r"

    /// The commands that send `batch`: per counter one `SpendScripts.charge` call (the batch's
    /// cost applied at most once, by its number), then one `XADD` per `recordsPerEntry` records
    /// (packed, to `stream`).
    /// A stream entry sent twice is harmless: the writer stores a request id once.
    public func commands(for batch: SpendBatch, recordsPerEntry: Int, writer: String? = nil) -> [[RedisArgument]] {
        var commands: [[RedisArgument]] = []
        let (writer, sequence) = (RedisArgument(writer ?? self.writer), RedisArgument(String(batch.sequence)))
        for (increment, charges) in zip(batch.increments, batch.charged) {
            var command: [RedisArgument] = ["EVALSHA", RedisArgument(SpendScripts.charge.sha1), 3,
                RedisArgument(increment.key), RedisArgument(seedKey(counter: increment.key)),
                RedisArgument(appliedKey(counter: increment.key))]
            command.reserveCapacity(command.count + 4 + 2 * charges.count)
            command += [RedisArgument(increment.ttl ?? 0), writer, RedisArgument(Self.seedHold(ttl: increment.ttl)),
                sequence]
            for charge in charges { command += charge.arguments }
            commands.append(command)
        }
        var start = 0
        while start < batch.records.count {
            let end = min(start + max(1, recordsPerEntry), batch.records.count)
            let packed = PackedSpendRecords.encode(batch.records[start..<end])
            commands.append(["XADD", RedisArgument(stream), "*", RedisArgument(Self.packedField),
                RedisArgument(bytes: packed)])
            start = end
        }
        return commands
    }

    /// What Redis answered to a batch.
    public struct WriteOutcome: Sendable, Equatable {
        /// The new total of each counter the batch charged.
        public var totals: [String: Double] = [:]
        /// Counters in their seeding window, with their base (ms since 1970): the part of their
        /// period before it is still being taken from the spend log (`LiveSpend` does).
        public var seeding: [String: Int64] = [:]
        /// Counters whose increment Redis refused (their cost is lost to the live view; the records
        /// still reach the stream).
        public var failedCounters: [String] = []
        /// Records whose `XADD` Redis refused: not in the stream, to be sent again (without
        /// charging their cost twice: the counters took it).
        public var unsent: [SpendRecord] = []
        /// Error replies, for the log.
        public var errors: [String] = []
        /// This Redis's spend epoch (`epochKey`) as the batch found it.
        public var epoch: String?

        /// Nothing written (what cost that never reaches Redis settles with).
        public init() {}
    }

    /// Sends `batch` in one pipeline as `writer` (else this ledger's `writer`); throws only if Redis
    /// could not be reached (then nothing can be assumed written, and the batch should be sent
    /// again, by the same writer, before any later one: its counters will not count it twice). Also
    /// reads (or makes) the spend epoch (`epochKey`).
    public func write(_ batch: SpendBatch, recordsPerEntry: Int, writer: String? = nil) async throws -> WriteOutcome {
        // WAIT last, in the same pipeline: it covers the writes this connection sent before it.
        let waits = replicaAcknowledgements > 0
        let commands = commands(for: batch, recordsPerEntry: recordsPerEntry, writer: writer) + epochCommands()
            + (waits ? [["WAIT", RedisArgument(replicaAcknowledgements), RedisArgument(Int(replicaWait / .milliseconds(1)))]] : [])
        var replies = try await redis.pipeline(commands)
        if waits, let acknowledged = replies.last?.int, acknowledged < replicaAcknowledgements {
            throw RedisClientError.unavailable(
                "spend batch held by \(acknowledged) of \(replicaAcknowledgements) replicas within \(replicaWait) (a failover?); it is sent again")
        }
        if waits { replies.removeLast() }
        // A server that has not seen the script (restarted, flushed): load it and send those again.
        replies = try await redis.resendingNoScript(commands, replies: replies, loading: [SpendScripts.charge])
        var outcome = WriteOutcome()
        for (index, increment) in batch.increments.enumerated() {
            switch replies[index] {
            case .error(let message):
                outcome.failedCounters.append(increment.key)
                outcome.errors.append(message)
            case let reply:
                let values = reply.array ?? []
                if let total = values.first?.string.flatMap(Double.init) { outcome.totals[increment.key] = total }
                if values.count > 1, let base = values[1].int { outcome.seeding[increment.key] = base }
            }
        }
        outcome.epoch = replies.last?.string
        var start = 0
        for reply in replies[batch.increments.count..<(replies.count - 2)] {
            let end = min(start + max(1, recordsPerEntry), batch.records.count)
            if case .error(let message) = reply {
                outcome.errors.append(message)
                outcome.unsent += batch.records[start..<end]
            }
            start = end
        }
        return outcome
    }

    /// Names the spend data this Redis holds: made (at random) by the first batch or check that finds
    /// it missing. A recorder that sees it change, or made anew, knows Redis lost its data since
    /// (restarted empty, failed over without it): the stream with it. It lives in the stream's hash
    /// slot, so that in a Redis Cluster it is lost exactly when the stream is (the shard holding both);
    /// only a namespace holding a `}` outside any `{hash tag}` cannot be given such a key.
    public var epochKey: String {
        let suffixed = stream + ":epoch"
        // A stream with a hash tag keeps it; one without is hashed whole, so it becomes the tag.
        if RedisHashSlot.slot(of: suffixed) == RedisHashSlot.slot(of: stream) || stream.contains("}") { return suffixed }
        return "{\(stream)}:epoch"
    }

    /// This Redis's spend epoch, made if missing.
    public func epoch() async throws -> String? {
        let replies = try await redis.pipeline(epochCommands())
        if case .error(let message) = replies[0] { throw RedisClientError.server(message) }
        return replies.last?.string
    }

    private func epochCommands() -> [[RedisArgument]] {
        [["SET", RedisArgument(epochKey), RedisArgument(UUID().wire), "NX"], ["GET", RedisArgument(epochKey)]]
    }

    /// Creates the writers' group (and the stream) if missing.
    public func ensureGroup() async throws {
        let reply = try await redis.pipeline([["XGROUP", "CREATE", RedisArgument(stream), RedisArgument(Self.writers),
            "0", "MKSTREAM"]])
        if case .error(let message) = reply[0], !message.hasPrefix("BUSYGROUP") {
            throw RedisClientError.server(message)
        }
    }

    /// Creates the writers' group on `legacyStream` if that stream exists (it is never created
    /// here: only older nodes write it); returns whether it exists.
    public func ensureLegacyGroup() async throws -> Bool {
        let reply = try await redis.pipeline([["XGROUP", "CREATE", RedisArgument(legacyStream),
            RedisArgument(Self.writers), "0"]])
        guard case .error(let message) = reply[0] else { return true }
        if message.hasPrefix("BUSYGROUP") { return true }
        // "ERR The XGROUP subcommand requires the key to exist ..."
        if message.contains("requires the key to exist") { return false }
        throw RedisClientError.server(message)
    }

    /// Up to `count` buffered records for `consumer` from `stream` (else this ledger's `stream`):
    /// first those it claimed earlier and has not acknowledged (or that idled longer than
    /// `staleAfter` under a consumer that died), then new ones.
    public func claim(consumer: String, count: Int, staleAfter: Duration, from stream: String? = nil) async throws
        -> [Entry]
    {
        let stream = stream ?? self.stream
        let idle = RedisArgument(Int(staleAfter.components.seconds * 1000))
        let stale = try await redis.send(["XAUTOCLAIM", RedisArgument(stream), RedisArgument(Self.writers),
            RedisArgument(consumer), idle, "0-0", "COUNT", RedisArgument(count)])
        var entries = Self.entries(stale.array.flatMap { $0.count > 1 ? $0[1] : nil })
        let own = try await redis.send(["XREADGROUP", "GROUP", RedisArgument(Self.writers), RedisArgument(consumer),
            "COUNT", RedisArgument(count), "STREAMS", RedisArgument(stream), "0"])
        entries += Self.streamEntries(own)
        if entries.isEmpty {
            let fresh = try await redis.send(["XREADGROUP", "GROUP", RedisArgument(Self.writers), RedisArgument(consumer),
                "COUNT", RedisArgument(count), "STREAMS", RedisArgument(stream), ">"])
            entries += Self.streamEntries(fresh)
        }
        var seen = Set<String>()
        return entries.filter { seen.insert($0.id).inserted }
    }

    /// Acknowledges and removes entries of `stream` (else this ledger's `stream`) whose records
    /// PostgreSQL now holds.
    public func acknowledge(_ ids: [String], in stream: String? = nil) async throws {
        guard !ids.isEmpty else { return }
        let stream = stream ?? self.stream
        let arguments = ids.map { RedisArgument($0) }
        _ = try await redis.pipeline([
            ["XACK", RedisArgument(stream), RedisArgument(Self.writers)] + arguments,
            ["XDEL", RedisArgument(stream)] + arguments,
        ])
    }

    /// One entry of a stream: a batch of records (or one record, from an older node).
    public struct Entry: Sendable, Equatable {
        public var id: String
        public var records: [SpendRecord]
        /// Records (or whole fields) that could not be read; they are dropped with the entry.
        public var unreadable: Int
    }

    /// Entries of an `XREADGROUP` reply: `[[stream, [[id, [field, value...]]...]]]`.
    static func streamEntries(_ reply: RedisValue) -> [Entry] {
        guard let streams = reply.array, let first = streams.first?.array, first.count > 1 else { return [] }
        return entries(first[1])
    }

    static func entries(_ list: RedisValue?) -> [Entry] {
        (list?.array ?? []).compactMap { entry in
            guard let parts = entry.array, let id = parts.first?.string else { return nil }
            // A deleted entry still pending comes back with nil fields: nothing in it can be read.
            let fields = parts.count > 1 ? parts[1].array ?? [] : []
            var result = Entry(id: id, records: [], unreadable: 0)
            var index = 0
            while index + 1 < fields.count {
                let bytes = fields[index + 1].bytes ?? []
                switch fields[index].string {
                case Self.packedField:
                    let decoded = PackedSpendRecords.decode(bytes)
                    result.records += decoded.records
                    result.unreadable += decoded.unreadable
                case Self.recordField:
                    let value = try? JSONParser.parse(bytes)
                    if let record = value.flatMap(SpendRecord.init(json:)) {
                        result.records.append(record)
                    } else {
                        result.unreadable += 1
                    }
                case Self.batchField:
                    guard case .array(let items)? = try? JSONParser.parse(bytes) else {
                        result.unreadable += 1
                        break
                    }
                    for item in items {
                        if let record = SpendRecord(json: item) {
                            result.records.append(record)
                        } else {
                            result.unreadable += 1
                        }
                    }
                default:
                    break
                }
                index += 2
            }
            if result.records.isEmpty, result.unreadable == 0 { result.unreadable = 1 }
            return result
        }
    }
}
