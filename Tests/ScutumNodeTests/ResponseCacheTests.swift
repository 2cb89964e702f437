import Foundation
import ScutumCore
import ScutumRedis
import ScutumStore
import ScutumTestSupport
import Testing

/// The response cache, end to end: nodes sharing Redis, the mock upstream counting calls.
@Suite("Response cache")
struct ResponseCacheTests {
    /// Merges `changes` into the stored settings and waits until every node applied them.
    static func settings(_ changes: [String: JSONValue], on nodes: [Gateway]) async throws {
        let store = SettingsStore(client: nodes[0].node.postgres, logger: TestEnvironment.logger)
        var value = try await store.load()
        if case .object(var fields) = value {
            fields.merge(changes) { _, new in new }
            value = .object(fields)
        }
        try await store.save(value)
        let expected = ResponseCacheSettings(settings: value)
        for node in nodes {
            _ = try await eventually { node.node.platform.current.responseCache == expected ? true : nil }
        }
    }

    static let on: [String: JSONValue] = ["enable_response_cache": true]

    /// Calls of the mock for chat completions.
    static func upstreamCalls(_ gateway: Gateway) -> Int {
        gateway.mockLog.entries.filter { $0.uri.hasSuffix("/chat/completions") || $0.uri.hasSuffix("/embeddings") }.count
    }

    /// Waits until the gateway's cache holds `count` entries (answers are stored in the background).
    static func stored(_ gateway: Gateway, _ count: Int) async throws {
        let pattern = "\(gateway.node.configuration.redisNamespace):rcache:*"
        let found = try await eventually(timeout: .seconds(5)) { () async throws -> Int? in
            let keys = try await redisKeys(matching: pattern, using: gateway.node.redis).count
            return keys >= count ? keys : nil
        }
        #expect(found == count, "entries in the cache")
    }

    static func content(_ result: HTTPResult) throws -> String? {
        let choices = try result.json["choices"] as? [[String: Any]]
        return (choices?.first?["message"] as? [String: Any])?["content"] as? String
    }

    @Test("an answer bought through node A is a hit on node B; the provider saw it once; the hit is billed 0 with its saving")
    func sharedAcrossNodes() async throws {
        try await Gateway.cluster(nodes: 2) { nodes in
            try await Self.settings(Self.on, on: nodes)
            let (key, record) = try await nodes[0].keys.create(alias: "cache-cluster")
            let body = Gateway.chat("what is the capital of France? cluster")
            let first = try await nodes[0].request("/v1/chat/completions", key: key, body: body)
            #expect(first.status == 200)
            #expect(first.header("x-scutum-cache") == "miss")
            try await Self.stored(nodes[0], 1)
            let second = try await nodes[1].request("/v1/chat/completions", key: key, body: body)
            #expect(second.status == 200)
            #expect(second.header("x-scutum-cache") == "hit")
            #expect(try Self.content(second) == Self.content(first))
            #expect(try second.json["model"] as? String == "gpt-test")
            #expect(Self.upstreamCalls(nodes[0]) == 1)
            let rows = try #require(try await nodes[0].spendLogs(keyID: record.keyID, count: 2))
            let hit = try #require(rows.first { $0.cacheHit })
            let miss = try #require(rows.first { !$0.cacheHit })
            #expect(hit.cost == 0)
            #expect(miss.cost > 0)
            #expect(abs(hit.savedCost - miss.cost) < 1e-12)
            #expect(hit.promptTokens == miss.promptTokens)
            #expect(hit.status == 200)
            #expect(hit.modelServed == "gpt-test")
            let metrics = try await nodes[1].request("/metrics", method: .GET, key: nil)
            #expect(metrics.body.contains(#"scutum_cache_requests_total{result="hit"} 1"#))
        }
    }

    @Test("a stream hits an answer bought without one, and a plain request one bought as a stream; both well formed")
    func streamsAndPlain() async throws {
        try await Gateway.with { gateway in
            try await Self.settings(Self.on, on: [gateway])
            // Plain first, then a stream of the same request.
            let plain = try await gateway.request("/v1/chat/completions", body: Gateway.chat("tell me a story, plain first"))
            #expect(plain.header("x-scutum-cache") == "miss")
            let text = try #require(try Self.content(plain))
            try await Self.stored(gateway, 1)
            let hit = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("tell me a story, plain first", stream: true, extra: #","stream_options":{"include_usage":true}"#))
            #expect(hit.header("x-scutum-cache") == "hit")
            #expect(hit.header("content-type") == "text/event-stream")
            #expect(hit.body.hasSuffix("data: [DONE]\n\n"))
            let chunks = try SSEFrames(hit.body).chunks()
            let streamed = chunks.compactMap { chunk -> String? in
                ((chunk["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
            }.joined()
            #expect(streamed == text)
            #expect(chunks.contains { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "stop" })
            #expect(chunks.last?["usage"] != nil)
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })

            // A stream first, then the plain request.
            let first = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("tell me a story, stream first", stream: true))
            #expect(first.header("x-scutum-cache") == "miss")
            let firstText = try SSEFrames(first.body).chunks().compactMap { chunk -> String? in
                ((chunk["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
            }.joined()
            try await Self.stored(gateway, 2)
            let answer = try await gateway.request("/v1/chat/completions", body: Gateway.chat("tell me a story, stream first"))
            #expect(answer.header("x-scutum-cache") == "hit")
            #expect(try Self.content(answer) == firstText)
            #expect(try answer.json["object"] as? String == "chat.completion")
            #expect((try answer.json["usage"] as? [String: Any])?["completion_tokens"] as? Int ?? 0 > 0)
            #expect(Self.upstreamCalls(gateway) == 2)
        }
    }

    @Test("scopes: team A's answer is never served to team B, nor one key's to another under key scope")
    func scopes() async throws {
        try await Gateway.with { gateway in
            try await Self.settings(Self.on, on: [gateway])
            let teams = TeamStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
            try await teams.create(TeamRecord(teamID: "cache-team-a", alias: "a"))
            try await teams.create(TeamRecord(teamID: "cache-team-b", alias: "b"))
            let (a, _) = try await gateway.keys.create(alias: "team-a", settings: KeySettings(teamID: "cache-team-a"))
            let (a2, _) = try await gateway.keys.create(alias: "team-a-2", settings: KeySettings(teamID: "cache-team-a"))
            let (b, _) = try await gateway.keys.create(alias: "team-b", settings: KeySettings(teamID: "cache-team-b"))
            let body = Gateway.chat("scoped question")
            #expect(try await gateway.request("/v1/chat/completions", key: a, body: body).header("x-scutum-cache") == "miss")
            try await Self.stored(gateway, 1)
            #expect(try await gateway.request("/v1/chat/completions", key: a2, body: body).header("x-scutum-cache") == "hit")
            let other = try await gateway.request("/v1/chat/completions", key: b, body: body)
            #expect(other.header("x-scutum-cache") == "miss")
            #expect(Self.upstreamCalls(gateway) == 2)
            try await Self.stored(gateway, 2)

            // Key scope: even keys of one team keep their own answers.
            try await Self.settings(["response_cache_scope": "key"], on: [gateway])
            let keyBody = Gateway.chat("key scoped question")
            #expect(try await gateway.request("/v1/chat/completions", key: a, body: keyBody).header("x-scutum-cache") == "miss")
            try await Self.stored(gateway, 3)
            #expect(try await gateway.request("/v1/chat/completions", key: a2, body: keyBody).header("x-scutum-cache") == "miss")
            try await Self.stored(gateway, 4)
            #expect(try await gateway.request("/v1/chat/completions", key: a, body: keyBody).header("x-scutum-cache") == "hit")
            #expect(Self.upstreamCalls(gateway) == 4)
        }
    }

    @Test("bypass: temperature above 0, n above 1, Cache-Control and the cache member; the member never reaches the provider")
    func bypass() async throws {
        try await Gateway.with { gateway in
            try await Self.settings(Self.on, on: [gateway])
            let cases: [(String, [(String, String)])] = [
                (Gateway.chat("sampled", extra: #","temperature":0.7"#), []),
                (Gateway.chat("two answers", extra: #","n":2"#), []),
                (Gateway.chat("header no-cache"), [("Cache-Control", "no-cache")]),
                (Gateway.chat("header no-store"), [("Cache-Control", "no-store")]),
                (Gateway.chat("member no-cache", extra: #","cache":{"no-cache":true}"#), []),
            ]
            for (body, headers) in cases {
                for _ in 0..<2 {
                    let result = try await gateway.request("/v1/chat/completions", body: body, headers: headers)
                    #expect(result.status == 200, "\(body)")
                    #expect(result.header("x-scutum-cache") == "bypass", "\(body)")
                }
            }
            #expect(Self.upstreamCalls(gateway) == 10)
            #expect(gateway.mockLog.entries.allSatisfy { !$0.bodyString().contains("\"cache\"") })
            // Temperature 0 is cached.
            let zero = Gateway.chat("deterministic", extra: #","temperature":0"#)
            _ = try await gateway.request("/v1/chat/completions", body: zero)
            let hit = try await eventually(timeout: .seconds(5)) { () async throws -> Bool? in
                try await gateway.request("/v1/chat/completions", body: zero).header("x-scutum-cache") == "hit" ? true : nil
            }
            #expect(hit == true)
            // Bad controls are the caller's 400, and the next request is served.
            for bad in [#","cache":"yes""#, #","cache":{"ttl":0}"#, #","cache":{"ttl":"10"}"#, #","cache":{"maxage":5}"#] {
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat("bad", extra: bad))
                #expect(result.status == 400, "\(bad)")
                #expect(try (result.openAIError["param"] as? String)?.hasPrefix("cache") == true, "\(bad)")
            }
            #expect(try await gateway.request("/v1/chat/completions", body: Gateway.chat("after")).status == 200)
        }
    }

    @Test("a request's ttl expires its answer; without the cache on, there is no header and the member is still taken out")
    func ttlAndOff() async throws {
        try await Gateway.with { gateway in
            let off = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat("cache off", extra: #","cache":{"ttl":60}"#))
            #expect(off.status == 200)
            #expect(off.header("x-scutum-cache") == nil)
            #expect(gateway.mockLog.last?.bodyString().contains("\"cache\"") == false)

            try await Self.settings(Self.on, on: [gateway])
            let body = Gateway.chat("short lived", extra: #","cache":{"ttl":3}"#)
            _ = try await gateway.request("/v1/chat/completions", body: body)
            try await Self.stored(gateway, 1)
            let stored = ContinuousClock.now
            let hit = try await gateway.request("/v1/chat/completions", body: body)
            // A loaded machine may take long enough that the entry is gone; only an early answer proves the hit.
            if ContinuousClock.now - stored < .seconds(2) { #expect(hit.header("x-scutum-cache") == "hit") }
            let key = "\(gateway.node.configuration.redisNamespace):rcache:*"
            let ttl = try await redisKeys(matching: key, using: gateway.node.redis).first
            let remaining = try await gateway.node.redis.send(["PTTL", RedisArgument(ttl ?? "")]).int ?? -1
            #expect(remaining <= 3000)
            try await Task.sleep(for: .milliseconds(3300))
            #expect(try await gateway.request("/v1/chat/completions", body: body).header("x-scutum-cache") == "miss")
        }
    }

    @Test("a key's metadata turns the cache on for it alone; embeddings are cached too")
    func perKeyAndEmbeddings() async throws {
        try await Gateway.with { gateway in
            let (key, _) = try await gateway.keys.create(alias: "cache-key",
                settings: KeySettings(metadata: #"{"cache":{"enabled":true}}"#))
            let body = Gateway.chat("per key")
            _ = try await gateway.request("/v1/chat/completions", key: key, body: body)
            let hit = try await eventually(timeout: .seconds(5)) { () async throws -> Bool? in
                try await gateway.request("/v1/chat/completions", key: key, body: body).header("x-scutum-cache") == "hit"
                    ? true : nil
            }
            #expect(hit == true)
            #expect(try await gateway.request("/v1/chat/completions", body: body).header("x-scutum-cache") == nil)

            let embedding = #"{"model":"azure-text-embedding-3-large","input":["cache me"]}"#
            let first = try await gateway.request("/v1/embeddings", key: key, body: embedding)
            #expect(first.status == 200)
            #expect(first.header("x-scutum-cache") == "miss")
            let again = try await eventually(timeout: .seconds(5)) { () async throws -> HTTPResult? in
                let result = try await gateway.request("/v1/embeddings", key: key, body: embedding)
                return result.header("x-scutum-cache") == "hit" ? result : nil
            }
            #expect(try again?.json["data"] as? [[String: Any]] != nil)
            #expect(again?.body == first.body)
        }
    }

    @Test("a cached answer goes through the output guardrails of whoever it is served to")
    func guardrailsOnHits() async throws {
        try await Gateway.with { gateway in
            try await Self.settings(Self.on.merging(["response_cache_scope": "global"]) { $1 }, on: [gateway])
            let admin = try await GuardrailTests.admin(gateway)
            _ = try await GuardrailTests.profile(admin, """
                {"name":"cache-mask","mode":"output","enable_secrets_detection":true,"secrets_action":"mask"}
                """, team: "cache-guarded")
            let (plain, _) = try await gateway.keys.create(alias: "plain")
            let (guarded, _) = try await gateway.keys.create(alias: "guarded", settings: KeySettings(teamID: "cache-guarded"))
            // The profile reaches the proxy by NOTIFY: wait until it masks.
            _ = try await GuardrailTests.until(gateway, key: guarded, Gateway.chat("warm \(GuardrailTests.awsKey)")) {
                $0.body.contains("<SECRET>")
            }
            let body = Gateway.chat("the key is \(GuardrailTests.awsKey)")
            let bought = try await gateway.request("/v1/chat/completions", key: plain, body: body)
            #expect(bought.header("x-scutum-cache") == "miss")
            #expect(bought.body.contains(GuardrailTests.awsKey))
            try await Self.stored(gateway, 2)
            let hit = try await gateway.request("/v1/chat/completions", key: guarded, body: body)
            #expect(hit.header("x-scutum-cache") == "hit")
            #expect(hit.body.contains("<SECRET>"))
            #expect(!hit.body.contains(GuardrailTests.awsKey))
            let streamed = try await gateway.request("/v1/chat/completions", key: guarded,
                body: Gateway.chat("the key is \(GuardrailTests.awsKey)", stream: true))
            #expect(streamed.header("x-scutum-cache") == "hit")
            #expect(!streamed.body.contains(GuardrailTests.awsKey))
        }
    }

    @Test("Redis unreachable: every request is a miss, served, never a 5xx")
    func redisDown() async throws {
        try await Gateway.with(redisURL: "redis://127.0.0.1:1") { gateway in
            try await Self.settings(Self.on, on: [gateway])
            for _ in 0..<3 {
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat("no redis"))
                #expect(result.status == 200)
                #expect(result.header("x-scutum-cache") == "miss")
            }
            #expect(Self.upstreamCalls(gateway) == 3)
        }
    }
}
