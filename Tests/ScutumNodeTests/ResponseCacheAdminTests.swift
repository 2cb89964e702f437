import Foundation
import NIOHTTP1
import ScutumCluster
import ScutumCore
import ScutumRedis
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("Response cache: DELETE /api/v1/cache and the realtime cache figures")
struct ResponseCacheAdminTests {
    /// Sends `DELETE /api/v1/cache?<query>` with `token` and answers the result.
    static func clear(_ gateway: Gateway, _ query: String, token: String?) async throws -> HTTPResult {
        try await Gateway.send(.DELETE, gateway.adminURL + "/api/v1/cache" + (query.isEmpty ? "" : "?" + query),
            key: token, body: nil)
    }

    /// The node's cache store (its Redis, its namespace).
    static func store(_ gateway: Gateway) -> ResponseCacheStore {
        ResponseCacheStore(redis: gateway.node.redis, namespace: gateway.node.configuration.redisNamespace)
    }

    /// Stores one entry in each scope for each model and answers them by (scope, model).
    static func fill(_ store: ResponseCacheStore, scopes: [ResponseCacheStore.Scope], models: [String]) async throws
        -> [String]
    {
        var keys: [String] = []
        for scope in scopes {
            for model in models {
                let key = store.key(scope: scope, model: model, hash: "feed01")
                try await store.set(key, Array(#"{"id":"chatcmpl-cached"}"#.utf8), ttl: .seconds(300))
                keys.append(key)
            }
        }
        return keys
    }

    /// Which of `keys` are still stored.
    static func stored(_ store: ResponseCacheStore, _ keys: [String]) async throws -> Set<String> {
        var present: Set<String> = []
        for key in keys where try await store.get(key) != nil { present.insert(key) }
        return present
    }

    @Test("deletes per key, per team (the team's scope and its keys' scopes), per model, and everything; audited")
    func deleteByFilter() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            let teams = TeamStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
            try await teams.create(TeamRecord(teamID: "ml", alias: "ML"))
            let (_, member) = try await gateway.keys.create(alias: "member", settings: KeySettings(teamID: "ml"))
            let (_, loner) = try await gateway.keys.create(alias: "loner")
            let store = Self.store(gateway)
            let scopes: [ResponseCacheStore.Scope] = [.global, .team("ml"), .team("other"), .key(member.keyID),
                .key(loner.keyID)]
            let keys = try await Self.fill(store, scopes: scopes, models: ["gpt-test", "gpt-mini"])
            func entry(_ scope: ResponseCacheStore.Scope, _ model: String) -> String {
                store.key(scope: scope, model: model, hash: "feed01")
            }

            let byKey = try await Self.clear(gateway, "key_id=\(loner.keyID)&model=gpt-mini", token: token)
            #expect(byKey.status == 200, "\(byKey.body)")
            #expect(try byKey.json["deleted"] as? Int == 1)
            #expect(try await Self.stored(store, keys) == Set(keys).subtracting([entry(.key(loner.keyID), "gpt-mini")]))

            let byTeam = try await Self.clear(gateway, "team_id=ml", token: token)
            #expect(try byTeam.json["deleted"] as? Int == 4)
            let afterTeam = try await Self.stored(store, keys)
            #expect(!afterTeam.contains(entry(.team("ml"), "gpt-test")) && !afterTeam.contains(entry(.key(member.keyID), "gpt-mini")))
            #expect(afterTeam.count == 5 && afterTeam.contains(entry(.team("other"), "gpt-test")))

            let byModel = try await Self.clear(gateway, "model=gpt-test", token: token)
            #expect(try byModel.json["deleted"] as? Int == 3)
            let everything = try await Self.clear(gateway, "", token: token)
            #expect(try everything.json["deleted"] as? Int == 2)
            #expect(try await Self.stored(store, keys).isEmpty)

            let audit = try await Gateway.send(.GET, gateway.adminURL + "/api/v1/audit-log", key: token, body: nil)
            let entries = try #require(try audit.json["entries"] as? [[String: Any]])
            let clears = entries.filter { $0["action"] as? String == "cache.clear" }
            #expect(clears.count == 4)
            #expect(clears.contains { $0["target_id"] as? String == "ml" })
        }
    }

    @Test("bad parameters are 422 naming the parameter, no token is 401, and nothing is deleted")
    func refusals() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            let store = Self.store(gateway)
            let keys = try await Self.fill(store, scopes: [.global], models: ["gpt-test"])
            let invalid = [
                ("key_id=not-a-uuid", "key_id"), ("team=ml", "team"), ("key_id=", "key_id"), ("model=", "model"),
                ("team_id=" + String(repeating: "t", count: 129), "team_id"),
                ("key_id=\(UUID().uuidString)&team_id=ml", "team_id"),
            ]
            for (query, name) in invalid {
                let result = try await Self.clear(gateway, query, token: token)
                #expect(result.status == 422, "\(query): \(result.body)")
                let detail = try #require(try result.json["detail"] as? [[String: Any]], "\(query)")
                #expect(detail.contains { ($0["loc"] as? [String]) == ["query", name] }, "\(query): \(result.body)")
            }
            #expect(try await Self.clear(gateway, "", token: nil).status == 401)
            #expect(try await Self.stored(store, keys).count == 1)
        }
    }

    @Test("Redis unreachable: 503 with a clear message")
    func redisDown() async throws {
        try await Gateway.with(redisURL: "redis://127.0.0.1:1/0") { gateway in
            let token = try await AdminClusterTests.login(gateway)
            let result = try await Self.clear(gateway, "model=gpt-test", token: token)
            #expect(result.status == 503, "\(result.body)")
            #expect(try result.json["detail"] as? String
                == "The response cache could not be cleared: Redis did not answer; retry shortly.")
        }
    }

    @Test("recordCache adds hits, misses, bypasses and savings to the minute and the day; the report sums the window")
    func realtimeFigures() async throws {
        try await withTestRedisKeys { redis, prefix in
            let namespace = prefix + "rt"
            let recorder = RealtimeRecorder(redis: redis, namespace: namespace, logger: TestEnvironment.logger)
            let day = (Int64(Date().timeIntervalSince1970) / 86_400) * 86_400
            let now = Date(timeIntervalSince1970: Double(day + 12 * 3600 + 30))
            for (outcome, saved) in [("hit", 0.5), ("hit", 0.25), ("miss", 0.0), ("miss", 9.0), ("bypass", 0.0),
                ("stale", 1.0), ("hit", -3.0)] {
                recorder.recordCache(outcome: outcome, savedCost: saved, at: now)
            }
            recorder.recordCache(outcome: "hit", savedCost: 1, at: now.addingTimeInterval(-120))
            recorder.recordCache(outcome: "hit", savedCost: 2, at: now.addingTimeInterval(-600))
            await recorder.flush()

            let minute = RealtimeKeys(namespace: namespace).minute(now)
            #expect(try await redis.send(["HGET", RedisArgument(minute), "cache_hits"]).int == 3)
            #expect(try await redis.send(["HGET", RedisArgument(minute), "stale"]) == .null)
            let report = try await RealtimeReport(redis: redis, namespace: namespace, health: nil)
                .json(now: now, deployments: [])
            let cache = try #require(report["cache"]?.objectValue)
            #expect(cache["hits"] == 4 && cache["misses"] == 2 && cache["bypasses"] == 1)
            #expect(abs((cache["hit_rate"]?.doubleValue ?? 0) - 4.0 / 6) < 1e-9)
            #expect(abs((cache["saved_usd"]?.doubleValue ?? 0) - 1.75) < 1e-9)
            let today = try #require(report["today"]?["cache"]?.objectValue)
            #expect(today["hits"] == 5 && abs((today["saved_usd"]?.doubleValue ?? 0) - 3.75) < 1e-9)
            let series = report["series"]?.arrayValue ?? []
            #expect(series.reduce(0) { $0 + ($1["cache_hits"]?.intValue ?? 0) } == 5)

            let empty = try await RealtimeReport(redis: redis, namespace: prefix + "none", health: nil)
                .json(now: now, deployments: [])
            #expect(empty["cache"]?["hit_rate"] == .null && empty["cache"]?["hits"] == 0)
        }
    }
}
