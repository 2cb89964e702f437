#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Text as UTF-8 bytes; the regex engine and the guardrail detectors read it without copying or
/// bounds-check traps in release.
package typealias Bytes = UnsafeBufferPointer<UInt8>

/// ASCII byte classes the hand-written scanners use. Bytes >= 0x80 (UTF-8 of non-ASCII characters) are
/// never letters or digits here; `isWord` counts them as word characters so a keyword is not found
/// inside a non-ASCII word.
package enum ASCII {
    @inline(__always) package static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }
    @inline(__always) package static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) &- 0x61 < 26 }
    @inline(__always) package static func isUpper(_ byte: UInt8) -> Bool { byte &- 0x41 < 26 }
    @inline(__always) package static func isLower(_ byte: UInt8) -> Bool { byte &- 0x61 < 26 }
    @inline(__always) package static func isAlnum(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) }
    @inline(__always) package static func isHex(_ byte: UInt8) -> Bool { isDigit(byte) || (byte | 0x20) &- 0x61 < 6 }
    @inline(__always) package static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D || byte == 0x0C || byte == 0x0B
    }
    /// Letters, digits, `_` and non-ASCII bytes.
    @inline(__always) package static func isWord(_ byte: UInt8) -> Bool { isAlnum(byte) || byte == 0x5F || byte >= 0x80 }
    @inline(__always) package static func lower(_ byte: UInt8) -> UInt8 { isUpper(byte) ? byte | 0x20 : byte }
    /// The digit's value; only for bytes where `isDigit` holds.
    @inline(__always) package static func digit(_ byte: UInt8) -> Int { Int(byte &- 0x30) }

    /// Whether `text[at...]` starts with `literal`, ASCII case-insensitively (`literal` in lowercase).
    package static func hasPrefix(_ text: Bytes, at index: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index >= 0, index + count <= text.count else { return false }
        let pointer = literal.utf8Start
        for offset in 0..<count where lower(text[index + offset]) != pointer[offset] { return false }
        return true
    }

    /// Whether `text[at...]` starts with `literal` exactly (case-sensitive).
    package static func hasExactPrefix(_ text: Bytes, at index: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index >= 0, index + count <= text.count else { return false }
        let pointer = literal.utf8Start
        for offset in 0..<count where text[index + offset] != pointer[offset] { return false }
        return true
    }

    /// The index of the next `byte` at or after `start`, or `text.count` (libc's vectorized `memchr`).
    package static func next(_ byte: UInt8, in text: Bytes, from start: Int) -> Int {
        guard start < text.count, let base = text.baseAddress else { return text.count }
        guard let found = memchr(base + start, Int32(byte), text.count - start) else { return text.count }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// Whether the byte before `index` is absent or not in `isWord`.
    @inline(__always) package static func wordStarts(_ text: Bytes, at index: Int) -> Bool {
        index == 0 || !isWord(text[index - 1])
    }

    /// Whether the byte at `index` is absent or not in `isWord`.
    @inline(__always) package static func wordEnds(_ text: Bytes, at index: Int) -> Bool {
        index >= text.count || !isWord(text[index])
    }
}
