/// AWS's binary event-stream framing (`application/vnd.amazon.eventstream`): each message is
/// total length (4 bytes, big-endian), headers length (4), prelude CRC32 (4), headers, payload
/// and message CRC32 (4). Headers here are all strings: name length (1), name, type 7, value
/// length (2, big-endian), value.
enum EventStreamWriter {
    /// One message; `corruptMessageCRC` writes a wrong message checksum (the malformed knob).
    static func frame(headers: [(String, String)], payload: [UInt8], corruptMessageCRC: Bool = false) -> [UInt8] {
        var headerBytes: [UInt8] = []
        for (name, value) in headers {
            let nameBytes = Array(name.utf8)
            let valueBytes = Array(value.utf8)
            headerBytes.append(UInt8(truncatingIfNeeded: nameBytes.count))
            headerBytes += nameBytes
            headerBytes.append(7)
            headerBytes += [UInt8(truncatingIfNeeded: valueBytes.count >> 8), UInt8(truncatingIfNeeded: valueBytes.count)]
            headerBytes += valueBytes
        }
        var message = bigEndian(UInt32(12 + headerBytes.count + payload.count + 4)) + bigEndian(UInt32(headerBytes.count))
        message += bigEndian(crc32(message))
        message += headerBytes
        message += payload
        let checksum = crc32(message)
        message += bigEndian(corruptMessageCRC ? ~checksum : checksum)
        return message
    }

    /// An event message (`:message-type` `event`) with a JSON payload.
    static func event(_ type: String, json: String, corruptMessageCRC: Bool = false) -> [UInt8] {
        frame(headers: [(":event-type", type), (":content-type", "application/json"), (":message-type", "event")],
            payload: Array(json.utf8), corruptMessageCRC: corruptMessageCRC)
    }

    /// An exception message (`:message-type` `exception`).
    static func exception(_ type: String, message: String) -> [UInt8] {
        frame(headers: [(":exception-type", type), (":content-type", "application/json"), (":message-type", "exception")],
            payload: Array(#"{"message":\#(JSONText.quote(message))}"#.utf8))
    }

    /// CRC-32 (IEEE 802.3, as zlib computes it), bit by bit.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}
