/// A reply from Redis (RESP2).
public enum RedisValue: Sendable, Hashable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString([UInt8])
    case array([RedisValue])
    case null

    /// Integers, and strings that hold one.
    public var int: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulkString(let bytes): return Int64(String(decoding: bytes, as: UTF8.self))
        case .simpleString(let text): return Int64(text)
        default: return nil
        }
    }

    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .integer(let value): return String(value)
        default: return nil
        }
    }

    /// A string's bytes as Redis holds them (binary ones too, which `string` would mangle).
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): return bytes
        case .simpleString(let text): return Array(text.utf8)
        default: return nil
        }
    }

    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }
}

/// Failures of the Redis client.
public enum RedisClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Redis answered with an error reply.
    case server(String)
    /// No reply within the command timeout; the connection is dropped.
    case timeout
    /// The connection closed or could not be opened.
    case connectionClosed(String)
    /// The reply stream could not be parsed.
    case protocolError(String)
    /// Redis was unreachable a moment ago; the client is backing off before retrying.
    case unavailable(String)

    public var description: String {
        switch self {
        case .server(let message): "redis error: \(message)"
        case .timeout: "redis timed out"
        case .connectionClosed(let reason): "redis connection closed: \(reason)"
        case .protocolError(let reason): "redis protocol error: \(reason)"
        case .unavailable(let reason): "redis unavailable: \(reason)"
        }
    }
}
