import Foundation
import ScutumRedis
import ScutumTestSupport
import Testing

/// `SCUTUM_TEST_REDIS_TLS_URL`: a Redis speaking only TLS, with an ACL user and client certificates
/// required, as `deploy/local/redis-tls.sh` starts it (its `urls.env` also gives `REDIS_TLS_CA_FILE`,
/// `REDIS_TLS_CERT_FILE`, `REDIS_TLS_KEY_FILE` and `REDIS_TLS_OTHER_CA_FILE`). `make test` sets them.
private let environment = ProcessInfo.processInfo.environment
private let tlsURL = environment["SCUTUM_TEST_REDIS_TLS_URL"]

@Suite("Redis over TLS with an ACL user", .enabled(if: tlsURL != nil, "SCUTUM_TEST_REDIS_TLS_URL is not set"),
    .timeLimit(.minutes(1)))
struct RedisTLSTests {
    func configuration() throws -> RedisConfiguration {
        try TestEnvironment.redisConfiguration(url: try #require(tlsURL))
    }

    @Test("commands, pipelines and scripts over TLS, as the ACL user")
    func commands() async throws {
        let configuration = try configuration()
        #expect(configuration.tls != nil, "SCUTUM_TEST_REDIS_TLS_URL must be a rediss:// URL")
        let user = try #require(configuration.username)
        try await withTestRedis(configuration: configuration) { redis in
            let prefix = uniqueKeyPrefix()
            #expect(try await redis.send(["ACL", "WHOAMI"]).string == user)
            try await redis.send(["SET", RedisArgument(prefix + "k"), "over tls"])
            #expect(try await redis.send(["GET", RedisArgument(prefix + "k")]).string == "over tls")

            let replies = try await redis.pipeline((0..<200).map { _ in ["INCR", RedisArgument(prefix + "n")] })
            #expect(replies.last == .integer(200))

            // Many pipelines at once, over both connections, with replies bigger than one TLS record.
            let big = String(repeating: "x", count: 64 * 1024)
            try await redis.send(["SET", RedisArgument(prefix + "big"), RedisArgument(big)])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let values = try await redis.pipeline([["GET", RedisArgument(prefix + "big")], ["INCR", RedisArgument(prefix + "m")]])
                        #expect(values[0].string?.count == big.count)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await redis.send(["GET", RedisArgument(prefix + "m")]).int == 20)

            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1]) .. ':' .. ARGV[2]")
            #expect(try await redis.eval(script, keys: [prefix + "s"], arguments: [5, "tls"]).string == "5:tls")
            #expect(try await redis.eval(script, keys: [prefix + "s"], arguments: [2, "again"]).string == "7:again")
            try await deleteKeys(withPrefix: prefix, using: redis)
        }
    }

    @Test("a subscriber over TLS receives what is published")
    func subscriber() async throws {
        let configuration = try configuration()
        let channel = uniqueKeyPrefix() + "events"
        let subscriber = RedisSubscriber(configuration: configuration, channels: [channel], name: "scutum-tls-test",
            logger: TestEnvironment.logger)
        try await withTestRedis(configuration: configuration) { redis in
            try await withRunning(subscriber) { log in
                #expect(try await log.wait { $0.subscriptions == 1 })
                try await redis.send(["PUBLISH", RedisArgument(channel), "hello over tls"])
                #expect(try await log.wait { $0.messages.count == 1 })
                #expect(log.messages == [.message(channel: channel, payload: Array("hello over tls".utf8))])
                // Named as asked (CLIENT SETNAME went through the TLS handshake path too).
                let list = try #require(try await redis.send(["CLIENT", "LIST", "TYPE", "pubsub"]).string)
                #expect(list.contains("name=scutum-tls-test"))
            }
        }
    }

    /// The error of a client that cannot even connect.
    func refusal(_ configuration: RedisConfiguration) async -> RedisClientError? {
        var configuration = configuration
        configuration.connectionCount = 1
        let redis = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
        let error = await redisError { try await redis.ping() }
        await redis.close()
        return error
    }

    /// The reason of an `.unavailable` error; an issue (and "") for anything else.
    func unavailableReason(_ error: RedisClientError?, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        guard case .unavailable(let reason) = error else {
            Issue.record("expected .unavailable, got \(String(describing: error))", sourceLocation: sourceLocation)
            return ""
        }
        return reason
    }

    /// The message of a `.server` error; an issue (and "") for anything else.
    func serverReason(_ error: RedisClientError?, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        guard case .server(let message) = error else {
            Issue.record("expected .server, got \(String(describing: error))", sourceLocation: sourceLocation)
            return ""
        }
        return message
    }

    @Test("a server certificate from another CA is refused, and the error says so")
    func wrongCA() async throws {
        var configuration = try configuration()
        let other = try #require(environment["REDIS_TLS_OTHER_CA_FILE"], "REDIS_TLS_OTHER_CA_FILE is not set")
        configuration.tls?.caFile = other
        let message = unavailableReason(await refusal(configuration))
        #expect(message.contains("not signed by the CA in \(other)"), "\(message)")
        #expect(message.contains("\(configuration.host):\(configuration.port)"), "\(message)")
        #expect(!message.contains(configuration.password ?? "-"))
    }

    @Test("the system's trust roots do not trust a private CA")
    func systemRoots() async throws {
        var configuration = try configuration()
        configuration.tls?.caFile = nil
        let message = unavailableReason(await refusal(configuration))
        #expect(message.contains("not signed by the system's trust roots"), "\(message)")
    }

    @Test("a wrong password is refused with Redis's WRONGPASS, naming the user and never the password")
    func wrongPassword() async throws {
        var configuration = try configuration()
        configuration.password = "definitely-not-the-password"
        let message = serverReason(await refusal(configuration))
        #expect(message.hasPrefix("WRONGPASS"), "\(message)")
        #expect(message.contains("user '\(configuration.username ?? "")'"), "\(message)")
        #expect(!message.contains("definitely-not-the-password"))
    }

    @Test("the disabled default user cannot get in")
    func defaultUserOff() async throws {
        var configuration = try configuration()
        configuration.username = nil
        let message = serverReason(await refusal(configuration))
        #expect(message.hasPrefix("WRONGPASS"), "\(message)")
    }

    @Test("without the client certificate the server refuses, and the error says what is missing")
    func clientCertificateRequired() async throws {
        var configuration = try configuration()
        try #require(configuration.tls?.certificateFile != nil, "the test server requires client certificates")
        configuration.tls?.certificateFile = nil
        configuration.tls?.keyFile = nil
        let message = unavailableReason(await refusal(configuration))
        #expect(message.contains("wants a client certificate"), "\(message)")
    }

    @Test("a certificate that does not carry the expected name is refused; server_name names what it carries")
    func hostnameMismatch() async throws {
        // Over ::1, an address the certificate does not name (it names 127.0.0.1 and localhost; a
        // certificate naming the address connected to is accepted whatever the name asked for).
        var configuration = try configuration()
        configuration.host = "::1"
        let unnamed = unavailableReason(await refusal(configuration))
        try #require(!unnamed.contains("refused"), "the test Redis does not listen on ::1: \(unnamed)")
        #expect(unnamed.contains("does not name ::1"), "\(unnamed)")

        configuration.tls?.serverName = "redis.elsewhere.example"
        let message = unavailableReason(await refusal(configuration))
        #expect(message.contains("does not name redis.elsewhere.example"), "\(message)")

        // The name the certificate does carry works, sent as SNI and verified.
        configuration.tls?.serverName = "localhost"
        try await withTestRedis(configuration: configuration) { redis in try await redis.ping() }
    }

    @Test("plain TCP to the TLS port is refused with a hint to use rediss://")
    func plainToTLSPort() async throws {
        var configuration = try configuration()
        configuration.tls = nil
        let message = unavailableReason(await refusal(configuration))
        #expect(message.contains("use rediss://"), "\(message)")
    }
}
