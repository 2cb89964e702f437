import Foundation
import ScutumRedis
import ScutumTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body` with a loopback port that has a socket bound to it but not listening, so that
/// connecting is refused and nothing else can take the port meanwhile.
func withRefusingPort<T>(_ body: (Int) async throws -> T) async throws -> T {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    try #require(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
            bind(fd, address, length) == 0 && getsockname(fd, address, &length) == 0
        }
    }
    try #require(bound)
    return try await body(Int(UInt16(bigEndian: address.sin_port)))
}

@Suite("Redis connections: timeouts, failures, reconnects", .timeLimit(.minutes(1)))
struct RedisConnectionTests {
    let clock = ContinuousClock()

    @Test("a command that outlives the timeout fails with .timeout and the client recovers")
    func commandTimeout() async throws {
        try await withTestRedisKeys(configuration: singleConnection(commandTimeoutMilliseconds: 1000)) { redis, prefix in
            let list = RedisArgument(prefix + "empty-list")
            let start = clock.now
            // BLPOP on an empty list blocks for 10 s; DEBUG SLEEP is disabled on stock servers.
            let error = await redisError { try await redis.send(["BLPOP", list, 10]) }
            let elapsed = clock.now - start
            #expect(error == .timeout)
            #expect(elapsed >= .milliseconds(950) && elapsed < .seconds(5), "took \(elapsed)")

            // The next commands work, on a fresh connection. A command sent while the old one is still
            // closing fails at once (see `sendWhileClosing`); over TLS, whose close waits for the
            // server's close_notify, that can last longer on a loaded machine: ask again for up to 5 s.
            let deadline = clock.now + .seconds(5)
            while (try? await redis.ping()) == nil, clock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            try await redis.ping()
            try await redis.send(["SET", RedisArgument(prefix + "k"), "fresh"])
            #expect(try await redis.send(["GET", RedisArgument(prefix + "k")]) == .bulk("fresh"))
            try await redis.send(["DEL", RedisArgument(prefix + "k")])
        }
    }

    @Test("commands queued behind a timed-out one on its connection fail too, then all is well")
    func timeoutFailsQueued() async throws {
        // The timeout leaves room for the GET to be queued behind the BLPOP even on a loaded CI machine.
        try await withTestRedisKeys(configuration: singleConnection(commandTimeoutMilliseconds: 3000)) { redis, prefix in
            let clock = self.clock
            let start = clock.now
            async let blocked = redisError { try await redis.send(["BLPOP", RedisArgument(prefix + "l"), 10]) }
            try await Task.sleep(for: .milliseconds(100))
            async let queued = redisError { try await redis.send(["GET", RedisArgument(prefix + "k")]) }
            let (first, second) = await (blocked, queued)
            #expect(first == .timeout)
            #expect(second == .timeout)
            #expect(clock.now - start < .seconds(8))
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await redis.send(["GET", RedisArgument(prefix + "k")]) == .null)
        }
    }

    @Test("a command sent as its connection is being closed fails at once or succeeds, never hangs")
    func sendWhileClosing() async throws {
        // A timeout long enough that a loaded CI machine does not time out the ECHO itself.
        try await withTestRedisKeys(configuration: singleConnection(commandTimeoutMilliseconds: 2500)) { redis, prefix in
            let clock = self.clock
            do {
                for _ in 0..<3 {
                    let timedOut = await redisError { try await redis.send(["BLPOP", RedisArgument(prefix + "l"), 10]) }
                    #expect(timedOut == .timeout)
                    // Sent while the event loop is closing the connection that just timed out.
                    let start = clock.now
                    do {
                        try await redis.send(["ECHO", "next"])
                    } catch let error as RedisClientError {
                        #expect(error != .timeout, "the command was lost on the closing connection")
                    }
                    #expect(clock.now - start < .seconds(5), "took \(clock.now - start)")
                }
            }
        }
    }

    @Test("a refused connection fails fast with a clear error, then backs off without retrying")
    func connectionRefused() async throws {
        try await withRefusingPort { port in
            let redis = RedisClient(
                configuration: RedisConfiguration(
                    host: "127.0.0.1", port: port, connectionCount: 1, commandTimeout: .seconds(5),
                    connectTimeout: .seconds(5), reconnectBackoff: .milliseconds(400)),
                logger: TestEnvironment.logger)
            var start = clock.now
            let first = await redisError { try await redis.ping() }
            #expect(clock.now - start < .seconds(1), "waited \(clock.now - start) for a refused connection")
            guard case .unavailable(let reason) = first else {
                Issue.record("expected .unavailable, got \(String(describing: first))")
                return
            }
            #expect(reason.contains("127.0.0.1:\(port)"), "\(reason)")
            #expect(!reason.contains("moments ago"))

            // Within the back-off window calls fail at once, without touching the network.
            start = clock.now
            let second = await redisError { try await redis.send(["GET", "x"]) }
            #expect(clock.now - start < .milliseconds(300), "a reconnect would wait for the 400 ms back-off")
            guard case .unavailable(let backingOff) = second else {
                Issue.record("expected .unavailable, got \(String(describing: second))")
                return
            }
            #expect(backingOff.contains("unreachable moments ago"))

            // After it, the client tries again (and is refused again).
            try await Task.sleep(for: .milliseconds(500))
            let third = await redisError { try await redis.ping() }
            guard case .unavailable(let again) = third else {
                Issue.record("expected .unavailable, got \(String(describing: third))")
                return
            }
            #expect(!again.contains("moments ago"), "\(again)")
            await redis.close()
        }
    }

    @Test("a wrong password is reported as Redis's error")
    func wrongPassword() async throws {
        var configuration = singleConnection()
        configuration.password = "definitely-not-the-password"
        let redis = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
        let error = await redisError { try await redis.ping() }
        guard case .server(let message) = error else {
            Issue.record("expected .server, got \(String(describing: error))")
            return
        }
        #expect(message.contains("AUTH") || message.hasPrefix("WRONGPASS"), "\(message)")
        await redis.close()
    }

    @Test("a database index out of range is reported as Redis's error")
    func badDatabase() async throws {
        var configuration = singleConnection()
        configuration.database = 100_000
        let redis = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
        let error = await redisError { try await redis.ping() }
        guard case .server(let message) = error else {
            Issue.record("expected .server, got \(String(describing: error))")
            return
        }
        #expect(message.contains("DB index is out of range"), "\(message)")
        await redis.close()
    }

    @Test("the configured database is selected on every connection")
    func selectsDatabase() async throws {
        var configuration = TestEnvironment.redisConfiguration
        configuration.database = configuration.database == 1 ? 2 : 1
        let key = RedisArgument(uniqueKeyPrefix() + "db")
        try await withTestRedis(configuration: configuration) { other in
            // Every connection of the pool, not just the first.
            for _ in 0..<(2 * configuration.connectionCount) {
                try await other.send(["SET", key, "elsewhere"])
            }
            #expect(try await other.send(["GET", key]) == .bulk("elsewhere"))
            let fromDefault = try await withTestRedis { main in try await main.send(["GET", key]) }
            #expect(fromDefault == .null)
            try await other.send(["DEL", key])
        }
    }

    @Test("a connection the server drops fails what is in flight and is replaced")
    func serverDropsConnection() async throws {
        try await withTestRedisKeys(configuration: singleConnection()) { redis, prefix in
            let id = try #require(try await redis.send(["CLIENT", "ID"]).int)
            let clock = self.clock
            async let blocked = redisError { try await redis.send(["BLPOP", RedisArgument(prefix + "l"), 4]) }
            try await Task.sleep(for: .milliseconds(100))
            let killed = try await withTestRedis { admin in
                try await admin.send(["CLIENT", "KILL", "ID", RedisArgument(Int(id))])
            }
            #expect(killed == .integer(1))
            let killedAt = clock.now
            let error = await blocked
            // BLPOP would wait 4 s; the kill must end it at once (measured from the kill, not the start,
            // so a busy machine's slow admin connection does not count).
            #expect(clock.now - killedAt < .seconds(2), "the in-flight command waited for its timeout")
            guard case .connectionClosed = error else {
                Issue.record("expected .connectionClosed, got \(String(describing: error))")
                return
            }
            // The next command opens a new connection.
            let newID = try #require(try await redis.send(["CLIENT", "ID"]).int)
            #expect(newID != id)
        }
    }

    @Test("after close() the client is closed: commands fail instead of reconnecting")
    func closedClient() async throws {
        let redis = RedisClient(configuration: singleConnection(), logger: TestEnvironment.logger)
        try await redis.ping()
        await redis.close()
        do {
            let error = await redisError { try await redis.ping() }
            #expect(error != nil)
        }
        await redis.close()
    }
}

@Suite("Redis configuration and values")
struct RedisConfigurationTests {
    @Test("redis:// URLs")
    func urls() throws {
        let full = try RedisConfiguration(url: "redis://:s3cret@redis.internal:7000/3")
        #expect(full.host == "redis.internal")
        #expect(full.port == 7000)
        #expect(full.password == "s3cret")
        #expect(full.database == 3)

        let user = try RedisConfiguration(url: "redis://default:pw@10.0.0.1")
        #expect(user.host == "10.0.0.1" && user.port == 6379 && user.password == "pw" && user.database == 0)

        let bare = try RedisConfiguration(url: "redis://cache")
        #expect(bare.host == "cache" && bare.port == 6379 && bare.password == nil && bare.database == 0)

        let at = try RedisConfiguration(url: "redis://:p@ss@h:1/0")
        #expect(at.password == "p@ss" && at.host == "h" && at.port == 1)

        #expect(try RedisConfiguration(url: "redis://127.0.0.1:6380/").database == 0)
    }

    @Test("URLs that are not Redis URLs are refused", arguments: ["", "http://h:6379", "h:6379", "REDIS", "redis:/h"])
    func badURLs(_ url: String) {
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: url) }
    }

    @Test("a port that is not a number is refused")
    func badPort() {
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: "redis://h:63790x/0") }
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: "redis://h:6379/zero") }
    }

    @Test("a percent-encoded password is decoded")
    func percentEncodedPassword() throws {
        let configuration = try RedisConfiguration(url: "redis://:p%40ss%3Aword@h:6379/0")
        #expect(configuration.password == "p@ss:word")
    }

    @Test("at least one connection")
    func connectionCount() {
        #expect(RedisConfiguration(connectionCount: 0).connectionCount == 1)
        #expect(RedisConfiguration(connectionCount: 4).connectionCount == 4)
    }

    @Test("value accessors")
    func accessors() {
        #expect(RedisValue.bulk("12").int == 12)
        #expect(RedisValue.simpleString("7").int == 7)
        #expect(RedisValue.integer(-3).string == "-3")
        #expect(RedisValue.bulk("x").int == nil)
        #expect(RedisValue.null.string == nil)
        #expect(RedisValue.error("ERR").string == nil)
        #expect(RedisValue.array([.null]).array == [.null])
        #expect(RedisValue.bulk("x").array == nil)
    }
}
