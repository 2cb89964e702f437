import Foundation
import ScutumCore
import ScutumTestSupport
import Testing

@Suite("Packed spend records (the durable buffer's binary form)")
struct PackedSpendRecordsTests {
    /// Every member set, its text full of what JSON would escape and of non-ASCII.
    static let full = SpendRecord(requestID: "req-\"quoted\"\\back\\slash\n\t\u{0}", at:
        Date(timeIntervalSinceReferenceDate: 786_000_000.123_456_789), keyID: "clé-🔑", keyAlias: "别名 alias",
        teamID: "team\u{7F}\u{1F}", userID: "user@example.com", modelRequested: "gpt-4o\u{2028}\u{2029}",
        modelServed: "gpt-4o-2024-08-06", provider: "openai", promptTokens: 1_234_567, completionTokens: 89,
        cachedTokens: 1_000, cost: 0.012_345_678_901_234_5, latencyMilliseconds: 1_234, status: 200, stream: true,
        endpoint: FrontDoor.messages, cacheWriteTokens: 77, reasoningTokens: 55,
        costParts: SpendRecord.CostParts(input: 0.1, output: 1e-12, cacheRead: 3.3e-7, cacheWrite: 12_345.678),
        deploymentID: "gpt-4o#eu-west 🇪🇺", cacheHit: true, savedCost: 0.75)

    /// Every optional nil, every number 0, every text empty.
    static let minimal = SpendRecord(requestID: "", at: Date(timeIntervalSinceReferenceDate: 0), keyID: nil,
        keyAlias: nil, teamID: nil, userID: nil, modelRequested: "", modelServed: nil, provider: nil, promptTokens: 0,
        completionTokens: 0, cachedTokens: 0, cost: 0, latencyMilliseconds: 0, status: 0, stream: false)

    static func roundTrip(_ records: [SpendRecord]) -> PackedSpendRecords.Decoded {
        PackedSpendRecords.decode(PackedSpendRecords.encode(records))
    }

    @Test("a fully populated record and a minimal one come back equal, empty texts distinct from nil ones")
    func roundTrips() {
        let decoded = Self.roundTrip([Self.full, Self.minimal, Self.full])
        #expect(decoded == PackedSpendRecords.Decoded(records: [Self.full, Self.minimal, Self.full], unreadable: 0))
        var empties = Self.minimal
        (empties.keyID, empties.keyAlias, empties.teamID, empties.userID) = ("", "", "", "")
        (empties.modelServed, empties.provider, empties.endpoint, empties.deploymentID) = ("", "", "", "")
        #expect(Self.roundTrip([empties]).records == [empties])
        #expect(Self.roundTrip([]) == PackedSpendRecords.Decoded(records: [], unreadable: 0))
    }

    @Test("doubles come back bit for bit (negative zero, subnormals, the extremes, infinities, NaN), dates exactly")
    func exactNumbers() {
        let doubles: [Double] = [0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude,
            .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, .nan, 0.1 + 0.2, 1e-300, -42.5]
        let records = doubles.map { value in
            var record = Self.minimal
            record.cost = value
            record.savedCost = value
            record.costParts = SpendRecord.CostParts(input: value, output: -value, cacheRead: value, cacheWrite: value)
            record.at = Date(timeIntervalSinceReferenceDate: value.isFinite ? value : 1)
            return record
        }
        let decoded = Self.roundTrip(records)
        #expect(decoded.unreadable == 0)
        #expect(decoded.records.count == records.count)
        for (sent, read) in zip(records, decoded.records) {
            #expect(read.cost.bitPattern == sent.cost.bitPattern, "\(sent.cost)")
            #expect(read.savedCost.bitPattern == sent.savedCost.bitPattern, "\(sent.savedCost)")
            #expect(read.costParts?.input.bitPattern == sent.costParts?.input.bitPattern)
            #expect(read.costParts?.output.bitPattern == sent.costParts?.output.bitPattern)
            #expect(read.at.timeIntervalSinceReferenceDate.bitPattern == sent.at.timeIntervalSinceReferenceDate.bitPattern)
        }
        // A time of day with sub-microsecond digits, as `Date()` gives them.
        let now = Date()
        var dated = Self.full
        dated.at = now
        #expect(Self.roundTrip([dated]).records.first?.at == now)
    }

    @Test("integers of any size and sign come back")
    func extremeIntegers() {
        for value in [Int.min, Int.min + 1, -1, 1, 63, 64, -64, -65, 127, 128, Int(Int32.max) + 1, Int.max - 1, Int.max] {
            var record = Self.minimal
            (record.promptTokens, record.completionTokens, record.cachedTokens) = (value, value, value)
            (record.cacheWriteTokens, record.reasoningTokens) = (value, value)
            (record.latencyMilliseconds, record.status) = (value, value)
            #expect(Self.roundTrip([record]).records == [record], "\(value)")
        }
    }

    @Test("a value cut short anywhere gives back only whole records, and counts every other one unreadable")
    func truncated() {
        let records = [Self.full, Self.minimal, Self.full]
        let bytes = PackedSpendRecords.encode(records)
        for cut in 0..<bytes.count {
            let decoded = PackedSpendRecords.decode(Array(bytes[..<cut]))
            #expect(decoded.records == Array(records.prefix(decoded.records.count)), "cut at \(cut)")
            #expect(decoded.unreadable >= 1, "cut at \(cut)")
            if cut >= 5 { #expect(decoded.records.count + decoded.unreadable == records.count, "cut at \(cut)") }
        }
    }

    @Test("another version, random bytes, and bytes after the last record are not read as records")
    func garbage() {
        var bytes = PackedSpendRecords.encode([Self.full])
        bytes[0] = PackedSpendRecords.version + 1
        #expect(PackedSpendRecords.decode(bytes) == PackedSpendRecords.Decoded(records: [], unreadable: 1))
        #expect(PackedSpendRecords.decode([]) == PackedSpendRecords.Decoded(records: [], unreadable: 1))
        #expect(PackedSpendRecords.decode(Array(#"[{"request_id":"r"}]"#.utf8)).records.isEmpty)

        var generator = SeededGenerator(state: 20_261_205)
        for length in 0..<400 {
            var random = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Most of them past the version byte, so that the rest is what gets looked at.
            if length > 0, length % 4 != 0 { random[0] = PackedSpendRecords.version }
            let decoded = PackedSpendRecords.decode(random)
            #expect(decoded.records.isEmpty, "\(random)")
            #expect(decoded.unreadable >= 1)
        }

        let trailing = PackedSpendRecords.encode([Self.minimal]) + [0, 1, 2]
        #expect(PackedSpendRecords.decode(trailing) == PackedSpendRecords.Decoded(records: [Self.minimal], unreadable: 1))
    }

    /// `encode([records])` with the bytes of the record at `index` changed by `change` (its length
    /// prefix kept right), the bytes of each record found by encoding them alone.
    static func tampered(_ records: [SpendRecord], at index: Int, _ change: (inout [UInt8]) -> Void) -> [UInt8] {
        var out: [UInt8] = [PackedSpendRecords.version]
        withUnsafeBytes(of: UInt32(records.count).littleEndian) { out += $0 }
        for (position, record) in records.enumerated() {
            // One record alone: version, count, then its length and body.
            var body = Array(PackedSpendRecords.encode([record]).dropFirst(9))
            if position == index { change(&body) }
            withUnsafeBytes(of: UInt32(body.count).littleEndian) { out += $0 }
            out += body
        }
        return out
    }

    @Test("a record that is not one (unknown flags, text that is not UTF-8) is skipped, its neighbours read")
    func badRecordAmongGood() {
        let records = [Self.minimal, Self.full, Self.minimal]
        #expect(PackedSpendRecords.decode(Self.tampered(records, at: 1) { _ in }).records == records)
        let flags = Self.tampered(records, at: 1) { body in body[0] |= 0x40 }
        #expect(PackedSpendRecords.decode(flags) == PackedSpendRecords.Decoded(records: [Self.minimal, Self.minimal],
            unreadable: 1))
        // The minimal record's request id is its first text: make it one byte that is no UTF-8.
        let text = Self.tampered(records, at: 2) { body in
            let start = body.count - 10
            #expect(Array(body[start...]) == [0, 0] + Array(repeating: 0, count: 8))
            body[start] = 1
            body.insert(0xFF, at: start + 1)
        }
        #expect(PackedSpendRecords.decode(text) == PackedSpendRecords.Decoded(records: [Self.minimal, Self.full],
            unreadable: 1))
        let short = Self.tampered(records, at: 0) { body in body.removeLast() }
        #expect(PackedSpendRecords.decode(short) == PackedSpendRecords.Decoded(records: [Self.full, Self.minimal],
            unreadable: 1))
    }

    @Test("fields a newer writer appends to a record are skipped")
    func newerFields() {
        let bytes = Self.tampered([Self.full, Self.minimal], at: 0) { body in body += [9, 8, 7, 6] }
        #expect(PackedSpendRecords.decode(bytes).records == [Self.full, Self.minimal])
    }

    @Test("the packed form is much smaller than the JSON older nodes buffered")
    func smaller() {
        let packed = PackedSpendRecords.encode([Self.full]).count
        #expect(packed * 2 < Self.full.json.jsonString.utf8.count, "\(packed) bytes")
    }
}
