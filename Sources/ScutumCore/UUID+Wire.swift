import Foundation

extension UUID {
    /// The id as the APIs write it and PostgreSQL prints it: lowercase, with hyphens
    /// (`UUID.uuidString` is uppercase). Key ids, budget ids, guardrail ids... all go out this way.
    public var wire: String { uuidString.lowercased() }

    /// A random (version 4) UUID in its `wire` form, made without Foundation: `UUID()` on Linux
    /// opens, reads and closes `/dev/urandom` each time (three system calls, about 3 µs), and every
    /// request takes an id. This is one `getrandom` and a 36-byte string.
    public static func randomWire() -> String {
        var generator = SystemRandomNumberGenerator()
        var high: UInt64 = generator.next()
        var low: UInt64 = generator.next()
        high = (high & ~0xF000) | 0x4000  // version 4 (bits 48...51 of the 128)
        low = (low & ~(0xC000 << 48)) | (0x8000 << 48)  // variant 10xx
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    buffer[index] = UInt8(ascii: "-")
                    index += 1
                }
                let word = nibble < 16 ? high : low
                let shift = UInt64(4 * (15 - nibble % 16))
                buffer[index] = digits.utf8Start[Int((word >> shift) & 0xF)]
                index += 1
            }
            return index
        }
    }
}
