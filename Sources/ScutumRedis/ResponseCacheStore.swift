/// The response cache's entries in Redis, shared by every node: one string per cached answer under
/// `{namespace}:rcache:{scope}:{model}:{hash}`, with its TTL, so that an operator can delete all of
/// them, or those of one scope (a key's, a team's) or one model, by pattern.
public struct ResponseCacheStore: Sendable {
    /// Whose requests share entries.
    public enum Scope: Sendable, Hashable, CustomStringConvertible {
        /// Every caller.
        case global
        /// The keys of one team.
        case team(String)
        /// One key.
        case key(String)

        /// The scope's part of an entry's key.
        public var tag: String {
            switch self {
            case .global: "g"
            case .team(let id): "t." + id
            case .key(let id): "k." + id
            }
        }

        public var description: String { tag }
    }

    public let redis: RedisClient
    public let namespace: String

    public init(redis: RedisClient, namespace: String) {
        self.redis = redis
        self.namespace = namespace
    }

    /// The Redis key of an entry.
    public func key(scope: Scope, model: String, hash: String) -> String {
        "\(namespace):rcache:\(scope.tag):\(model):\(hash)"
    }

    /// The entry's bytes, or nil.
    public func get(_ key: String) async throws -> [UInt8]? {
        switch try await redis.send(["GET", RedisArgument(key)]) {
        case .bulkString(let bytes): return bytes
        case .null: return nil
        case .error(let message): throw RedisClientError.server(message)
        default: throw RedisClientError.protocolError("GET answered with an unexpected reply")
        }
    }

    /// Stores an entry for `ttl` (whole milliseconds, at least one).
    public func set(_ key: String, _ value: [UInt8], ttl: Duration) async throws {
        let milliseconds = max(1, Int(ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000))
        let reply = try await redis.send(["SET", RedisArgument(key), RedisArgument(bytes: value), "PX",
            RedisArgument(milliseconds)])
        if case .error(let message) = reply { throw RedisClientError.server(message) }
    }

    /// Deletes the entries of `scopes` (nil: every scope) for `model` (nil: every model); how many.
    /// Walks the keyspace with `SCAN` (never `KEYS`), unlinking each batch.
    public func delete(scopes: [Scope]?, model: String?) async throws -> Int {
        let modelPattern = model.map(Self.escapedForMatch) ?? "*"
        let patterns = (scopes?.map { Self.escapedForMatch($0.tag) } ?? ["*"]).map {
            "\(Self.escapedForMatch(namespace)):rcache:\($0):\(modelPattern):*"
        }
        var deleted = 0
        for pattern in patterns {
            var cursor = "0"
            repeat {
                let reply = try await redis.send(["SCAN", RedisArgument(cursor), "MATCH", RedisArgument(pattern),
                    "COUNT", 500])
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let keys = parts[1].array else {
                    if case .error(let message) = reply { throw RedisClientError.server(message) }
                    throw RedisClientError.protocolError("SCAN answered with an unexpected reply")
                }
                cursor = next
                let names = keys.compactMap(\.string)
                if !names.isEmpty {
                    let removed = try await redis.send(["UNLINK"] + names.map { RedisArgument($0) })
                    deleted += Int(removed.int ?? 0)
                }
            } while cursor != "0"
        }
        return deleted
    }

    /// `text` with the glob characters of `SCAN MATCH` escaped.
    static func escapedForMatch(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
