import Foundation
import NIOCore
import NIOPosix
import ScutumTestSupport
import Testing

/// Slow, idle or too many clients cannot hold a listener's file descriptors.
@Suite("Listener limits")
struct ListenerLimitTests {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func connect(_ baseURL: String) async throws -> Connection {
        let port = URL(string: baseURL)!.port!
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// How long until the server closes `connection` (reading and discarding what it sends), at
    /// most `limit`; nil when it is still open then. `trickle` is sent every 100 ms meanwhile.
    static func closed(_ connection: Connection, within limit: Duration, trickle: String? = nil) async throws -> Duration? {
        let start = ContinuousClock.now
        return try await connection.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Duration?.self) { group in
                group.addTask {
                    do {
                        for try await _ in inbound {}
                    } catch {}
                    return ContinuousClock.now - start
                }
                group.addTask {
                    while ContinuousClock.now - start < limit {
                        try await Task.sleep(for: .milliseconds(100))
                        if let trickle { try? await outbound.write(ByteBuffer(string: trickle)) }
                    }
                    return nil
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
        }
    }

    @Test("over the connection cap a new connection is closed at once; silent ones go after the header timeout, on the proxy and the Admin API; then requests are served")
    func capAndHeaderTimeout() async throws {
        try await Gateway.with(variables: ["SCUTUM_MAX_CONNECTIONS": "4", "SCUTUM_HEADER_TIMEOUT_SECONDS": "1"]) { gateway in
            for base in [gateway.baseURL, gateway.adminURL] {
                // Five at once: whichever the server counts fifth (accepts may be reordered on a loaded
                // machine) is closed at once, the other four at the header timeout.
                var connections: [Connection] = []
                for _ in 0..<5 { connections.append(try await Self.connect(base)) }
                let closed = try await withThrowingTaskGroup(of: Duration?.self) { group in
                    for connection in connections {
                        group.addTask { try await Self.closed(connection, within: .seconds(5)) }
                    }
                    return try await group.reduce(into: [Duration?]()) { $0.append($1) }
                }
                #expect(closed.allSatisfy { $0 != nil }, "a silent connection to \(base) outlived the header timeout")
                let times = closed.compactMap { $0 }.sorted()
                #expect(times.first.map { $0 < .milliseconds(800) } == true, "no connection to \(base) was refused at once: \(times)")
                #expect(times.filter { $0 >= .milliseconds(800) }.count == 4, "\(times)")
            }
            let served = try await gateway.request("/v1/chat/completions", body: Gateway.chat("hello"))
            #expect(served.status == 200)
        }
    }

    @Test("a client sending its headers a byte at a time is cut off at the header timeout")
    func slowHeaders() async throws {
        try await Gateway.with(variables: ["SCUTUM_HEADER_TIMEOUT_SECONDS": "1"]) { gateway in
            let connection = try await Self.connect(gateway.baseURL)
            try await connection.channel.writeAndFlush(ByteBuffer(string: "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"))
            let closed = try await Self.closed(connection, within: .seconds(6), trickle: "X")
            #expect(closed != nil && closed! < .seconds(3))
            #expect(try await gateway.request("/v1/chat/completions", body: Gateway.chat("hello")).status == 200)
        }
    }

    @Test("a kept-alive connection idle past the idle timeout is closed; a stream longer than it is not cut")
    func idleTimeout() async throws {
        try await Gateway.with(variables: ["SCUTUM_IDLE_TIMEOUT_SECONDS": "1"]) { gateway in
            // A stream of about 2 s (20 tokens at 10 a second) outlives the idle timeout and completes.
            let long = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("Tell me about Paris [mock:tokens_per_sec=10]", stream: true))
            #expect(long.status == 200)
            #expect(long.body.contains("data: [DONE]"))
            let connection = try await Self.connect(gateway.baseURL)
            let body = Gateway.chat("hello")
            try await connection.channel.writeAndFlush(ByteBuffer(string:
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(Gateway.masterKey)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"))
            let closed = try await Self.closed(connection, within: .seconds(6))
            #expect(closed != nil && closed! > .milliseconds(900) && closed! < .seconds(4))
        }
    }
}
