/// The standard CRC-32 (IEEE 802.3 / zlib): reflected polynomial `0xEDB88320`, initial value and
/// final XOR `0xFFFFFFFF`. Used by the AWS event-stream framing for its prelude and message checksums.
public enum CRC32 {
    /// The 256-entry lookup table for the reflected polynomial.
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
        }
        return value
    }

    /// The CRC-32 of `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: The data to checksum.
    ///   - initial: A previous checksum to continue from (as zlib's `crc32(crc, ...)`), so that
    ///     `checksum(b, initial: checksum(a)) == checksum(a + b)`. `0` starts afresh.
    /// - Returns: The checksum of everything fed so far.
    public static func checksum(_ bytes: some Sequence<UInt8>, initial: UInt32 = 0) -> UInt32 {
        var crc = ~initial
        for byte in bytes {
            crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return ~crc
    }
}
