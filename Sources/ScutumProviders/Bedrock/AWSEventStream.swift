import Foundation

/// A typed header value of an `application/vnd.amazon.eventstream` message.
public enum AWSEventStreamHeaderValue: Sendable, Hashable {
    /// Wire types 0 (true) and 1 (false).
    case bool(Bool)
    /// Wire type 2.
    case byte(Int8)
    /// Wire type 3.
    case int16(Int16)
    /// Wire type 4.
    case int32(Int32)
    /// Wire type 5.
    case int64(Int64)
    /// Wire type 6: at most 65,535 bytes.
    case bytes([UInt8])
    /// Wire type 7: UTF-8, at most 65,535 bytes.
    case string(String)
    /// Wire type 8: milliseconds since the Unix epoch.
    case timestamp(Int64)
    /// Wire type 9.
    case uuid(UUID)

    /// The value when it is a string, else `nil`.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// Why an event stream could not be decoded. After any of these the decoder stays failed.
public enum AWSEventStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The CRC32 of the first 8 bytes does not match the prelude checksum.
    case preludeChecksumMismatch
    /// The CRC32 of the message does not match its trailing checksum.
    case messageChecksumMismatch
    /// Total length under 16 bytes or over 16 MiB, or headers longer than the message allows.
    case lengthOutOfRange
    /// A header is truncated, has an empty name, an unknown type, or a string that is not UTF-8;
    /// or (when encoding) a header that cannot be represented.
    case malformedHeader

    public var description: String {
        switch self {
        case .preludeChecksumMismatch: "event-stream prelude checksum mismatch"
        case .messageChecksumMismatch: "event-stream message checksum mismatch"
        case .lengthOutOfRange: "event-stream message length out of range"
        case .malformedHeader: "malformed event-stream header"
        }
    }
}

/// One decoded event-stream message.
public struct AWSEventStreamMessage: Sendable, Hashable {
    /// The headers by name; if a name repeats, the last value wins.
    public var headers: [String: AWSEventStreamHeaderValue]
    public var payload: [UInt8]

    public init(headers: [String: AWSEventStreamHeaderValue], payload: [UInt8]) {
        self.headers = headers
        self.payload = payload
    }

    /// The named header's value when it is a string, else `nil`.
    public func headerString(_ name: String) -> String? { headers[name]?.stringValue }

    /// `:event-type`, e.g. `contentBlockDelta`.
    public var eventType: String? { headerString(":event-type") }
    /// `:message-type`: `event`, `exception` or `error`.
    public var messageType: String? { headerString(":message-type") }
    /// `:exception-type` of a `:message-type` `exception`, e.g. `throttlingException`.
    public var exceptionType: String? { headerString(":exception-type") }
    /// `:content-type` of the payload, e.g. `application/json`.
    public var contentType: String? { headerString(":content-type") }
    /// `:error-code` of a `:message-type` `error`.
    public var errorCode: String? { headerString(":error-code") }
    /// `:error-message` of a `:message-type` `error`.
    public var errorMessage: String? { headerString(":error-message") }
}

/// Incremental decoder for `application/vnd.amazon.eventstream` (used by Bedrock's streaming APIs).
///
/// Each message is: total length (4 bytes, big-endian), headers length (4), prelude CRC32 over the
/// first 8 bytes (4), headers, payload, and a CRC32 over everything before it (4). Feed bytes as they
/// arrive, split anywhere; complete messages come back in order. The prelude is checked as soon as
/// its 12 bytes are in, so a corrupt length is refused before anything is buffered for it.
public struct AWSEventStreamDecoder: Sendable {
    /// Prelude (12) plus message CRC (4): the size of a message with no headers and no payload.
    public static let minimumMessageLength = 16
    /// The largest message accepted, 16 MiB.
    public static let maximumMessageLength = 16 * 1024 * 1024

    private var buffer: [UInt8] = []
    private var failure: AWSEventStreamError?

    public init() {}

    /// Whether bytes of an incomplete message are buffered (at the end of the stream: truncation).
    public var hasPartialMessage: Bool { !buffer.isEmpty }

    /// Appends `bytes` and returns every message they complete.
    ///
    /// On an error nothing from this call is returned, the buffer is dropped, and every later call
    /// throws the same error.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(AWSEventStreamError) -> [AWSEventStreamMessage] {
        if let failure { throw failure }
        buffer.append(contentsOf: bytes)
        var messages: [AWSEventStreamMessage] = []
        var start = 0
        do {
            while let (message, end) = try Self.decodeMessage(in: buffer, at: start) {
                messages.append(message)
                start = end
            }
        } catch {
            failure = error
            buffer = []
            throw error
        }
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.count <= 64 * 1024)
        } else if start > 0 {
            buffer.removeSubrange(0..<start)
        }
        return messages
    }

    /// Decodes the message starting at `start`; `nil` when it is not complete yet.
    private static func decodeMessage(
        in buffer: [UInt8], at start: Int
    ) throws(AWSEventStreamError) -> (AWSEventStreamMessage, end: Int)? {
        guard buffer.count - start >= 12 else { return nil }
        let totalLength = Int(readInteger(buffer, at: start, as: UInt32.self))
        let headersLength = Int(readInteger(buffer, at: start + 4, as: UInt32.self))
        let preludeCRC = readInteger(buffer, at: start + 8, as: UInt32.self)
        guard CRC32.checksum(buffer[start..<start + 8]) == preludeCRC else { throw .preludeChecksumMismatch }
        guard totalLength >= minimumMessageLength, totalLength <= maximumMessageLength,
            headersLength <= totalLength - minimumMessageLength
        else { throw .lengthOutOfRange }
        guard buffer.count - start >= totalLength else { return nil }

        let end = start + totalLength
        let messageCRC = readInteger(buffer, at: end - 4, as: UInt32.self)
        guard CRC32.checksum(buffer[start..<end - 4]) == messageCRC else { throw .messageChecksumMismatch }
        let headersEnd = start + 12 + headersLength
        let headers = try decodeHeaders(buffer[(start + 12)..<headersEnd])
        return (AWSEventStreamMessage(headers: headers, payload: Array(buffer[headersEnd..<(end - 4)])), end)
    }

    private static func decodeHeaders(
        _ bytes: ArraySlice<UInt8>
    ) throws(AWSEventStreamError) -> [String: AWSEventStreamHeaderValue] {
        var headers: [String: AWSEventStreamHeaderValue] = [:]
        var index = bytes.startIndex

        func take(_ count: Int) throws(AWSEventStreamError) -> ArraySlice<UInt8> {
            guard count >= 0, bytes.endIndex - index >= count else { throw .malformedHeader }
            defer { index += count }
            return bytes[index..<index + count]
        }
        func integer<T: FixedWidthInteger>(_: T.Type) throws(AWSEventStreamError) -> T {
            let slice = try take(MemoryLayout<T>.size)
            return readInteger(slice, at: slice.startIndex, as: T.self)
        }
        func string(_ raw: ArraySlice<UInt8>) throws(AWSEventStreamError) -> String {
            guard let text = String(validating: raw, as: UTF8.self) else { throw .malformedHeader }
            return text
        }

        while index < bytes.endIndex {
            let nameLength = Int(try integer(UInt8.self))
            guard nameLength > 0 else { throw .malformedHeader }
            let name = try string(try take(nameLength))
            let value: AWSEventStreamHeaderValue
            switch try integer(UInt8.self) {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2: value = .byte(try integer(Int8.self))
            case 3: value = .int16(try integer(Int16.self))
            case 4: value = .int32(try integer(Int32.self))
            case 5: value = .int64(try integer(Int64.self))
            case 6: value = .bytes(Array(try take(Int(try integer(UInt16.self)))))
            case 7: value = .string(try string(try take(Int(try integer(UInt16.self)))))
            case 8: value = .timestamp(try integer(Int64.self))
            case 9:
                let raw = Array(try take(16))
                value = .uuid(UUID(uuid: (
                    raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
                    raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15])))
            default: throw .malformedHeader
            }
            headers[name] = value
        }
        return headers
    }

    /// Encodes one message (headers in the given order).
    ///
    /// Throws ``AWSEventStreamError/malformedHeader`` for an empty name or one over 255 bytes, or a
    /// string/bytes value over 65,535 bytes; ``AWSEventStreamError/lengthOutOfRange`` when the
    /// message would exceed 16 MiB.
    public static func encode(
        headers: [(String, AWSEventStreamHeaderValue)], payload: [UInt8]
    ) throws(AWSEventStreamError) -> [UInt8] {
        var encodedHeaders: [UInt8] = []
        for (name, value) in headers {
            let nameBytes = Array(name.utf8)
            guard (1...255).contains(nameBytes.count) else { throw .malformedHeader }
            encodedHeaders.append(UInt8(nameBytes.count))
            encodedHeaders += nameBytes
            switch value {
            case .bool(let flag): encodedHeaders.append(flag ? 0 : 1)
            case .byte(let number): encodedHeaders.append(2); appendInteger(number, to: &encodedHeaders)
            case .int16(let number): encodedHeaders.append(3); appendInteger(number, to: &encodedHeaders)
            case .int32(let number): encodedHeaders.append(4); appendInteger(number, to: &encodedHeaders)
            case .int64(let number): encodedHeaders.append(5); appendInteger(number, to: &encodedHeaders)
            case .bytes(let raw): try appendVariable(type: 6, raw, to: &encodedHeaders)
            case .string(let text): try appendVariable(type: 7, Array(text.utf8), to: &encodedHeaders)
            case .timestamp(let millis): encodedHeaders.append(8); appendInteger(millis, to: &encodedHeaders)
            case .uuid(let id):
                encodedHeaders.append(9)
                withUnsafeBytes(of: id.uuid) { encodedHeaders += $0 }
            }
        }
        let totalLength = minimumMessageLength + encodedHeaders.count + payload.count
        guard totalLength <= maximumMessageLength else { throw .lengthOutOfRange }

        var message: [UInt8] = []
        message.reserveCapacity(totalLength)
        appendInteger(UInt32(totalLength), to: &message)
        appendInteger(UInt32(encodedHeaders.count), to: &message)
        appendInteger(CRC32.checksum(message), to: &message)
        message += encodedHeaders
        message += payload
        appendInteger(CRC32.checksum(message), to: &message)
        return message
    }

    private static func appendVariable(
        type: UInt8, _ raw: [UInt8], to out: inout [UInt8]
    ) throws(AWSEventStreamError) {
        guard raw.count <= Int(UInt16.max) else { throw .malformedHeader }
        out.append(type)
        appendInteger(UInt16(raw.count), to: &out)
        out += raw
    }

    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out += $0 }
    }

    /// Reads a big-endian integer at absolute index `offset`; the caller guarantees the bytes are there.
    private static func readInteger<T: FixedWidthInteger, Bytes: RandomAccessCollection<UInt8>>(
        _ bytes: Bytes, at offset: Int, as _: T.Type
    ) -> T where Bytes.Index == Int {
        var value: T = 0
        for index in offset..<(offset + MemoryLayout<T>.size) {
            value = value << 8 | T(truncatingIfNeeded: bytes[index])
        }
        return value
    }
}
