import Foundation
import HTTPTypes
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Synchronization
import Testing

@testable import ScutumAdmin

/// What the Admin API asked the node's cache to delete, and what it answers.
final class CacheClearings: Sendable {
    let selections = Mutex<[ResponseCacheSelection]>([])
    let failing: Bool

    init(failing: Bool = false) { self.failing = failing }

    /// The closure the node would provide: records the selection and answers 7.
    var clear: @Sendable (ResponseCacheSelection) async throws -> Int {
        { selection in
            self.selections.withLock { $0.append(selection) }
            if self.failing { throw CacheFailure() }
            return 7
        }
    }

    struct CacheFailure: Error {}
}

@Suite("Admin API: the response cache")
struct CacheRoutesTests {
    @Test("DELETE /api/v1/cache passes the selection on: all, a key, a team with its keys, a model; answers and audits the count")
    func selections() async throws {
        let clearings = CacheClearings()
        try await AdminFixture.withAPI(configure: { $0.clearResponseCache = clearings.clear }) { api, _ in
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "ml", "team_alias": "ML"])
            var members: [String] = []
            for _ in 0..<2 {
                members.append(try #require(try await api.ok(.post, "/api/v1/keys/generate", ["team_id": "ml"])["key_id"]?
                    .stringValue))
            }
            _ = try await api.ok(.post, "/api/v1/keys/generate", ["key_alias": "elsewhere"])
            let keyID = UUID()

            #expect(try await api.ok(.delete, "/api/v1/cache") == ["deleted": 7])
            _ = try await api.ok(.delete, "/api/v1/cache?key_id=\(keyID.uuidString)&model=gpt-5-mini")
            _ = try await api.ok(.delete, "/api/v1/cache?team_id=ml")
            _ = try await api.ok(.delete, "/api/v1/cache?team_id=nobody&model=a%20b")
            let selections = clearings.selections.withLock { $0 }
            try #require(selections.count == 4)
            #expect(selections[0] == ResponseCacheSelection(scopes: nil, model: nil))
            #expect(selections[1] == ResponseCacheSelection(scopes: [.key(keyID.wire)], model: "gpt-5-mini"))
            #expect(selections[2].model == nil && selections[2].scopes?.first == .team("ml"))
            #expect(Set(selections[2].scopes ?? []) == Set([.team("ml")] + members.map { .key($0) }))
            #expect(selections[3] == ResponseCacheSelection(scopes: [.team("nobody")], model: "a b"))

            let clears = try await api.auditEntries().filter { $0["action"] == "cache.clear" }
            #expect(clears.count == 4)
            let teamClear = try #require(clears.first { $0["target_id"] == "ml" })
            #expect(teamClear["details"]?["deleted"] == 7 && teamClear["details"]?["scopes"] == 3)
            #expect(clears.contains { $0["target_id"] == .null && $0["details"]?["scopes"] == "all" })
        }
    }

    @Test("bad or unknown parameters and key_id with team_id are 422 and delete nothing")
    func invalidParameters() async throws {
        let clearings = CacheClearings()
        try await AdminFixture.withAPI(configure: { $0.clearResponseCache = clearings.clear }) { api, _ in
            let cases = [
                ("key_id=42", "query.key_id"), ("key_id=", "query.key_id"), ("team_id=", "query.team_id"),
                ("model=", "query.model"), ("models=gpt", "query.models"), ("scope=global", "query.scope"),
                ("model=" + String(repeating: "m", count: 257), "query.model"),
                ("key_id=\(UUID().uuidString)&team_id=ml", "query.team_id"),
            ]
            for (query, location) in cases {
                expectValidationError(try await api.call(.delete, "/api/v1/cache?" + query), at: location)
            }
            #expect(clearings.selections.withLock { $0.isEmpty })
        }
    }

    @Test("without a cache on the node, or when Redis fails, 503 with the reason")
    func unavailable() async throws {
        try await AdminFixture.withAPI { api, _ in
            expectError(try await api.call(.delete, "/api/v1/cache"), .serviceUnavailable,
                "The response cache is not available on this node")
        }
        let failing = CacheClearings(failing: true)
        try await AdminFixture.withAPI(configure: { $0.clearResponseCache = failing.clear }) { api, _ in
            expectError(try await api.call(.delete, "/api/v1/cache?model=x"), .serviceUnavailable,
                "The response cache could not be cleared: Redis did not answer; retry shortly.")
            #expect(try await api.auditEntries().allSatisfy { $0["action"] != "cache.clear" })
        }
    }

    @Test("metadata.cache of keys and teams: enabled, scope and ttl_seconds accepted; anything else 422 at its field")
    func metadataValidation() async throws {
        try await AdminFixture.withAPI { api, _ in
            let good: [JSONValue] = [
                ["cache": ["enabled": true, "scope": "key", "ttl_seconds": 1]],
                ["cache": ["enabled": false, "scope": "global", "ttl_seconds": 2_592_000], "owner": "ml"],
                ["cache": ["scope": "team"]], ["cache": [:]], ["cache": nil], ["other": ["enabled": "whatever"]],
            ]
            for metadata in good {
                let team = try await api.ok(.post, "/api/v1/teams", ["team_alias": "t", "metadata": metadata])
                #expect(team["metadata"] == metadata)
                let key = try await api.ok(.post, "/api/v1/keys/generate", ["metadata": metadata])
                #expect(key["metadata"] == metadata)
            }
            let bad: [(JSONValue, String)] = [
                (["cache": true], "body.metadata.cache"), (["cache": ["enabled": "yes"]], "body.metadata.cache.enabled"),
                (["cache": ["enabled": 1]], "body.metadata.cache.enabled"),
                (["cache": ["scope": "user"]], "body.metadata.cache.scope"),
                (["cache": ["scope": 3]], "body.metadata.cache.scope"),
                (["cache": ["ttl_seconds": 0]], "body.metadata.cache.ttl_seconds"),
                (["cache": ["ttl_seconds": 2_592_001]], "body.metadata.cache.ttl_seconds"),
                (["cache": ["ttl_seconds": 60.5]], "body.metadata.cache.ttl_seconds"),
                (["cache": ["ttl_seconds": "60"]], "body.metadata.cache.ttl_seconds"),
                (["cache": ["ttl": 60]], "body.metadata.cache.ttl"),
            ]
            let team = try await api.ok(.post, "/api/v1/teams", ["team_id": "t1", "team_alias": "t"])
            let key = try await api.ok(.post, "/api/v1/keys/generate", [:])
            for (metadata, location) in bad {
                let requests: [(HTTPRequest.Method, String, JSONValue)] = [
                    (.post, "/api/v1/teams", ["team_alias": "t", "metadata": metadata]),
                    (.put, "/api/v1/teams/t1", ["metadata": metadata]),
                    (.post, "/api/v1/keys/generate", ["metadata": metadata]),
                    (.post, "/api/v1/keys/update", ["key_id": key["key_id"] ?? .null, "metadata": metadata]),
                ]
                for (method, path, body) in requests {
                    let reply = try await api.call(method, path, body)
                    expectValidationError(reply, at: location)
                    let message = reply.json["detail"]?.arrayValue?.first?["msg"]?.stringValue ?? ""
                    #expect(message.hasPrefix(String(location.dropFirst("body.".count)) + ":"), "\(message)")
                }
            }
            #expect(try await api.ok(.get, "/api/v1/teams/t1")["metadata"] == team["metadata"])
            let keyID = key["key_id"]?.stringValue ?? ""
            #expect(try await api.ok(.get, "/api/v1/keys/\(keyID)")["metadata"] == [:])
        }
    }
}
