import Foundation
import ScutumRedis
import ScutumTestSupport
import Testing

@Suite("Redis scripts")
struct RedisScriptTests {
    @Test("the SHA-1 is the one Redis computes")
    func sha1() async throws {
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        try await withTestRedis { redis in
            let source = "-- \(uniqueKeyPrefix())\nreturn 2"
            let loaded = try await redis.send(["SCRIPT", "LOAD", RedisArgument(source)])
            #expect(loaded.string == RedisScript(source).sha1)
        }
    }

    @Test("EVALSHA falls back to EVAL when the server has not seen the script, and again after SCRIPT FLUSH")
    func loadsAndReloads() async throws {
        try await withTestRedisKeys { redis, prefix in
            // A source no other test uses, so that the server cannot know it yet.
            let script = RedisScript("-- \(prefix)\nreturn {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}")
            let key = prefix + "counter"
            let exists: [RedisArgument] = ["SCRIPT", "EXISTS", RedisArgument(script.sha1)]
            // Scripts are per node: asked where the key lives (the server itself outside a Redis Cluster).
            let server = try await redis.client(forKey: key)
            #expect(try await server.send(exists) == .array([.integer(0)]))

            #expect(try await redis.eval(script, keys: [key], arguments: ["a"])
                == .array([.bulk(key), .bulk("a"), .integer(1)]))
            #expect(try await server.send(exists) == .array([.integer(1)]), "EVAL did not cache the script")
            #expect(try await redis.eval(script, keys: [key], arguments: ["b"])
                == .array([.bulk(key), .bulk("b"), .integer(2)]))

            #expect(try await redis.send(["SCRIPT", "FLUSH"]) == .simpleString("OK"))
            #expect(try await server.send(exists) == .array([.integer(0)]))
            #expect(try await redis.eval(script, keys: [key], arguments: [RedisArgument(7)])
                == .array([.bulk(key), .bulk("7"), .integer(3)]))
            #expect(try await server.send(exists) == .array([.integer(1)]))
            try await redis.send(["DEL", RedisArgument(key)])
        }
    }

    @Test("a pipeline where only some commands got NOSCRIPT sends again only those: the others ran once")
    func partialNoScript() async throws {
        try await withTestRedisKeys { redis, prefix in
            let known = RedisScript("-- \(prefix) known\nreturn redis.call('INCR', KEYS[1])")
            let unknown = RedisScript("-- \(prefix) unknown\nreturn redis.call('INCR', KEYS[1])")
            let (a, b, c) = (prefix + "a", prefix + "b", prefix + "c")
            // One script known to a's server, the other new to every server (as on a Redis Cluster master
            // promoted from a replica: scripts are not copied to replicas).
            _ = try await redis.client(forKey: a).send(["SCRIPT", "LOAD", RedisArgument(known.source)])
            let replies = try await redis.pipeline([
                ["EVALSHA", RedisArgument(known.sha1), 1, RedisArgument(a)],
                ["EVALSHA", RedisArgument(unknown.sha1), 1, RedisArgument(b)],
                ["INCR", RedisArgument(c)],
            ], loading: [known, unknown])
            #expect(replies == [.integer(1), .integer(1), .integer(1)])
            for key in [a, b, c] { #expect(try await redis.send(["GET", RedisArgument(key)]).string == "1", "\(key)") }
            try await redis.send(["DEL", RedisArgument(a)])
            try await redis.send(["DEL", RedisArgument(b)])
            try await redis.send(["DEL", RedisArgument(c)])
        }
    }

    @Test("scripts with several keys and binary arguments")
    func keysAndArguments() async throws {
        try await withTestRedisKeys { redis, prefix in
            let script = RedisScript(
                "redis.call('SET', KEYS[1], ARGV[1]) redis.call('SET', KEYS[2], ARGV[2]) return {#KEYS, #ARGV, redis.call('STRLEN', KEYS[1])}"
            )
            let binary: [UInt8] = [0, 13, 10, 255]
            // One hash tag: a script's keys must share a slot in a Redis Cluster.
            let (a, b) = ("{\(prefix)}a", "{\(prefix)}b")
            let reply = try await redis.eval(script, keys: [a, b],
                arguments: [RedisArgument(bytes: binary), "x", "unused"])
            #expect(reply == .array([.integer(2), .integer(3), .integer(4)]))
            #expect(try await redis.send(["GET", RedisArgument(a)]) == .bulkString(binary))
            #expect(try await redis.eval(RedisScript("return #KEYS"), keys: [], arguments: []) == .integer(0))
            try await redis.send(["DEL", RedisArgument(a), RedisArgument(b)])
        }
    }

    @Test("script failures surface as server errors, on the EVAL and the EVALSHA path alike")
    func scriptErrors() async throws {
        try await withTestRedis { redis in
            let tag = uniqueKeyPrefix()
            let failing = RedisScript("-- \(tag)\nreturn redis.error_reply('quota exceeded')")
            for attempt in 1...2 {
                let error = await redisError { _ = try await redis.eval(failing, keys: [], arguments: []) }
                #expect(error == .server("quota exceeded"), "attempt \(attempt)")
            }

            let badCall = RedisScript("-- \(tag)\nreturn redis.call('NOSUCHCOMMAND')")
            let callError = await redisError { _ = try await redis.eval(badCall, keys: [], arguments: []) }
            guard case .server = callError else {
                Issue.record("expected .server, got \(String(describing: callError))")
                return
            }

            let syntax = RedisScript("-- \(tag)\nreturn {")
            let syntaxError = await redisError { _ = try await redis.eval(syntax, keys: [], arguments: []) }
            guard case .server(let message) = syntaxError else {
                Issue.record("expected .server, got \(String(describing: syntaxError))")
                return
            }
            #expect(message.contains("compiling"), "\(message)")
            try await redis.ping()
        }
    }
}
