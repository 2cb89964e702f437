import Foundation
import ScutumRedis
import ScutumTestSupport
import Testing

extension RedisValue {
    static func bulk(_ text: String) -> RedisValue { .bulkString(Array(text.utf8)) }
}

/// Runs `body` and returns the `RedisClientError` it throws, recording an issue if it throws
/// nothing or something else.
func redisError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async
    -> RedisClientError?
{
    do {
        try await body()
        Issue.record("expected a RedisClientError, got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as RedisClientError {
        return error
    } catch {
        Issue.record("expected a RedisClientError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

@Suite("Redis client against the test server", .timeLimit(.minutes(1)))
struct RedisClientTests {
    @Test("SET, GET, INCR, EXPIRE, TTL, DEL round trips")
    func roundTrips() async throws {
        try await withTestRedisKeys { redis, prefix in
            let key = RedisArgument(prefix + "k")
            let counter = RedisArgument(prefix + "n")
            #expect(try await redis.send(["SET", key, "value"]) == .simpleString("OK"))
            #expect(try await redis.send(["GET", key]) == .bulk("value"))
            #expect(try await redis.send(["GET", key]).string == "value")
            #expect(try await redis.send(["INCR", counter]) == .integer(1))
            #expect(try await redis.send(["INCRBY", counter, 41]) == .integer(42))
            #expect(try await redis.send(["DECRBY", counter, 50]) == .integer(-8))
            #expect(try await redis.send(["GET", counter]).int == -8)
            #expect(try await redis.send(["EXPIRE", key, 100]) == .integer(1))
            let ttl = try #require(try await redis.send(["TTL", key]).int)
            #expect((1...100).contains(ttl))
            #expect(try await redis.send(["EXPIRE", RedisArgument(prefix + "missing"), 100]) == .integer(0))
            #expect(try await redis.send(["TTL", counter]) == .integer(-1))
            #expect(try await redis.send(["DEL", key, counter, RedisArgument(prefix + "missing")]) == .integer(2))
            #expect(try await redis.send(["GET", key]) == .null)
            #expect(try await redis.send(["EXISTS", key, counter]) == .integer(0))
        }
    }

    @Test("a key with a millisecond expiry disappears")
    func expiry() async throws {
        try await withTestRedisKeys { redis, prefix in
            let key = RedisArgument(prefix + "short")
            #expect(try await redis.send(["SET", key, "x", "PX", 5000]) == .simpleString("OK"))
            #expect(try await redis.send(["GET", key]) == .bulk("x"))
            let pttl = try #require(try await redis.send(["PTTL", key]).int)
            #expect((1...5000).contains(pttl))
            #expect(try await redis.send(["PEXPIRE", key, 20]) == .integer(1))
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await redis.send(["GET", key]) == .null)
        }
    }

    @Test("a missing key is null, an empty string is an empty bulk string")
    func nullVersusEmpty() async throws {
        try await withTestRedisKeys { redis, prefix in
            #expect(try await redis.send(["GET", RedisArgument(prefix + "none")]) == .null)
            #expect(try await redis.send(["GET", RedisArgument(prefix + "none")]).string == nil)
            try await redis.send(["SET", RedisArgument(prefix + "empty"), ""])
            #expect(try await redis.send(["GET", RedisArgument(prefix + "empty")]) == .bulkString([]))
            #expect(try await redis.send(["GET", RedisArgument(prefix + "empty")]).string == "")
            #expect(try await redis.send(["HGETALL", RedisArgument(prefix + "none")]) == .array([]))
            #expect(try await redis.send(["MGET", RedisArgument(prefix + "none"), RedisArgument(prefix + "empty")])
                == .array([.null, .bulkString([])]))
        }
    }

    @Test("error replies throw RedisClientError.server with Redis's message")
    func errorReplies() async throws {
        try await withTestRedisKeys { redis, prefix in
            try await redis.send(["SET", RedisArgument(prefix + "text"), "abc"])
            let notInteger = await redisError { try await redis.send(["INCR", RedisArgument(prefix + "text")]) }
            guard case .server(let message) = notInteger else {
                Issue.record("expected .server, got \(String(describing: notInteger))")
                return
            }
            #expect(message.hasPrefix("ERR value is not an integer"))

            let unknown = await redisError { try await redis.send(["NOSUCHCOMMAND", "x"]) }
            #expect(unknown.map { "\($0)" }?.contains("unknown command") == true, "\(String(describing: unknown))")

            let arity = await redisError { try await redis.send(["GET"]) }
            #expect(arity.map { "\($0)" }?.contains("wrong number of arguments") == true)

            try await redis.send(["LPUSH", RedisArgument(prefix + "list"), "a"])
            let wrongType = await redisError { try await redis.send(["GET", RedisArgument(prefix + "list")]) }
            guard case .server(let typeMessage) = wrongType else {
                Issue.record("expected .server, got \(String(describing: wrongType))")
                return
            }
            #expect(typeMessage.hasPrefix("WRONGTYPE"))
            #expect(RedisClientError.server("X").description == "redis error: X")

            // The connection is still good after error replies.
            try await redis.ping()
            #expect(try await redis.send(["GET", RedisArgument(prefix + "text")]) == .bulk("abc"))
        }
    }

    @Test("a pipeline returns error replies in place instead of throwing")
    func pipelineErrors() async throws {
        try await withTestRedisKeys { redis, prefix in
            let replies = try await redis.pipeline([
                ["SET", RedisArgument(prefix + "a"), "1"],
                ["LPUSH", RedisArgument(prefix + "a"), "x"],
                ["INCR", RedisArgument(prefix + "a")],
                ["GET", RedisArgument(prefix + "a")],
            ])
            try #require(replies.count == 4)
            #expect(replies[0] == .simpleString("OK"))
            guard case .error(let message) = replies[1] else {
                Issue.record("expected an error reply, got \(replies[1])")
                return
            }
            #expect(message.hasPrefix("WRONGTYPE"))
            #expect(replies[2] == .integer(2))
            #expect(replies[3] == .bulk("2"))
        }
    }

    @Test("values and keys are binary safe: CR, LF, NUL and every byte")
    func binarySafe() async throws {
        try await withTestRedisKeys { redis, prefix in
            var value = Array(UInt8.min...UInt8.max)
            value += Array("\r\n$3\r\nGET\r\n*1\r\n".utf8) + [0, 0, 13, 10, 0]
            let key = RedisArgument(bytes: Array(prefix.utf8) + [0, 13, 10, 0xFF, 0x00])
            let set = try await redis.send(["SET", key, RedisArgument(bytes: value)])
            #expect(set == .simpleString("OK"))
            #expect(try await redis.send(["GET", key]) == .bulkString(value))
            #expect(try await redis.send(["STRLEN", key]) == .integer(Int64(value.count)))
            // The key with the NUL is distinct from its prefix.
            #expect(try await redis.send(["GET", RedisArgument(bytes: Array(prefix.utf8))]) == .null)
            #expect(try await redis.send(["DEL", key]) == .integer(1))
        }
    }

    @Test("a 1 MiB value round-trips intact")
    func largeValue() async throws {
        try await withTestRedisKeys { redis, prefix in
            let key = RedisArgument(prefix + "large")
            // Every byte value, in an order that does not repeat with a short period.
            let seed = UInt64.random(in: 1 ... .max)
            let value = (0..<UInt64(1 << 20)).map { UInt8(truncatingIfNeeded: ($0 &+ seed) &* 0x9E37_79B9_7F4A_7C15 >> 56) }
            try await redis.send(["SET", key, RedisArgument(bytes: value)])
            let reply = try await redis.send(["GET", key])
            guard case .bulkString(let bytes) = reply else {
                Issue.record("expected a bulk string, got \(reply)")
                return
            }
            #expect(bytes.count == value.count)
            #expect(bytes == value)
            #expect(try await redis.send(["GETRANGE", key, 1000, 1003]) == .bulkString(Array(value[1000...1003])))
            try await redis.send(["DEL", key])
        }
    }

    @Test("a pipeline of 1000 commands answers in order")
    func bigPipeline() async throws {
        try await withTestRedisKeys { redis, prefix in
            let counter = RedisArgument(prefix + "counter")
            let increments = try await redis.pipeline(Array(repeating: ["INCR", counter], count: 1000))
            #expect(increments == (1...1000).map { RedisValue.integer(Int64($0)) })

            let sets = try await redis.pipeline((0..<1000).map { ["SET", RedisArgument(prefix + "k\($0)"), RedisArgument("v\($0)")] })
            #expect(sets.count == 1000)
            #expect(sets.allSatisfy { $0 == .simpleString("OK") })
            let gets = try await redis.pipeline((0..<1000).reversed().map { ["GET", RedisArgument(prefix + "k\($0)")] })
            #expect(gets == (0..<1000).reversed().map { RedisValue.bulk("v\($0)") })
            try await redis.send(["DEL", counter] + (0..<1000).map { RedisArgument(prefix + "k\($0)") })
        }
    }

    @Test("an empty pipeline returns no replies at once")
    func emptyPipeline() async throws {
        try await withTestRedis(configuration: singleConnection(commandTimeoutMilliseconds: 1000)) { redis in
            do {
                let clock = ContinuousClock()
                let start = clock.now
                let replies = try await redis.pipeline([])
                #expect(replies == [])
                #expect(clock.now - start < .milliseconds(100))
            }
            try await Task.sleep(for: .milliseconds(50))
            try await redis.ping()
        }
    }

    @Test("200 concurrent callers each get their own reply")
    func concurrentSends() async throws {
        try await withTestRedisKeys { redis, prefix in
            let counter = RedisArgument(prefix + "counter")
            let results = try await withThrowingTaskGroup(of: (Int, RedisValue, RedisValue).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let key = RedisArgument(prefix + "task\(index)")
                        try await redis.send(["SET", key, RedisArgument("value-\(index)")])
                        try await redis.send(["INCR", counter])
                        let single = try await redis.send(["GET", key])
                        let piped = try await redis.pipeline([["ECHO", RedisArgument("echo-\(index)")], ["GET", key]])
                        return (index, single, .array(piped))
                    }
                }
                var results: [(Int, RedisValue, RedisValue)] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(results.count == 200)
            for (index, single, piped) in results {
                #expect(single == .bulk("value-\(index)"))
                #expect(piped == .array([.bulk("echo-\(index)"), .bulk("value-\(index)")]))
            }
            #expect(try await redis.send(["GET", counter]).int == 200)
        }
    }

    @Test("PING answers PONG")
    func ping() async throws {
        try await withTestRedis { redis in
            try await redis.ping()
            #expect(try await redis.send(["PING"]) == .simpleString("PONG"))
            #expect(try await redis.send(["PING", "hello"]) == .bulk("hello"))
        }
    }

    @Test("nested array replies keep their structure, nulls included")
    func nestedArrays() async throws {
        try await withTestRedisKeys { redis, prefix in
            let script = "return {1, {2, {3, 'x', {}}}, 'y', {false, 'z'}}"
            let reply = try await redis.send(["EVAL", RedisArgument(script), 0])
            #expect(reply == .array([
                .integer(1),
                .array([.integer(2), .array([.integer(3), .bulk("x"), .array([])])]),
                .bulk("y"),
                .array([.null, .bulk("z")]),
            ]))

            // One hash tag: a transaction's keys must share a slot in a Redis Cluster.
            let (counter, missing) = ("{\(prefix)}t", "{\(prefix)}none")
            let replies = try await redis.pipeline([
                ["MULTI"],
                ["SET", RedisArgument(counter), "1"],
                ["INCR", RedisArgument(counter)],
                ["LRANGE", RedisArgument(missing), 0, -1],
                ["GET", RedisArgument(missing)],
                ["EXEC"],
            ])
            #expect(replies == [
                .simpleString("OK"), .simpleString("QUEUED"), .simpleString("QUEUED"), .simpleString("QUEUED"),
                .simpleString("QUEUED"),
                .array([.simpleString("OK"), .integer(2), .array([]), .null]),
            ])
            try await redis.send(["DEL", RedisArgument(counter)])
        }
    }

    @Test("a reply nested deeper than the codec allows fails cleanly and the client recovers")
    func tooDeep() async throws {
        try await withTestRedis(configuration: singleConnection()) { redis in
            let script = "local t = 'leaf' for i = 1, 12 do t = {t} end return t"
            do {
                let reply = try await redis.send(["EVAL", RedisArgument(script), 0])
                // A codec that supports the depth must return it intact.
                var depth = 0
                var node = reply
                while case .array(let items) = node, items.count == 1 {
                    depth += 1
                    node = items[0]
                }
                #expect(depth == 12 && node == .bulk("leaf"), "\(reply)")
            } catch let error as RedisClientError {
                guard case .protocolError = error else {
                    Issue.record("expected a protocol error, got \(error)")
                    return
                }
            }
            // The connection is dropped after a protocol error; let the event loop finish closing it
            // (a command sent in that instant is lost: see `sendWhileClosing`). Over TLS the close waits
            // for the peer's close_notify, so give it up to 2 s rather than a fixed moment.
            var pinged = false
            let deadline = ContinuousClock.now + .seconds(2)
            while !pinged && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                pinged = (try? await redis.ping()) != nil
            }
            #expect(pinged, "the client never recovered")
            #expect(try await redis.send(["ECHO", "after"]) == .bulk("after"))
        }
    }
}

/// The test server's configuration with one connection, so that every command shares it.
func singleConnection(commandTimeoutMilliseconds: Int64? = nil) -> RedisConfiguration {
    var configuration = TestEnvironment.redisConfiguration
    configuration.connectionCount = 1
    if let commandTimeoutMilliseconds {
        configuration.commandTimeout = .milliseconds(commandTimeoutMilliseconds)
    }
    return configuration
}
