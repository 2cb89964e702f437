import Foundation
import Testing

@testable import ScutumProviders

/// Published event-stream test vectors.
///
/// Unless noted, bytes are copied from smithy-lang/smithy-typescript
/// `packages/eventstream-codec/src/TestVectors.fixture.ts` (the vectors AWS SDKs share; aws/aws-sdk-go
/// ships the same `all_headers` case as `private/protocol/eventstream/testdata/{encoded,decoded}/positive/`).
/// Cases marked "js-v3" come from the earlier aws/aws-sdk-js-v3
/// `packages/eventstream-marshaller/src/TestVectors.fixture.ts`.
enum EventStreamVectors {
    static let fooBar: [UInt8] = [123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125]  // {'foo':'bar'}

    static let allHeaders: [UInt8] = [
        0, 0, 0, 204, 0, 0, 0, 175, 15, 174, 100, 202, 10, 101, 118, 101, 110, 116, 45, 116, 121, 112, 101, 4, 0, 0,
        160, 12, 12, 99, 111, 110, 116, 101, 110, 116, 45, 116, 121, 112, 101, 7, 0, 16, 97, 112, 112, 108, 105, 99,
        97, 116, 105, 111, 110, 47, 106, 115, 111, 110, 10, 98, 111, 111, 108, 32, 102, 97, 108, 115, 101, 1, 9, 98,
        111, 111, 108, 32, 116, 114, 117, 101, 0, 4, 98, 121, 116, 101, 2, 207, 8, 98, 121, 116, 101, 32, 98, 117,
        102, 6, 0, 20, 73, 39, 109, 32, 97, 32, 108, 105, 116, 116, 108, 101, 32, 116, 101, 97, 112, 111, 116, 33, 9,
        116, 105, 109, 101, 115, 116, 97, 109, 112, 8, 0, 0, 0, 0, 0, 132, 95, 237, 5, 105, 110, 116, 49, 54, 3, 0,
        42, 5, 105, 110, 116, 54, 52, 5, 0, 0, 0, 0, 2, 135, 87, 178, 4, 117, 117, 105, 100, 9, 1, 2, 3, 4, 5, 6, 7,
        8, 9, 10, 11, 12, 13, 14, 15, 16, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 171, 165, 241, 12,
    ]
    static let emptyMessage: [UInt8] = [0, 0, 0, 16, 0, 0, 0, 0, 5, 194, 72, 235, 125, 152, 200, 255]
    static let int32Header: [UInt8] = [
        0, 0, 0, 45, 0, 0, 0, 16, 65, 196, 36, 184, 10, 101, 118, 101, 110, 116, 45, 116, 121, 112, 101, 4, 0, 0,
        160, 12, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 54, 244, 128, 160,
    ]
    static let payloadNoHeaders: [UInt8] = [
        0, 0, 0, 29, 0, 0, 0, 0, 253, 82, 140, 90, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 195, 101,
        57, 54,
    ]
    static let payloadOneStringHeader: [UInt8] = [
        0, 0, 0, 61, 0, 0, 0, 32, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110, 116, 45, 116, 121, 112, 101, 7, 0,
        16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47, 106, 115, 111, 110, 123, 39, 102, 111, 111, 39,
        58, 39, 98, 97, 114, 39, 125, 141, 156, 8, 177,
    ]
    /// js-v3 `int32_header`: header named `event-id`.
    static let int32HeaderEventID: [UInt8] = [
        0, 0, 0, 43, 0, 0, 0, 14, 52, 139, 236, 123, 8, 101, 118, 101, 110, 116, 45, 105, 100, 4, 0, 0, 160, 12, 123,
        39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 211, 137, 2, 133,
    ]

    static let corruptedHeaders: [UInt8] = [
        0, 0, 0, 61, 0, 0, 0, 32, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110, 116, 45, 116, 121, 112, 101, 7, 0,
        16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47, 106, 115, 111, 110, 123, 97, 102, 111, 111, 39,
        58, 39, 98, 97, 114, 39, 125, 141, 156, 8, 177,
    ]
    static let corruptedHeaderLength: [UInt8] = [
        0, 0, 0, 61, 0, 0, 0, 33, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110, 116, 45, 116, 121, 112, 101, 7, 0,
        16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47, 106, 115, 111, 110, 123, 39, 102, 111, 111, 39,
        58, 39, 98, 97, 114, 39, 125, 141, 156, 8, 177,
    ]
    static let corruptedLength: [UInt8] = [
        0, 0, 0, 62, 0, 0, 0, 32, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110, 116, 45, 116, 121, 112, 101, 7, 0,
        16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47, 106, 115, 111, 110, 123, 39, 102, 111, 111, 39,
        58, 39, 98, 97, 114, 39, 125, 141, 156, 8, 177,
    ]
    static let corruptedPayload: [UInt8] = [
        0, 0, 0, 29, 0, 0, 0, 0, 253, 82, 140, 90, 91, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 195, 101,
        57, 54,
    ]
    /// js-v3 `corrupted_headers`: a byte of the header name changed.
    static let corruptedHeadersJSv3: [UInt8] = [
        0, 0, 0, 61, 0, 0, 0, 32, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110, 116, 43, 116, 121, 112, 101, 7, 0,
        16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47, 106, 115, 111, 110, 123, 39, 102, 111, 111, 39,
        58, 39, 98, 97, 114, 39, 125, 141, 156, 8, 177,
    ]
    /// js-v3 `corrupted_header_len`: headers length 0x120.
    static let corruptedHeaderLengthJSv3: [UInt8] = [
        0, 0, 0, 61, 0, 0, 1, 32, 7, 253, 131, 150, 12, 99, 111, 110, 116, 101, 110, 116, 45, 116, 121, 112, 101, 7, 0,
        16, 97, 112, 112, 108, 105, 99, 97, 116, 105, 111, 110, 47, 106, 115, 111, 110, 123, 39, 102, 111, 111, 39,
        58, 39, 98, 97, 114, 39, 125, 141, 156, 8, 177,
    ]
    /// js-v3 `corrupted_length`: total length 0x0100001D.
    static let corruptedLengthJSv3: [UInt8] = [
        1, 0, 0, 29, 0, 0, 0, 0, 253, 82, 140, 90, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 125, 195, 101,
        57, 54,
    ]
    /// js-v3 `corrupted_payload`: last payload byte changed.
    static let corruptedPayloadJSv3: [UInt8] = [
        0, 0, 0, 29, 0, 0, 0, 0, 253, 82, 140, 90, 123, 39, 102, 111, 111, 39, 58, 39, 98, 97, 114, 39, 141, 195, 101,
        57, 54,
    ]

    /// The decoded form of `all_headers`, in wire order.
    static func allHeadersDecoded() throws -> [(String, AWSEventStreamHeaderValue)] {
        [
            ("event-type", .int32(40972)),
            ("content-type", .string("application/json")),
            ("bool false", .bool(false)),
            ("bool true", .bool(true)),
            ("byte", .byte(-49)),
            ("byte buf", .bytes(Array("I'm a little teapot!".utf8))),
            ("timestamp", .timestamp(8_675_309)),
            ("int16", .int16(42)),
            ("int64", .int64(42_424_242)),
            ("uuid", .uuid(try #require(UUID(uuidString: "01020304-0506-0708-090a-0b0c0d0e0f10")))),
        ]
    }
}

/// A frame built from the spec (not a published vector): prelude and message CRCs computed here.
private func handFrame(totalLength: UInt32? = nil, headers: [UInt8], payload: [UInt8] = []) -> [UInt8] {
    func be(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    let total = totalLength ?? UInt32(16 + headers.count + payload.count)
    var frame = be(total) + be(UInt32(headers.count))
    frame += be(CRC32.checksum(frame))
    frame += headers + payload
    return frame + be(CRC32.checksum(frame))
}

private func decodeAll(_ bytes: [UInt8], pieceSize: Int) throws(AWSEventStreamError) -> [AWSEventStreamMessage] {
    var decoder = AWSEventStreamDecoder()
    var messages: [AWSEventStreamMessage] = []
    var index = 0
    while index < bytes.count {
        messages += try decoder.feed(bytes[index..<min(index + pieceSize, bytes.count)])
        index += pieceSize
    }
    #expect(!decoder.hasPartialMessage)
    return messages
}

@Suite("AWS event-stream decoding")
struct AWSEventStreamTests {
    typealias V = EventStreamVectors

    @Test("CRC32 is the standard IEEE/zlib checksum")
    func crc32() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        let whole = CRC32.checksum(Array("hello, world".utf8))
        #expect(CRC32.checksum(Array(", world".utf8), initial: CRC32.checksum(Array("hello".utf8))) == whole)
    }

    @Test("positive vectors decode to their published headers and payload, and encode back to the same bytes")
    func positiveVectors() throws {
        let cases: [([UInt8], [(String, AWSEventStreamHeaderValue)], [UInt8])] = [
            (V.allHeaders, try V.allHeadersDecoded(), V.fooBar),
            (V.emptyMessage, [], []),
            (V.int32Header, [("event-type", .int32(0x0000_A00C))], V.fooBar),
            (V.payloadNoHeaders, [], V.fooBar),
            (V.payloadOneStringHeader, [("content-type", .string("application/json"))], V.fooBar),
            (V.int32HeaderEventID, [("event-id", .int32(0x0000_A00C))], V.fooBar),
        ]
        for (encoded, headers, payload) in cases {
            var decoder = AWSEventStreamDecoder()
            let messages = try decoder.feed(encoded)
            try #require(messages.count == 1)
            #expect(messages[0].headers == Dictionary(uniqueKeysWithValues: headers))
            #expect(messages[0].payload == payload)
            #expect(!decoder.hasPartialMessage)
            #expect(try AWSEventStreamDecoder.encode(headers: headers, payload: payload) == encoded)
        }
    }

    @Test(
        "negative vectors are rejected with the right error",
        arguments: [
            (V.corruptedHeaders, AWSEventStreamError.messageChecksumMismatch),
            (V.corruptedPayload, .messageChecksumMismatch),
            (V.corruptedHeaderLength, .preludeChecksumMismatch),
            (V.corruptedLength, .preludeChecksumMismatch),
            (V.corruptedHeadersJSv3, .messageChecksumMismatch),
            (V.corruptedPayloadJSv3, .messageChecksumMismatch),
            (V.corruptedHeaderLengthJSv3, .preludeChecksumMismatch),
            (V.corruptedLengthJSv3, .preludeChecksumMismatch),
        ])
    func negativeVectors(bytes: [UInt8], error: AWSEventStreamError) {
        var decoder = AWSEventStreamDecoder()
        #expect(throws: error) { try decoder.feed(bytes) }
        // Split input fails the same way, and a decoder stays failed afterwards.
        #expect(throws: error) { try decodeAll(bytes, pieceSize: 1) }
        #expect(throws: error) { try decoder.feed(V.emptyMessage) }
    }

    @Test("a corrupt prelude is refused before the rest of the message arrives")
    func earlyPreludeCheck() {
        var decoder = AWSEventStreamDecoder()
        #expect(throws: AWSEventStreamError.preludeChecksumMismatch) {
            try decoder.feed(V.corruptedLengthJSv3.prefix(12))
        }
    }

    // The frames below are hand-built from the spec (valid CRCs around bad content), not published vectors.

    @Test("lengths outside the allowed range are refused even with a valid prelude checksum")
    func lengthOutOfRange() {
        let tooShort = Array(handFrame(totalLength: 15, headers: []).prefix(12))
        let tooLong = Array(handFrame(totalLength: 16 * 1024 * 1024 + 1, headers: []).prefix(12))
        var headersTooLong = handFrame(headers: [], payload: [1, 2, 3])
        headersTooLong[7] = 4  // headers length 4 > total(19) - 16
        headersTooLong.replaceSubrange(8..<12, with: withUnsafeBytes(of: CRC32.checksum(headersTooLong[0..<8]).bigEndian) { Array($0) })
        for bytes in [tooShort, tooLong, headersTooLong] {
            var decoder = AWSEventStreamDecoder()
            #expect(throws: AWSEventStreamError.lengthOutOfRange) { try decoder.feed(bytes) }
        }
    }

    @Test("malformed headers are refused")
    func malformedHeaders() {
        let name: [UInt8] = [1, UInt8(ascii: "x")]
        let frames = [
            handFrame(headers: name + [10]),  // unknown type 10
            handFrame(headers: name + [4, 0, 0]),  // int32 cut short
            handFrame(headers: name + [7, 0, 5, 65]),  // string shorter than its length
            handFrame(headers: [0, 0]),  // empty name
            handFrame(headers: [5, 65]),  // name cut short
            handFrame(headers: name),  // no type byte
            handFrame(headers: name + [7, 0, 1, 0xFF]),  // string that is not UTF-8
        ]
        for frame in frames {
            var decoder = AWSEventStreamDecoder()
            #expect(throws: AWSEventStreamError.malformedHeader) { try decoder.feed(frame) }
        }
    }

    @Test("a realistic Bedrock ConverseStream frame round-trips")
    func bedrockFrame() throws {
        let payload = Array(#"{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"}"#.utf8)
        let frame = try AWSEventStreamDecoder.encode(
            headers: [
                (":event-type", .string("contentBlockDelta")),
                (":content-type", .string("application/json")),
                (":message-type", .string("event")),
            ],
            payload: payload)
        var decoder = AWSEventStreamDecoder()
        let messages = try decoder.feed(frame)
        try #require(messages.count == 1)
        #expect(messages[0].eventType == "contentBlockDelta")
        #expect(messages[0].contentType == "application/json")
        #expect(messages[0].messageType == "event")
        #expect(messages[0].exceptionType == nil)
        #expect(messages[0].payload == payload)
        #expect(messages[0].headerString(":event-type") == "contentBlockDelta")
    }

    @Test("exception and error frames expose their type, code and message headers")
    func exceptionAndErrorFrames() throws {
        let exception = try AWSEventStreamDecoder.encode(
            headers: [(":message-type", .string("exception")), (":exception-type", .string("throttlingException"))],
            payload: Array(#"{"message":"slow down"}"#.utf8))
        let error = try AWSEventStreamDecoder.encode(
            headers: [
                (":message-type", .string("error")), (":error-code", .string("InternalFailure")),
                (":error-message", .string("boom")), ("count", .int32(1)),
            ],
            payload: [])
        var decoder = AWSEventStreamDecoder()
        let messages = try decoder.feed(exception + error)
        try #require(messages.count == 2)
        #expect(messages[0].messageType == "exception")
        #expect(messages[0].exceptionType == "throttlingException")
        #expect(messages[0].eventType == nil)
        #expect(messages[1].messageType == "error")
        #expect(messages[1].errorCode == "InternalFailure")
        #expect(messages[1].errorMessage == "boom")
        #expect(messages[1].headerString("count") == nil)
        #expect(messages[1].headers["count"] == .int32(1))
    }

    @Test("a multi-message buffer decodes the same however it is split", arguments: [1, 2, 3, 7, 12, 64, 100_000])
    func splitting(pieceSize: Int) throws {
        let bedrock = try AWSEventStreamDecoder.encode(
            headers: [(":event-type", .string("messageStop")), (":message-type", .string("event"))],
            payload: Array(#"{"stopReason":"end_turn"}"#.utf8))
        let stream = V.allHeaders + V.emptyMessage + V.int32Header + V.payloadNoHeaders + V.payloadOneStringHeader + bedrock
        var whole = AWSEventStreamDecoder()
        let expected = try whole.feed(stream)
        #expect(expected.count == 6)
        #expect(expected[5].eventType == "messageStop")
        #expect(try decodeAll(stream, pieceSize: pieceSize) == expected)
    }

    @Test("an unfinished message stays buffered until the rest arrives")
    func partial() throws {
        var decoder = AWSEventStreamDecoder()
        #expect(try decoder.feed(V.int32Header.prefix(30)).isEmpty)
        #expect(decoder.hasPartialMessage)
        let messages = try decoder.feed(V.int32Header.dropFirst(30) + V.emptyMessage.prefix(5))
        #expect(messages.count == 1)
        #expect(decoder.hasPartialMessage)
        #expect(try decoder.feed(V.emptyMessage.dropFirst(5)).count == 1)
        #expect(!decoder.hasPartialMessage)
    }

    @Test("headers that cannot be represented are refused when encoding")
    func encodeLimits() {
        #expect(throws: AWSEventStreamError.malformedHeader) {
            try AWSEventStreamDecoder.encode(headers: [("", .bool(true))], payload: [])
        }
        #expect(throws: AWSEventStreamError.malformedHeader) {
            try AWSEventStreamDecoder.encode(headers: [(String(repeating: "n", count: 256), .bool(true))], payload: [])
        }
        #expect(throws: AWSEventStreamError.malformedHeader) {
            try AWSEventStreamDecoder.encode(headers: [("b", .bytes([UInt8](repeating: 0, count: 65_536)))], payload: [])
        }
        #expect(throws: AWSEventStreamError.lengthOutOfRange) {
            try AWSEventStreamDecoder.encode(headers: [], payload: [UInt8](repeating: 0, count: 16 * 1024 * 1024))
        }
    }
}
