/// The response cache's entries in Redis, shared by every node: one string per cached answer under
/// `{namespace}:rcache:{scope}:{model}:{hash}`, with its TTL, so that an operator can delete all of
/// them, or those of some scopes (a key's, a team's) or of one model, by pattern.
///
/// The scope tag and the model are encoded so that neither holds a `:` (see `component(_:)`): every
/// entry's key has exactly three parts after `{namespace}:rcache:`, and a pattern for one team or one
/// model can never match another whose name merely starts the same way.
public struct ResponseCacheStore: Sendable {
    /// Whose requests share entries.
    public enum Scope: Sendable, Hashable, CustomStringConvertible {
        /// Every caller.
        case global
        /// The keys of one team.
        case team(String)
        /// One key.
        case key(String)

        /// The scope's part of an entry's key (encoded: no `:`).
        public var tag: String {
            switch self {
            case .global: "g"
            case .team(let id): "t." + ResponseCacheStore.component(id)
            case .key(let id): "k." + ResponseCacheStore.component(id)
            }
        }

        public var description: String { tag }
    }

    public let redis: RedisClient
    public let namespace: String

    /// Keys are scanned in batches of this many.
    static let scanCount = 1000

    public init(redis: RedisClient, namespace: String) {
        self.redis = redis
        self.namespace = namespace
    }

    /// What every entry's key starts with.
    var prefix: String { "\(namespace):rcache:" }

    /// The Redis key of an entry (`hash` is the hex digest of the normalized request).
    public func key(scope: Scope, model: String, hash: String) -> String {
        "\(prefix)\(scope.tag):\(Self.component(model)):\(hash)"
    }

    /// The entry's bytes, or nil. Errors (Redis unreachable, an error reply) throw `RedisClientError`.
    public func get(_ key: String) async throws -> [UInt8]? {
        switch try await redis.send(["GET", RedisArgument(key)]) {
        case .bulkString(let bytes): bytes
        case .null: nil
        default: throw RedisClientError.protocolError("GET answered with an unexpected reply")
        }
    }

    /// Stores an entry for `ttl` (whole milliseconds, at least one).
    public func set(_ key: String, _ value: [UInt8], ttl: Duration) async throws {
        try await redis.send(["SET", RedisArgument(key), RedisArgument(bytes: value), "PX",
            RedisArgument(Self.milliseconds(ttl))])
    }

    /// Deletes the entries of `scopes` (nil: every scope) for `model` (nil: every model) and answers
    /// how many there were. Walks the keyspace once with `SCAN` (never `KEYS`), unlinking each batch;
    /// with several scopes the keys are matched against all of them in that one walk. In a Redis
    /// Cluster every master's keyspace is walked.
    public func delete(scopes: [Scope]?, model: String?) async throws -> Int {
        if let scopes, scopes.isEmpty { return 0 }
        let tags = scopes.map { Set($0.map(\.tag)) }
        let modelPattern = model.map { Self.escapedForMatch(Self.component($0)) } ?? "*"
        let tagPattern = tags.flatMap { $0.count == 1 ? $0.first.map(Self.escapedForMatch) : nil } ?? "*"
        let pattern = "\(Self.escapedForMatch(prefix))\(tagPattern):\(modelPattern):*"
        let prefixBytes = Array(prefix.utf8)
        var deleted = 0
        // A Redis Cluster's keyspace is split over its masters: each is scanned; `UNLINK` is routed by slot.
        for server in try await redis.masters() {
            var cursor = "0"
            repeat {
                let reply = try await server.send(["SCAN", RedisArgument(cursor), "MATCH", RedisArgument(pattern),
                    "COUNT", RedisArgument(Self.scanCount)])
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let keys = parts[1].array
                else {
                    throw RedisClientError.protocolError("SCAN answered with an unexpected reply")
                }
                cursor = next
                let names = keys.compactMap { key -> [UInt8]? in
                    guard case .bulkString(let bytes) = key else { return nil }
                    guard let tags else { return bytes }
                    return tags.contains(Self.tag(ofKey: bytes, prefix: prefixBytes) ?? "") ? bytes : nil
                }
                if !names.isEmpty {
                    let removed = try await redis.send(["UNLINK"] + names.map { RedisArgument(bytes: $0) })
                    deleted += Int(removed.int ?? 0)
                }
            } while cursor != "0"
        }
        return deleted
    }

    /// The scope tag of an entry's key: the part between the prefix and the next `:`.
    static func tag(ofKey key: [UInt8], prefix: [UInt8]) -> String? {
        guard key.starts(with: prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return String(decoding: rest[..<colon], as: UTF8.self)
    }

    /// `text` as one part of a key: `%` and `:` percent-encoded, so the part holds no `:`.
    static func component(_ text: String) -> String {
        guard text.contains(where: { $0 == ":" || $0 == "%" }) else { return text }
        var encoded = ""
        for character in text {
            switch character {
            case "%": encoded += "%25"
            case ":": encoded += "%3A"
            default: encoded.append(character)
            }
        }
        return encoded
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

    /// `duration` in whole milliseconds, at least one.
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(clamping: seconds &* 1000 &+ attoseconds / 1_000_000_000_000_000))
    }
}
