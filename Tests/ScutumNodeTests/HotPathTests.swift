import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Synchronization
import Testing

@Suite("The hot path keeps its books")
struct HotPathTests {
    /// Request ids the workers got a 200 for.
    final class Served: Sendable {
        let ids = Mutex<[String]>([])
        let failures = Mutex<[Int]>([])
    }

    /// Concurrent, not flat out: 8 workers with a 20 ms pause make at most about 400 requests a second,
    /// which keeps batches, flushes and streams overlapping without taking both cores from the timing
    /// tests that run beside this one (a debug build spends about a millisecond of CPU per request).
    @Test("every successful request has exactly one spend row after a flush, under a 10-second load")
    func spendUnderLoad() async throws {
        try await Gateway.with { gateway in
            // A key and a gateway without limits the load could reach: this test is about the books.
            let (load, keyID) = try await SteadyLoad.prepare(gateway, label: "load")
            let key = load.key
            let served = Served()
            let end = ContinuousClock.now + .seconds(10)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var index = 0
                        while ContinuousClock.now < end {
                            index += 1
                            let stream = (worker + index) % 4 == 0
                            let result = try await gateway.request("/v1/chat/completions", key: key,
                                body: Gateway.chat("load \(worker)-\(index)", stream: stream))
                            if result.status == 200, let id = result.header("x-request-id") {
                                served.ids.withLock { $0.append(id) }
                            } else {
                                served.failures.withLock { $0.append(result.status) }
                            }
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let ids = served.ids.withLock { $0 }
            let failures = served.failures.withLock { $0 }
            #expect(failures.isEmpty, "\(failures.count) failed, statuses \(Set(failures))")
            #expect(ids.count > 100, "only \(ids.count) requests in 10 s")
            let client = gateway.node.postgres
            let rows = try await eventually(timeout: .seconds(30)) { () async throws -> Int? in
                let (count, _) = try await PlatformTests.count(client,
                    "SELECT count(*)::int8, 0::float8 FROM spend_logs WHERE key_id = \(keyID) AND status = 200")
                return count >= ids.count ? count : nil
            }
            #expect(rows == ids.count)
            // Exactly one row per request id, and no id missing.
            let stored = try await client.query(
                "SELECT request_id FROM spend_logs WHERE key_id = \(keyID)", logger: TestEnvironment.logger)
            var found: [String] = []
            for try await id in stored.decode(String.self) { found.append(id) }
            #expect(found.count == Set(found).count)
            #expect(Set(found) == Set(ids))
        }
    }

    @Test("TPM is settled with a stream's real usage: the window holds what the streams used")
    func streamTPMSettled() async throws {
        try await Gateway.with { gateway in
            let (key, _) = try await gateway.keys.create(alias: "stream-tokens", settings: KeySettings(tpmLimit: 400))
            var used = 0
            var lastStatus = 200
            for _ in 0..<40 {
                let result = try await gateway.request("/v1/chat/completions", key: key,
                    body: Gateway.chat("What is the capital of France?", stream: true,
                        extra: #","max_tokens":20,"stream_options":{"include_usage":true}"#))
                lastStatus = result.status
                guard result.status == 200 else { break }
                let usage = try #require(try SSEFrames(result.body).chunks().last?["usage"] as? [String: Any])
                used += try #require(usage["total_tokens"] as? Int)
                try await Task.sleep(for: .milliseconds(30))
            }
            #expect(lastStatus == 429)
            #expect(used <= 400)
            let body = #"{"model":"gpt-test","messages":[{"role":"user","content":"What is the capital of France?"}],"stream":true,"max_tokens":20,"stream_options":{"include_usage":true}}"#
            let estimate = body.utf8.count / 4 + 20
            #expect(used + estimate > 400, "refused with \(used) of 400 tokens used: the streams' estimates were not settled")
        }
    }
}
