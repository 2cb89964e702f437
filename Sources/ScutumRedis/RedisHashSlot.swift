/// Redis Cluster's hash slots: CRC16 (XMODEM) of a key, or of its hash tag, modulo 16384.
public enum RedisHashSlot {
    /// Slots in a Redis Cluster.
    public static let count = 16_384

    /// The slot of `key`: when the key holds a `{` followed later by a `}` with at least one byte
    /// between them, only the bytes between the first `{` and the first `}` after it are hashed
    /// (`{tenant}:a` and `{tenant}:b` share a slot; `{}x` hashes whole).
    public static func slot<Key: Collection<UInt8>>(of key: Key) -> Int {
        if let open = key.firstIndex(of: UInt8(ascii: "{")) {
            let afterOpen = key.index(after: open)
            if let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen {
                return Int(crc16(key[afterOpen..<close])) & (count - 1)
            }
        }
        return Int(crc16(key)) & (count - 1)
    }

    /// The slot of a string key.
    public static func slot(of key: String) -> Int { slot(of: Array(key.utf8)) }

    /// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as Redis Cluster uses it.
    public static func crc16<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}

/// Where a command's keys are, for routing it in a Redis Cluster.
enum RedisCommandKeys: Equatable {
    /// No key: any master may run it.
    case keyless
    /// Every master must run it (`SCRIPT LOAD`, `SCRIPT FLUSH`, `FLUSHDB`): scripts and data are per node.
    case everyMaster
    /// The arguments at these positions are keys (one slot, or the server answers `CROSSSLOT`).
    case keys([Int])
    /// Every argument from position 1 on is a key, and the command may be split by slot and its
    /// replies merged (`MGET`: arrays concatenated; `DEL`, `UNLINK`, `EXISTS`, `TOUCH`: counts summed).
    case splittable(Merge)

    enum Merge: Equatable {
        case concatenate
        case sum
    }

    /// The key positions of `command` (the table covers what Scutum sends; any other command is
    /// taken to have its key at position 1, if it has arguments).
    static func of(_ command: [RedisArgument]) -> RedisCommandKeys {
        guard let name = command.first?.bytes else { return .keyless }
        switch upper(name) {
        case "PING", "INFO", "PUBLISH", "ECHO", "TIME", "CLIENT", "CLUSTER", "DBSIZE", "SCAN", "KEYS", "READONLY",
            "READWRITE", "ASKING", "CONFIG", "COMMAND", "LASTSAVE", "ROLE", "MULTI", "EXEC", "DISCARD", "FUNCTION":
            return .keyless
        case "FLUSHDB", "FLUSHALL":
            return .everyMaster
        case "SCRIPT":
            guard command.count > 1 else { return .keyless }
            switch upper(command[1].bytes) {
            case "LOAD", "FLUSH": return .everyMaster
            default: return .keyless
            }
        case "MGET":
            return .splittable(.concatenate)
        case "DEL", "UNLINK", "EXISTS", "TOUCH":
            return .splittable(.sum)
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard command.count > 2, let count = Int(String(decoding: command[2].bytes, as: UTF8.self)), count > 0,
                command.count >= 3 + count
            else { return .keyless }
            return .keys(Array(3..<(3 + count)))
        case "XREAD", "XREADGROUP":
            guard let streams = command.firstIndex(where: { upper($0.bytes) == "STREAMS" }) else { return .keyless }
            let count = (command.count - streams - 1) / 2
            return count > 0 ? .keys(Array((streams + 1)...(streams + count))) : .keyless
        case "XGROUP", "XINFO", "OBJECT":
            return command.count > 2 ? .keys([2]) : .keyless
        case "MSET", "MSETNX":
            return .keys(Array(stride(from: 1, to: command.count, by: 2)))
        case "RENAME", "RENAMENX", "SMOVE", "LMOVE", "RPOPLPUSH", "COPY":
            return command.count > 2 ? .keys([1, 2]) : .keyless
        default:
            return command.count > 1 ? .keys([1]) : .keyless
        }
    }

    private static func upper(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self)
    }
}
