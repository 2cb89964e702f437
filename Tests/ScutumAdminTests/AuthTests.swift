import Foundation
import HTTPTypes
import HummingbirdTesting
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

/// Every route under `/api/v1`, with a body that would pass validation where one is needed.
let everyEndpoint: [(method: HTTPRequest.Method, path: String, body: JSONValue?)] = [
    (.get, "/auth/me", nil),
    (.get, "/api/v1/keys", nil), (.get, "/api/v1/keys/00000000-0000-0000-0000-000000000000", nil),
    (.post, "/api/v1/keys/generate", [:]), (.post, "/api/v1/keys/update", ["key_id": "00000000-0000-0000-0000-000000000000"]),
    (.post, "/api/v1/keys/delete", ["keys": ["sk-x"]]), (.post, "/api/v1/keys/block", ["key": "sk-x"]),
    (.post, "/api/v1/keys/unblock", ["key": "sk-x"]),
    (.get, "/api/v1/teams", nil), (.post, "/api/v1/teams", ["team_alias": "t"]), (.get, "/api/v1/teams/t", nil),
    (.put, "/api/v1/teams/t", [:]), (.delete, "/api/v1/teams/t", nil),
    (.post, "/api/v1/teams/t/members", ["user_id": "u"]), (.delete, "/api/v1/teams/t/members/u", nil),
    (.get, "/api/v1/budgets", nil), (.post, "/api/v1/budgets", ["scope": "global"]),
    (.get, "/api/v1/budgets/00000000-0000-0000-0000-000000000000", nil),
    (.put, "/api/v1/budgets/00000000-0000-0000-0000-000000000000", [:]),
    (.delete, "/api/v1/budgets/00000000-0000-0000-0000-000000000000", nil),
    (.get, "/api/v1/models", nil), (.get, "/api/v1/models/gpt-5-mini", nil), (.put, "/api/v1/models/gpt-5-mini", [:]),
    (.get, "/api/v1/settings", nil), (.put, "/api/v1/settings", [:]),
    (.get, "/api/v1/spend/logs", nil), (.get, "/api/v1/spend/keys", nil), (.get, "/api/v1/spend/teams", nil),
    (.get, "/api/v1/spend/users", nil), (.get, "/api/v1/spend/models", nil),
    (.get, "/api/v1/guardrail-assignments", nil), (.get, "/api/v1/audit-log", nil),
    (.get, "/api/v1/guardrails", nil), (.post, "/api/v1/guardrails", ["name": "g"]),
    (.get, "/api/v1/guardrails/00000000-0000-0000-0000-000000000000", nil),
    (.put, "/api/v1/guardrails/00000000-0000-0000-0000-000000000000", [:]),
    (.delete, "/api/v1/guardrails/00000000-0000-0000-0000-000000000000", nil),
    (.post, "/api/v1/guardrails/00000000-0000-0000-0000-000000000000/assign/t", nil),
    (.delete, "/api/v1/guardrails/00000000-0000-0000-0000-000000000000/assign/t", nil),
    (.get, "/api/v1/guardrail-events", nil), (.delete, "/api/v1/cache", nil),
]

@Suite("Admin API authentication")
struct AuthTests {
    @Test("configuration defaults: port 8086, 1 MB bodies, 8 h tokens")
    func defaults() {
        let configuration = AdminConfiguration()
        #expect(configuration.port == 8086)
        #expect(configuration.maximumBodyBytes == 1024 * 1024)
        #expect(configuration.tokenLifetime == .seconds(28800))
    }

    @Test("login with the master key gives an 8-hour bearer token; /auth/me shows it")
    func masterLogin() async throws {
        try await AdminFixture.withAPI { api, _ in
            let login = try await api.call(.post, "/auth/login", ["api_key": .string(AdminFixture.masterKey)], as: .some(nil))
            #expect(login.status == .ok)
            #expect(login.json["token_type"] == "bearer")
            #expect(login.json["expires_in"] == 28800)
            let expiresAt = try #require(date(login.json["expires_at"]))
            #expect(abs(expiresAt.timeIntervalSinceNow - 28800) < 60)
            let token = try #require(login.json["access_token"]?.stringValue)
            let claims = try AdminJWT(secret: AdminFixture.secret).verify(token)
            #expect(claims.subject == "master" && claims.role == .admin)

            let me = try await api.ok(.get, "/auth/me")
            #expect(me["sub"] == "master")
            #expect(me["role"] == "admin")
            #expect(date(me["expires_at"]) != nil)
            #expect(try await api.auditEntries().contains { $0["action"] == "auth.login" })
        }
    }

    @Test("login refuses unknown keys (401), non-admin keys (403), blocked and expired admin keys (401), and a missing api_key (422)")
    func loginRefusals() async throws {
        try await AdminFixture.withAPI { api, client in
            let keys = KeyStore(client: client, logger: TestEnvironment.logger)
            let anonymous = String?.none
            expectError(try await api.call(.post, "/auth/login", ["api_key": "sk-nope"], as: anonymous), .unauthorized,
                "Invalid API key")
            expectError(try await api.call(.post, "/auth/login", ["api_key": .string(AdminFixture.masterKey + "x")],
                as: anonymous), .unauthorized, "Invalid API key")
            let (userKey, _) = try await keys.create(alias: "user", role: .user)
            expectError(try await api.call(.post, "/auth/login", ["api_key": .string(userKey)], as: anonymous), .forbidden,
                "This API key is not an admin key")
            let (blockedKey, _) = try await keys.create(alias: "blocked", role: .admin)
            try await keys.setBlocked(hash: APIKey.hash(blockedKey), true)
            expectError(try await api.call(.post, "/auth/login", ["api_key": .string(blockedKey)], as: anonymous),
                .unauthorized, "Invalid API key")
            let (expiredKey, _) = try await keys.create(alias: "old", role: .admin, expiresAt: Date(timeIntervalSinceNow: -60))
            expectError(try await api.call(.post, "/auth/login", ["api_key": .string(expiredKey)], as: anonymous),
                .unauthorized, "Invalid API key")
            expectValidationError(try await api.call(.post, "/auth/login", [:], as: anonymous), at: "body.api_key")
            expectValidationError(try await api.call(.post, "/auth/login", ["api_key": 5], as: anonymous), at: "body.api_key")
        }
    }

    @Test("an admin key logs in; its token stops working once the key is blocked or deleted")
    func adminKeyTokenRevocation() async throws {
        try await AdminFixture.withAPI { api, client in
            let keys = KeyStore(client: client, logger: TestEnvironment.logger)
            let (adminKey, record) = try await keys.create(alias: "ops", role: .admin)
            let login = try await api.call(.post, "/auth/login", ["api_key": .string(adminKey)], as: .some(nil))
            #expect(login.status == .ok)
            let token = try #require(login.json["access_token"]?.stringValue)
            let me = try await api.call(.get, "/auth/me", as: token)
            #expect(me.json["sub"] == .string(record.id.uuidString.lowercased()))
            #expect(try await api.call(.post, "/api/v1/teams", ["team_alias": "by key"], as: token).status == .ok)
            // The actor of the write is the key id.
            let entry = try #require(try await api.auditEntries().first { $0["action"] == "team.create" })
            #expect(entry["actor"] == .string(record.id.uuidString.lowercased()))

            try await keys.setBlocked(hash: record.keyHash, true)
            expectError(try await api.call(.get, "/api/v1/keys", as: token), .unauthorized, "Token has been revoked")
            try await keys.setBlocked(hash: record.keyHash, false)
            #expect(try await api.call(.get, "/api/v1/keys", as: token).status == .ok)
            try await keys.delete(hash: record.keyHash)
            expectError(try await api.call(.get, "/api/v1/keys", as: token), .unauthorized, "Token has been revoked")
        }
    }

    @Test("every endpoint: 401 without a token, for expired, tampered, alg-none, other-algorithm and wrong-secret tokens")
    func everyEndpointNeedsAValidToken() async throws {
        try await AdminFixture.withAPI { api, _ in
            let valid = AdminFixture.token()
            let parts = valid.split(separator: ".").map(String.init)
            let payload = try #require(Base64URL.decode(parts[1]).flatMap { try? JSONParser.parse($0) })
            guard case .object(var elevated) = payload else { throw AdminError.internalError }
            elevated["sub"] = "someone-else"
            let lastCharacter = parts[2].last == "A" ? "B" : "A"
            let tampered: [(String, String?)] = [
                ("Not authenticated", nil),
                ("Token has expired", AdminFixture.token(expiresIn: -5)),
                ("Invalid token", parts[0] + "." + parts[1] + "." + String(parts[2].dropLast()) + lastCharacter),
                ("Invalid token", AdminFixture.rawToken(header: ["alg": "HS256", "typ": "JWT"], payload: .object(elevated),
                    signature: parts[2])),
                ("Invalid token", AdminFixture.rawToken(header: ["alg": "none", "typ": "JWT"], payload: payload, signature: "")),
                ("Invalid token", AdminFixture.rawToken(header: ["alg": "none"], payload: payload, signature: parts[2])),
                ("Invalid token", AdminFixture.rawToken(header: ["alg": "HS512", "typ": "JWT"], payload: payload,
                    signature: parts[2])),
                ("Invalid token", AdminFixture.token(secret: Array("another-secret-another-secret-0000".utf8))),
                ("Invalid token", "not-a-jwt"),
                ("Invalid token", parts[0] + "." + parts[1]),
            ]
            for endpoint in everyEndpoint {
                for (detail, token) in tampered {
                    let reply = try await api.call(endpoint.method, endpoint.path, endpoint.body, as: .some(token))
                    expectError(reply, .unauthorized, detail)
                }
                // A scheme other than Bearer is no token at all.
                let basic = try await api.client.execute(uri: endpoint.path, method: endpoint.method,
                    headers: [.authorization: "Basic dXNlcjpwYXNz"])
                #expect(basic.status == .unauthorized)
            }
        }
    }

    @Test("every write refuses a user-role token with 403; every read accepts it")
    func userRoleIsReadOnly() async throws {
        try await AdminFixture.withAPI { api, client in
            // A user-role token (the login endpoint issues none; the role is checked all the same).
            let (_, record) = try await KeyStore(client: client, logger: TestEnvironment.logger).create(alias: "viewer",
                role: .admin)
            let userToken = AdminFixture.token(subject: record.id.uuidString.lowercased(), role: .user)
            for endpoint in everyEndpoint {
                let reply = try await api.call(endpoint.method, endpoint.path, endpoint.body, as: userToken)
                if endpoint.method == .get {
                    #expect(reply.status != .forbidden && reply.status != .unauthorized, "\(endpoint.path): \(reply.text)")
                } else {
                    expectError(reply, .forbidden, "Admin role required")
                }
            }
            // A master token minted with the user role is read-only too.
            let masterUser = AdminFixture.token(role: .user)
            expectError(try await api.call(.post, "/api/v1/teams", ["team_alias": "x"], as: masterUser), .forbidden,
                "Admin role required")
            #expect(try await api.call(.get, "/api/v1/teams", as: masterUser).status == .ok)
        }
    }

    @Test("a demoted or blocked admin key loses every token at once, reads included; restored, the token works again")
    func demotedOrBlockedKeyLosesItsTokens() async throws {
        try await AdminFixture.withAPI { api, client in
            let keys = KeyStore(client: client, logger: TestEnvironment.logger)
            let (adminKey, record) = try await keys.create(alias: "ops", role: .admin)
            let login = try await api.call(.post, "/auth/login", ["api_key": .string(adminKey)], as: .some(nil))
            let token = try #require(login.json["access_token"]?.stringValue)
            #expect(try await api.call(.get, "/api/v1/keys", as: token).status == .ok)
            #expect(try await api.call(.put, "/api/v1/settings", [:], as: token).status == .ok)

            let endpoints: [(method: HTTPRequest.Method, path: String, body: JSONValue?)] = [
                (.get, "/api/v1/keys", nil), (.get, "/auth/me", nil), (.put, "/api/v1/settings", [:]),
                (.post, "/api/v1/teams", ["team_alias": "x"]),
            ]
            func expectRefused(_ why: String) async throws {
                for endpoint in endpoints {
                    let reply = try await api.call(endpoint.method, endpoint.path, endpoint.body, as: token)
                    #expect(reply.status == .unauthorized, "\(why): \(endpoint.path): \(reply.text)")
                    #expect(reply.detail == "Token has been revoked", "\(why): \(endpoint.path): \(reply.text)")
                }
            }

            var demoted = record
            demoted.role = .user
            _ = try #require(try await keys.update(demoted))
            try await expectRefused("demoted")
            _ = try #require(try await keys.update(record))
            #expect(try await api.call(.get, "/api/v1/keys", as: token).status == .ok)

            try await keys.setBlocked(hash: record.keyHash, true)
            try await expectRefused("blocked")
        }
    }

    @Test("JWT: a token verifies until its exp; header and signature checks are strict")
    func jwtUnit() throws {
        let jwt = AdminJWT(secret: AdminFixture.secret)
        let claims = AdminTokenClaims(subject: "master", role: .admin, issuedAt: 1_000, expiresAt: 2_000)
        let token = jwt.sign(claims)
        #expect(try jwt.verify(token, now: Date(timeIntervalSince1970: 1_999)) == claims)
        #expect(throws: AdminError.tokenExpired) { try jwt.verify(token, now: Date(timeIntervalSince1970: 2_000)) }
        #expect(throws: AdminError.invalidToken) { try jwt.verify(token + "A", now: Date(timeIntervalSince1970: 1_500)) }
        #expect(throws: AdminError.invalidToken) {
            try AdminJWT(secret: Array("x".utf8)).verify(token, now: Date(timeIntervalSince1970: 1_500))
        }
        #expect(Base64URL.decode("a+b/") == nil)
        #expect(Base64URL.decode("YQ==") == nil)
        #expect(Base64URL.decode("YQ") == Array("a".utf8))
    }
}
