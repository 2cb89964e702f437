import Foundation
import ScutumRedis
import ScutumTestSupport
import Synchronization
import Testing

/// Runs `subscriber` and records its events until `body` returns; then stops it and checks that
/// its event stream ends.
func withRunning<T>(_ subscriber: RedisSubscriber, _ body: (EventLog) async throws -> T) async throws -> T {
    let log = EventLog()
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        group.addTask { try await subscriber.run() }
        group.addTask {
            for await event in subscriber.events { log.append(event) }
            log.finish()
        }
        do {
            let result = try await body(log)
            group.cancelAll()
            try await group.waitForAll()
            #expect(log.finished)
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

/// The events a subscriber delivered, for tests to wait on.
final class EventLog: Sendable {
    private let state = Mutex<(events: [RedisSubscriber.Event], finished: Bool)>(([], false))

    var events: [RedisSubscriber.Event] { state.withLock { $0.events } }
    var finished: Bool { state.withLock { $0.finished } }
    var subscriptions: Int { events.filter { $0 == .subscribed }.count }
    var messages: [RedisSubscriber.Event] { events.filter { $0 != .subscribed } }

    func append(_ event: RedisSubscriber.Event) { state.withLock { $0.events.append(event) } }
    func finish() { state.withLock { $0.finished = true } }

    /// Waits until `condition` holds, up to `limit`; whether it did.
    func wait(upTo limit: Duration = .seconds(5), until condition: (EventLog) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition(self) { return true }
            try await Task.sleep(for: .milliseconds(5))
        }
        return condition(self)
    }
}

/// Closes the connection Redis knows by `name` (`CLIENT SETNAME`), as a restart or a network fault would;
/// in a Redis Cluster on whichever master holds it.
func killClient(named name: String, using redis: RedisClient) async throws {
    for server in try await redis.masters() {
        let list = try #require(try await server.send(["CLIENT", "LIST", "TYPE", "pubsub"]).string)
        guard let line = list.split(separator: "\n").first(where: { $0.split(separator: " ").contains("name=\(name)") })
        else { continue }
        let id = try #require(line.split(separator: " ").first { $0.hasPrefix("id=") }?.dropFirst(3))
        try await server.send(["CLIENT", "KILL", "ID", RedisArgument(String(id))])
        return
    }
    Issue.record("no Redis node has a pub/sub connection named \(name)")
}

@Suite("Redis subscriber: messages, reconnects, refusals", .timeLimit(.minutes(1)))
struct RedisSubscriberTests {
    @Test("delivers what is published on its channels, and nothing from others")
    func receives() async throws {
        try await withTestRedisKeys { redis, prefix in
            let subscriber = RedisSubscriber(configuration: TestEnvironment.redisConfiguration,
                channels: [prefix + "one", prefix + "two"], logger: TestEnvironment.logger)
            try await withRunning(subscriber) { log in
                #expect(try await log.wait { $0.subscriptions == 1 })
                try await redis.send(["PUBLISH", RedisArgument(prefix + "other"), "not for us"])
                try await redis.send(["PUBLISH", RedisArgument(prefix + "one"), "first"])
                try await redis.send(["PUBLISH", RedisArgument(prefix + "two"), RedisArgument(bytes: [0, 255, 10])])
                #expect(try await log.wait { $0.messages.count == 2 })
                // Both, in either order: on a Redis Cluster each PUBLISH may go to another master, and the
                // cluster bus promises no order between them.
                let expected: [RedisSubscriber.Event] = [.message(channel: prefix + "one", payload: Array("first".utf8)),
                    .message(channel: prefix + "two", payload: [0, 255, 10])]
                #expect(log.messages.count == 2 && expected.allSatisfy { log.messages.contains($0) }, "\(log.messages)")
            }
        }
    }

    @Test("a killed connection is replaced and subscribed again, and says so")
    func resubscribes() async throws {
        try await withTestRedisKeys { redis, prefix in
            let name = "test-subscriber-\(UUID().uuidString.prefix(8))"
            let subscriber = RedisSubscriber(configuration: TestEnvironment.redisConfiguration,
                channels: [prefix + "c"], name: name, initialBackoff: .milliseconds(20), logger: TestEnvironment.logger)
            try await withRunning(subscriber) { log in
                #expect(try await log.wait { $0.subscriptions == 1 })
                for round in 2...3 {
                    try await killClient(named: name, using: redis)
                    #expect(try await log.wait { $0.subscriptions == round })
                    try await redis.send(["PUBLISH", RedisArgument(prefix + "c"), RedisArgument("after kill \(round)")])
                    #expect(try await log.wait { $0.messages.count == round - 1 })
                }
                #expect(log.messages.last == .message(channel: prefix + "c", payload: Array("after kill 3".utf8)))
            }
        }
    }

    @Test("a refused AUTH is never reported subscribed; the subscriber keeps trying until stopped")
    func refusedPassword() async throws {
        var configuration = TestEnvironment.redisConfiguration
        configuration.password = "not-the-password"
        let subscriber = RedisSubscriber(configuration: configuration, channels: ["scutum-test:refused"],
            initialBackoff: .milliseconds(10), maximumBackoff: .milliseconds(50), logger: TestEnvironment.logger)
        try await withRunning(subscriber) { log in
            try await Task.sleep(for: .milliseconds(300))
            #expect(log.events.isEmpty)
        }
    }

    @Test("an unreachable Redis is retried with back-off, and stopping ends it at once")
    func unreachable() async throws {
        try await withRefusingPort { port in
            let configuration = TestEnvironment.redisConfiguration(port: port)
            // After its first refused connection it waits 30 s: stopping must not wait that out.
            let subscriber = RedisSubscriber(configuration: configuration, channels: ["scutum-test:nowhere"],
                initialBackoff: .seconds(30), maximumBackoff: .seconds(30), logger: TestEnvironment.logger)
            let clock = ContinuousClock()
            let stopped = try await clock.measure {
                try await withRunning(subscriber) { log in
                    try await Task.sleep(for: .milliseconds(200))
                    #expect(log.events.isEmpty)
                }
            }
            // Seconds at most on a machine whose cores other tests saturate; the back-off is 30.
            #expect(stopped < .seconds(10))
        }
    }
}
