import AsyncHTTPClient
import Foundation
import NIOCore
import ScutumProxy
import ScutumRedis
import ScutumTestSupport
import Testing

@Suite("Node lifecycle and background work")
struct LifecycleTests {
    @Test("graceful shutdown lets an open stream finish")
    func drainsStreams() async throws {
        try await Gateway.with { gateway in
            var request = HTTPClientRequest(url: gateway.baseURL + "/v1/chat/completions")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(Gateway.masterKey)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: Gateway.chat(
                "Write a short poem about APIs. [mock:tokens_per_sec=25]", stream: true)))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            var body = ""
            var shutdownStarted = false
            for try await buffer in response.body {
                body += String(buffer: buffer)
                if !shutdownStarted {
                    shutdownStarted = true
                    // The stream is open: start the node's graceful shutdown now.
                    Task { await gateway.shutdown() }
                }
            }
            #expect(shutdownStarted)
            #expect(SSEFrames(body).endsWithDone, "stream was cut: \(body.suffix(200))")
        }
    }

    @Test("requests are counted per minute in Redis, per key and in total")
    func usageCounters() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "counted")
            for _ in 0..<3 {
                #expect(try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("hi")).status == 200)
            }
            // The requests may straddle a minute boundary: add up this minute and the one before.
            let minute = UsageRecorder.minuteStamp(Date())
            func total(_ metric: String) async throws -> Int {
                var sum = 0
                for bucket in [minute - 1, minute] {
                    let value = try await gateway.node.redis.send(
                        ["GET", .init("scutum:usage:\(bucket):\(metric):key:\(record.keyHash)")])
                    sum += value.string.flatMap { Int($0) } ?? 0
                }
                return sum
            }
            let counted = try await eventually { () async throws -> Int? in
                let count = try await total("requests")
                return count >= 3 ? count : nil
            }
            #expect(counted == 3)
            #expect(try await total("tokens") > 0)
        }
    }
}
