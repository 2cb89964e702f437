import Testing
@testable import ScutumMock

@Suite("AWS event-stream framing")
struct EventStreamTests {
    @Test("CRC-32 of \"123456789\" is 0xCBF43926, in the writer and in the test's own implementation")
    func checkValue() {
        let bytes = Array("123456789".utf8)
        #expect(EventStreamWriter.crc32(bytes) == 0xCBF4_3926)
        #expect(ReferenceCRC32.checksum(bytes) == 0xCBF4_3926)
        #expect(EventStreamWriter.crc32([]) == 0)
        let random = (0..<1000).map { _ in UInt8.random(in: 0...255) }
        #expect(EventStreamWriter.crc32(random) == ReferenceCRC32.checksum(random))
    }

    @Test("a frame has the documented layout: lengths, prelude CRC, string headers, payload, message CRC")
    func layout() throws {
        let frame = EventStreamWriter.event("contentBlockDelta", json: #"{"a":1}"#)
        let messages = try #require(parseEventStream(frame))
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.preludeCRCValid && message.messageCRCValid)
        #expect(message.headers == [":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"])
        #expect(String(decoding: message.payload, as: UTF8.self) == #"{"a":1}"#)
        // 12-byte prelude, headers (3 of: 1 + name + 1 + 2 + value), 7-byte payload, 4-byte CRC.
        let headers = (1 + 11 + 3 + 17) + (1 + 13 + 3 + 16) + (1 + 13 + 3 + 5)
        #expect(frame.count == 12 + headers + 7 + 4)
        #expect(Array(frame[0..<4]) == [0, 0, 0, UInt8(frame.count)])
        #expect(Array(frame[4..<8]) == [0, 0, 0, UInt8(headers)])
        #expect(frame[12] == 11 && frame[24] == 7)
        let corrupt = try #require(parseEventStream(EventStreamWriter.event("x", json: "{}", corruptMessageCRC: true))?.first)
        #expect(corrupt.preludeCRCValid && !corrupt.messageCRCValid)
    }
}
