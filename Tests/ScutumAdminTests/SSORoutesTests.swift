import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ScutumCore
import ScutumMock
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

/// Single sign-on through the mock identity provider: `/auth/sso/login` to the provider's form and
/// back to `/auth/sso/callback`, ending in a console session for the user the id token names.
@Suite("Admin API: single sign-on")
struct SSORoutesTests {
    static let redirectURI = "http://127.0.0.1:1/auth/sso/callback"

    /// The Admin API with SSO against the fixture's provider, logged in with the master key.
    static func withSSO(allowedDomains: [String] = [],
        _ body: @escaping @Sendable (AdminAPI, OIDCFixture) async throws -> Void) async throws
    {
        try await OIDCFixture.with { fixture in
            try await AdminFixture.withAPI(configure: { dependencies in
                dependencies.sso = SSOConfiguration(issuer: fixture.issuer, clientID: OIDCProvider.defaultClient.id,
                    clientSecret: OIDCProvider.defaultClient.secret, redirectURI: Self.redirectURI,
                    allowedDomains: allowedDomains, extraScopes: ["groups"])
                dependencies.httpClient = fixture.http
            }) { api, _ in try await body(api, fixture) }
        }
    }

    /// How a sign-in attempt ended: the console URL's fragment parameters.
    struct Landing {
        var location: String
        var fragment: [String: String]
        var token: String? { fragment["sso_token"] }
        var error: String? { fragment["sso_error"] }
    }

    /// Starts a sign-in: the provider URL and the state cookie (`name=value`).
    static func begin(_ api: AdminAPI) async throws -> (url: String, cookie: String) {
        let reply = try await api.call(.get, "/auth/sso/login", as: .some(nil))
        #expect(reply.status == .found)
        let url = try #require(reply.headers[.location])
        let setCookie = try #require(reply.headers[.setCookie])
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Lax") && setCookie.contains("Path=/auth/sso"))
        return (url, String(setCookie.prefix { $0 != ";" }))
    }

    /// The browser's return to the callback with `query` and `cookie`.
    static func callback(_ api: AdminAPI, query: [String: String], cookie: String?) async throws -> Landing {
        let encoded = query.sorted { $0.key < $1.key }.map { name, value in
            name + "=" + (value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value)
        }.joined(separator: "&")
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        let response = try await api.client.execute(uri: "/auth/sso/callback?" + encoded, method: .get, headers: headers)
        #expect(response.status == .found)
        #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true, "the state cookie is cleared")
        let location = try #require(response.headers[.location])
        #expect(location.hasPrefix("http://127.0.0.1:1/#"))
        var fragment: [String: String] = [:]
        for pair in location.split(separator: "#", maxSplits: 1).last?.split(separator: "&") ?? [] {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fragment[String(parts[0])] = String(parts[1]).removingPercentEncoding }
        }
        return Landing(location: location, fragment: fragment)
    }

    /// A whole sign-in as `email`.
    static func signIn(_ api: AdminAPI, _ fixture: OIDCFixture, email: String) async throws -> Landing {
        let (url, cookie) = try await begin(api)
        let query = try await fixture.logIn(url: url, email: email, redirectURI: redirectURI)
        return try await callback(api, query: query, cookie: cookie)
    }

    @Test("an SSO admin (by group) lands on the console with a session naming them; the user is recorded and audited")
    func adminByGroup() async throws {
        try await Self.withSSO { api, fixture in
            let status = try await api.call(.get, "/auth/sso", as: .some(nil))
            #expect(status.json == ["enabled": true, "master_key_login": true])
            fixture.provider.setGroups(["scutum-admins"], for: "ada@example.com")
            let landing = try await Self.signIn(api, fixture, email: "ada@example.com")
            let token = try #require(landing.token, "\(landing.location)")
            #expect(Int(landing.fragment["expires_at"] ?? "") ?? 0 > Int(Date().timeIntervalSince1970))
            let me = try await api.call(.get, "/auth/me", as: token)
            #expect(me.json["access"] == "admin" && me.json["user"]?["email"] == "ada@example.com")
            #expect(try await api.call(.post, "/api/v1/teams", ["team_alias": "by-ada"], as: token).status == .ok)
            let users = try await api.ok(.get, "/api/v1/users")["users"]?.arrayValue ?? []
            let ada = try #require(users.first { $0["email"] == "ada@example.com" })
            #expect(ada["source"] == "sso" && ada["role"] == "admin" && ada["last_login_at"] != .null)
            let entries = try await api.auditEntries()
            #expect(entries.contains { $0["action"] == "auth.sso_login" && $0["actor"] == "user:ada@example.com" })
            #expect(entries.contains { $0["action"] == "team.create" && $0["actor"] == "user:ada@example.com" })
        }
    }

    @Test("team groups give memberships (unknown teams ignored); a later sign-in with other groups changes them, same user")
    func teamsByGroup() async throws {
        try await Self.withSSO { api, fixture in
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "A", "team_alias": "Team A"])
            fixture.provider.setGroups(["scutum-team:A:member", "scutum-team:ghost:member", "other"], for: "bo@example.com")
            let first = try #require(try await Self.signIn(api, fixture, email: "bo@example.com").token)
            let me = try await api.call(.get, "/auth/me", as: first)
            #expect(me.json["access"] == "team")
            #expect(me.json["teams"] == [["team_id": "A", "team_alias": "Team A", "role": "member"]])
            fixture.provider.setGroups(["scutum-team:A:team_admin"], for: "bo@example.com")
            let second = try #require(try await Self.signIn(api, fixture, email: "bo@example.com").token)
            let again = try await api.call(.get, "/auth/me", as: second)
            #expect(again.json["teams"] == [["team_id": "A", "team_alias": "Team A", "role": "team_admin"]])
            #expect(again.json["user"]?["user_id"] == me.json["user"]?["user_id"])
            // The first session reads the record afresh too: Bo is team admin in it as well.
            #expect(try await api.call(.post, "/api/v1/teams/A/members", ["email": "cy@example.com"], as: first).status == .ok)
        }
    }

    @Test("an invited user without mapped groups keeps the memberships admins gave; nobody without any is let in")
    func invitedAndUnknown() async throws {
        try await Self.withSSO { api, fixture in
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "T", "team_alias": "T"])
            let invited = try await api.ok(.post, "/api/v1/users",
                ["email": "dee@example.com", "teams": [["team_id": "T", "role": "member"]]])
            let token = try #require(try await Self.signIn(api, fixture, email: "Dee@Example.com").token)
            let me = try await api.call(.get, "/auth/me", as: token)
            #expect(me.json["user"]?["user_id"] == invited["user_id"])
            #expect(me.json["teams"] == [["team_id": "T", "team_alias": "T", "role": "member"]])
            let stranger = try await Self.signIn(api, fixture, email: "eve@example.com")
            #expect(stranger.token == nil)
            #expect(stranger.error == "This user has no role in Scutum yet; ask an admin to add you to a team.")
            // Disabled: refused at the callback.
            let id = try #require(invited["user_id"]?.stringValue)
            _ = try await api.ok(.put, "/api/v1/users/\(id)", ["status": "disabled"])
            #expect(try await Self.signIn(api, fixture, email: "dee@example.com").error == "This user is disabled.")
        }
    }

    @Test("a provider e-mail that another user holds is refused with the reason, not a server error")
    func emailTaken() async throws {
        try await Self.withSSO { api, fixture in
            fixture.provider.setGroups(["scutum-viewers"], for: "bo@example.com")
            _ = try #require(try await Self.signIn(api, fixture, email: "bo@example.com").token)
            // Bo's user is renamed in Scutum and the e-mail given to someone invited; the provider still
            // says bo@example.com for Bo's subject.
            let users = try await api.ok(.get, "/api/v1/users")["users"]?.arrayValue ?? []
            let bo = try #require(users.first { $0["email"] == "bo@example.com" }?["user_id"]?.stringValue)
            _ = try await api.ok(.put, "/api/v1/users/\(bo)", ["email": "bo-old@example.com"])
            _ = try await api.ok(.post, "/api/v1/users", ["email": "bo@example.com", "role": "viewer"])
            let landing = try await Self.signIn(api, fixture, email: "bo@example.com")
            #expect(landing.token == nil)
            #expect(landing.error == "Another Scutum user has the e-mail bo@example.com; ask an admin to merge or rename them.")
        }
    }

    @Test("e-mail domains outside the allowed list are refused")
    func domains() async throws {
        try await Self.withSSO(allowedDomains: ["example.com"]) { api, fixture in
            fixture.provider.setGroups(["scutum-admins"], for: "mallory@evil.test")
            let landing = try await Self.signIn(api, fixture, email: "mallory@evil.test")
            #expect(landing.token == nil && landing.error == "E-mail addresses at evil.test may not sign in here.")
            fixture.provider.setGroups(["scutum-admins"], for: "ok@example.com")
            #expect(try await Self.signIn(api, fixture, email: "ok@example.com").token != nil)
        }
    }

    @Test("a callback with another sign-in's state, without the cookie, with a tampered cookie or a wrong nonce is refused")
    func stateAndNonce() async throws {
        try await Self.withSSO { api, fixture in
            fixture.provider.setGroups(["scutum-admins"], for: "ada@example.com")
            // The state of sign-in 1 with the cookie of sign-in 2.
            let (url1, _) = try await Self.begin(api)
            let (_, cookie2) = try await Self.begin(api)
            let query1 = try await fixture.logIn(url: url1, email: "ada@example.com", redirectURI: Self.redirectURI)
            let crossed = try await Self.callback(api, query: query1, cookie: cookie2)
            #expect(crossed.token == nil && crossed.error == "The identity provider's answer was refused: the state does not match.")
            // No cookie at all, and a cookie whose ciphertext was changed.
            let (url3, cookie3) = try await Self.begin(api)
            let query3 = try await fixture.logIn(url: url3, email: "ada@example.com", redirectURI: Self.redirectURI)
            #expect(try await Self.callback(api, query: query3, cookie: nil).error
                == "The sign-in could not be matched to this browser; start again.")
            var tampered = Array(cookie3)
            let index = tampered.count - 5
            tampered[index] = tampered[index] == "A" ? "B" : "A"
            #expect(try await Self.callback(api, query: query3, cookie: String(tampered)).error
                == "The sign-in state was not valid; start again.")
            // The right state and verifier but another nonce: the id token's nonce does not match.
            let (url4, cookie4) = try await Self.begin(api)
            let secretBox = SSOStateCookie(secret: AdminFixture.secret)
            let pending = try secretBox.open(cookieHeader: cookie4)
            var forged = pending
            forged.nonce = "another-nonce"
            let forgedCookie = String(try secretBox.set(forged, secure: false).prefix { $0 != ";" })
            let query4 = try await fixture.logIn(url: url4, email: "ada@example.com", redirectURI: Self.redirectURI)
            #expect(try await Self.callback(api, query: query4, cookie: forgedCookie).error
                == "The identity provider's answer was refused: the id token's nonce does not match.")
            // After all that, a normal sign-in still works.
            #expect(try await Self.signIn(api, fixture, email: "ada@example.com").token != nil)
        }
    }

    @Test("without SSO configured, its routes say so")
    func notConfigured() async throws {
        try await AdminFixture.withAPI { api, _ in
            #expect(try await api.call(.get, "/auth/sso", as: .some(nil)).json == ["enabled": false, "master_key_login": true])
            expectError(try await api.call(.get, "/auth/sso/login", as: .some(nil)), .notFound,
                "Single sign-on is not configured")
        }
    }

    @Test("SSO settings from the environment: all four required together, URLs checked")
    func environment() throws {
        #expect(try SSOConfiguration.fromEnvironment([:]) == nil)
        let full = [
            "SCUTUM_OIDC_ISSUER": "https://idp.example.com", "SCUTUM_OIDC_CLIENT_ID": "c", "SCUTUM_OIDC_CLIENT_SECRET": "s",
            "SCUTUM_OIDC_REDIRECT_URI": "https://console.example.com/auth/sso/callback",
            "SCUTUM_OIDC_ALLOWED_DOMAINS": "Example.com, corp.example", "SCUTUM_OIDC_ADMIN_GROUPS": "ops",
        ]
        let configuration = try #require(try SSOConfiguration.fromEnvironment(full))
        #expect(configuration.allowedDomains == ["example.com", "corp.example"] && configuration.adminGroups == ["ops"])
        var missing = full
        missing["SCUTUM_OIDC_CLIENT_SECRET"] = nil
        #expect(throws: SSOConfigurationError.missing("SCUTUM_OIDC_CLIENT_SECRET")) {
            try SSOConfiguration.fromEnvironment(missing)
        }
        var bad = full
        bad["SCUTUM_OIDC_REDIRECT_URI"] = "console/callback"
        #expect(throws: SSOConfigurationError.invalid("SCUTUM_OIDC_REDIRECT_URI", "an http(s) URL")) {
            try SSOConfiguration.fromEnvironment(bad)
        }
    }
}
