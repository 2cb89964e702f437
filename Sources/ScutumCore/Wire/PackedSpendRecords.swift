import Foundation

/// The binary form of a batch of spend records, as the durable Redis buffer carries them: every
/// request's record is written there once and read back once, and building and parsing a JSON tree
/// for each cost more than the rest of the accounting path.
///
/// Layout, little-endian (`PackedWriter`'s primitives):
/// - the format's `version` (one byte), then the number of records (`UInt32`);
/// - each record: its length in bytes (`UInt32`), then
///   - flags (varint): 1 streamed, 2 a cache hit, 4 cost parts follow, 8 a saved cost follows
///     (every other bit is 0 in this version);
///   - `at` (the `Double` bit pattern of its `timeIntervalSinceReferenceDate`, so it comes back
///     exactly), `cost`, then the saved cost and the four cost parts where the flags say;
///   - status, latency, prompt, completion, cached, cache-write and reasoning tokens (zigzag varints);
///   - request id and requested model (strings: UTF-8 length, bytes), then key id, key alias, team,
///     user, served model, provider, endpoint and deployment id (0 for nil, else length + 1, bytes).
///
/// Fields added later go after the last one, inside the record's length: a reader of this version
/// skips them, as a JSON reader skips members it does not know. A change older readers cannot
/// skip needs a new `version` (and a place older nodes do not read: they count what they cannot
/// read as unreadable).
public enum PackedSpendRecords {
    /// This form's version, its first byte.
    public static let version: UInt8 = 1

    /// What `decode` read from one value.
    public struct Decoded: Sendable, Equatable {
        /// The records read, in order.
        public var records: [SpendRecord]
        /// Records that could not be read (wrong version, cut short, not what a writer writes); a
        /// value not even a header can be read from counts as one.
        public var unreadable: Int

        public init(records: [SpendRecord], unreadable: Int) {
            self.records = records
            self.unreadable = unreadable
        }
    }

    private enum Flag {
        static let stream: UInt64 = 1
        static let cacheHit: UInt64 = 2
        static let costParts: UInt64 = 4
        static let savedCost: UInt64 = 8
        static let known: UInt64 = 15
    }

    /// `records` in this form.
    public static func encode(_ records: some Collection<SpendRecord>) -> [UInt8] {
        var writer = PackedWriter(capacity: 5 + records.count * 192)
        writer.byte(version)
        writer.uint32(UInt32(records.count))
        for record in records {
            let lengthAt = writer.count
            writer.uint32(0)
            write(record, to: &writer)
            // A record's text comes from one request, far below 4 GiB.
            writer.patchUInt32(UInt32(writer.count - lengthAt - 4), at: lengthAt)
        }
        return writer.bytes
    }

    /// Reads what `encode` wrote. Never traps on other bytes: a record that cannot be read is
    /// counted in `unreadable` (its neighbours, whose lengths still hold, are read), and bytes cut
    /// short count every record they should have held.
    public static func decode(_ bytes: [UInt8]) -> Decoded {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = PackedReader(buffer)
            guard reader.byte() == version, let declared = reader.uint32().map(Int.init) else {
                return Decoded(records: [], unreadable: 1)
            }
            // Each record takes at least 4 + 1 + 16 + 7 + 2 + 8 bytes: garbage cannot make this reserve much.
            var decoded = Decoded(records: [], unreadable: 0)
            decoded.records.reserveCapacity(min(declared, reader.remaining / 38))
            for index in 0..<declared {
                guard let length = reader.uint32().map(Int.init), var body = reader.limited(to: length) else {
                    decoded.unreadable += declared - index
                    return decoded
                }
                if let record = read(&body) {
                    decoded.records.append(record)
                } else {
                    decoded.unreadable += 1
                }
                _ = reader.skip(length)
            }
            // Bytes after the last record are none a writer wrote.
            if reader.remaining > 0 { decoded.unreadable += 1 }
            return decoded
        }
    }

    private static func write(_ record: SpendRecord, to writer: inout PackedWriter) {
        var flags: UInt64 = 0
        if record.stream { flags |= Flag.stream }
        if record.cacheHit { flags |= Flag.cacheHit }
        if record.costParts != nil { flags |= Flag.costParts }
        // By bit pattern: -0 is kept too.
        if record.savedCost.bitPattern != 0 { flags |= Flag.savedCost }
        writer.varint(flags)
        writer.double(record.at.timeIntervalSinceReferenceDate)
        writer.double(record.cost)
        if flags & Flag.savedCost != 0 { writer.double(record.savedCost) }
        if let parts = record.costParts {
            writer.double(parts.input)
            writer.double(parts.output)
            writer.double(parts.cacheRead)
            writer.double(parts.cacheWrite)
        }
        writer.int(record.status)
        writer.int(record.latencyMilliseconds)
        writer.int(record.promptTokens)
        writer.int(record.completionTokens)
        writer.int(record.cachedTokens)
        writer.int(record.cacheWriteTokens)
        writer.int(record.reasoningTokens)
        writer.string(record.requestID)
        writer.string(record.modelRequested)
        writer.optionalString(record.keyID)
        writer.optionalString(record.keyAlias)
        writer.optionalString(record.teamID)
        writer.optionalString(record.userID)
        writer.optionalString(record.modelServed)
        writer.optionalString(record.provider)
        writer.optionalString(record.endpoint)
        writer.optionalString(record.deploymentID)
    }

    /// One record's body; nil if it is not one (bytes left over after the known fields are newer
    /// fields, skipped).
    private static func read(_ reader: inout PackedReader) -> SpendRecord? {
        guard let flags = reader.varint(), flags & ~Flag.known == 0,
            let at = reader.double(), let cost = reader.double()
        else { return nil }
        var savedCost = 0.0
        if flags & Flag.savedCost != 0 {
            guard let value = reader.double() else { return nil }
            savedCost = value
        }
        var costParts: SpendRecord.CostParts?
        if flags & Flag.costParts != 0 {
            guard let input = reader.double(), let output = reader.double(), let cacheRead = reader.double(),
                let cacheWrite = reader.double()
            else { return nil }
            costParts = SpendRecord.CostParts(input: input, output: output, cacheRead: cacheRead, cacheWrite: cacheWrite)
        }
        guard let status = reader.int(), let latency = reader.int(), let prompt = reader.int(),
            let completion = reader.int(), let cached = reader.int(), let cacheWrite = reader.int(),
            let reasoning = reader.int(), let requestID = reader.string(), let model = reader.string(),
            let keyID = reader.optionalString(), let keyAlias = reader.optionalString(),
            let teamID = reader.optionalString(), let userID = reader.optionalString(),
            let modelServed = reader.optionalString(), let provider = reader.optionalString(),
            let endpoint = reader.optionalString(), let deploymentID = reader.optionalString()
        else { return nil }
        return SpendRecord(requestID: requestID, at: Date(timeIntervalSinceReferenceDate: at), keyID: keyID,
            keyAlias: keyAlias, teamID: teamID, userID: userID, modelRequested: model, modelServed: modelServed,
            provider: provider, promptTokens: prompt, completionTokens: completion, cachedTokens: cached, cost: cost,
            latencyMilliseconds: latency, status: status, stream: flags & Flag.stream != 0, endpoint: endpoint,
            cacheWriteTokens: cacheWrite, reasoningTokens: reasoning, costParts: costParts, deploymentID: deploymentID,
            cacheHit: flags & Flag.cacheHit != 0, savedCost: savedCost)
    }
}
