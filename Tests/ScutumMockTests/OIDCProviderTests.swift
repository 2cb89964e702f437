import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ScutumMock
import Testing

@Suite("OIDC identity provider in the mock")
struct OIDCProviderTests {
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    static let redirect = "http://app.example/cb?x=1"

    static func app(_ provider: OIDCProvider) -> some ApplicationProtocol {
        Application(router: MockUpstream.router(knobs: MockKnobs(), log: nil, oidc: provider))
    }

    static func form(_ fields: [(String, String)]) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }
            .joined(separator: "&")
    }

    static let authorization: [(String, String)] = [
        ("response_type", "code"), ("client_id", OIDCProvider.defaultClient.id), ("redirect_uri", redirect),
        ("scope", "openid email"), ("state", "s-1"), ("nonce", "n-1"), ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]

    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// Posts the login form and returns the code from the redirect.
    static func code(_ client: some TestClientProtocol, email: String = "grace@example.com") async throws -> String {
        try await client.execute(uri: "/oidc/authorize", method: .post, headers: formHeaders,
            body: MockTest.body(form(authorization + [("email", email)]))) { response in
            #expect(response.status == .found)
            let location = response.headers[.location] ?? ""
            #expect(location.hasPrefix(redirect + "&code="))
            #expect(location.hasSuffix("&state=s-1"))
            let items = URLComponents(string: location)?.queryItems ?? []
            return items.first { $0.name == "code" }?.value ?? ""
        }
    }

    @Test("OIDC mock: discovery names the issuer, endpoints and S256; the login form carries the request")
    func discoveryAndForm() async throws {
        try await Self.app(OIDCProvider()).test(.router) { client in
            // The router test client's authority is `localhost`; the issuer follows the request's host.
            try await client.execute(uri: "/oidc/.well-known/openid-configuration", method: .get) { response in
                let document = MockTest.json(response.body)
                #expect(document["issuer"] as? String == "http://localhost/oidc")
                #expect(document["token_endpoint"] as? String == "http://localhost/oidc/token")
                #expect(document["jwks_uri"] as? String == "http://localhost/oidc/jwks")
                #expect(document["code_challenge_methods_supported"] as? [String] == ["S256"])
            }
            let query = Self.form(Self.authorization)
            try await client.execute(uri: "/oidc/authorize?" + query, method: .get) { response in
                #expect(response.status == .ok)
                let html = MockTest.text(response.body)
                #expect(html.contains(#"<input type="hidden" name="nonce" value="n-1">"#))
                #expect(html.contains(#"<input type="hidden" name="redirect_uri" value="http://app.example/cb?x=1">"#))
                #expect(html.contains(#"<input type="email" name="email""#))
            }
        }
    }

    @Test("OIDC mock: requests without PKCE are sent back with an error; unknown clients are shown one")
    func authorizeRefusals() async throws {
        try await Self.app(OIDCProvider()).test(.router) { client in
            let noPKCE = Self.authorization.filter { $0.0 != "code_challenge" }
            try await client.execute(uri: "/oidc/authorize?" + Self.form(noPKCE), method: .get) { response in
                #expect(response.status == .found)
                #expect((response.headers[.location] ?? "").hasPrefix(Self.redirect + "&error=invalid_request"))
            }
            let unknown = Self.authorization.map { $0.0 == "client_id" ? ($0.0, "stranger") : $0 }
            try await client.execute(uri: "/oidc/authorize?" + Self.form(unknown), method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.location] == nil)
            }
        }
    }

    @Test("OIDC mock: the token endpoint takes form credentials, checks PKCE, and spends codes")
    func tokenEndpoint() async throws {
        let provider = OIDCProvider(groupsClaim: "roles")
        provider.setGroups(["ops"], for: "grace@example.com")
        try await Self.app(provider).test(.router) { client in
            let code = try await Self.code(client)
            let exchange = Self.form([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Self.redirect),
                ("client_id", OIDCProvider.defaultClient.id), ("client_secret", OIDCProvider.defaultClient.secret),
                ("code_verifier", Self.verifier)])
            try await client.execute(uri: "/oidc/token", method: .post, headers: Self.formHeaders,
                body: MockTest.body(exchange)) { response in
                #expect(response.status == .ok)
                let body = MockTest.json(response.body)
                #expect(body["token_type"] as? String == "Bearer")
                let parts = (body["id_token"] as? String ?? "").split(separator: ".").map(String.init)
                #expect(parts.count == 3)
                let claims = MockTest.json(String(decoding: Self.base64URL(parts.count == 3 ? parts[1] : ""), as: UTF8.self))
                #expect(claims["aud"] as? String == OIDCProvider.defaultClient.id)
                #expect(claims["nonce"] as? String == "n-1")
                #expect(claims["roles"] as? [String] == ["ops"])
                #expect(claims["email"] as? String == "grace@example.com")
            }
            try await client.execute(uri: "/oidc/token", method: .post, headers: Self.formHeaders,
                body: MockTest.body(exchange)) { response in
                #expect(response.status == .badRequest)
                #expect(MockTest.json(response.body)["error"] as? String == "invalid_grant")
            }
            let second = try await Self.code(client)
            let wrong = Self.form([("grant_type", "authorization_code"), ("code", second), ("redirect_uri", Self.redirect),
                ("client_id", OIDCProvider.defaultClient.id), ("client_secret", OIDCProvider.defaultClient.secret),
                ("code_verifier", String(Self.verifier.reversed()))])
            try await client.execute(uri: "/oidc/token", method: .post, headers: Self.formHeaders,
                body: MockTest.body(wrong)) { response in
                #expect(response.status == .badRequest)
                #expect(MockTest.json(response.body)["error"] as? String == "invalid_grant")
            }
        }
    }

    @Test("OIDC mock: the rotation hook publishes a new kid, keeping or dropping the old one")
    func rotationHook() async throws {
        let provider = OIDCProvider()
        try await Self.app(provider).test(.router) { client in
            let first = provider.currentKeyID
            let kids: @Sendable (ByteBuffer) -> [String] = { buffer in
                (MockTest.json(buffer)["keys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String }
            }
            try await client.execute(uri: "/oidc/jwks", method: .get) { response in
                #expect(kids(response.body) == [first])
                let key = (MockTest.json(response.body)["keys"] as? [[String: Any]])?.first ?? [:]
                #expect(key["kty"] as? String == "RSA" && key["alg"] as? String == "RS256")
                #expect(Self.base64URL(key["n"] as? String ?? "").count == 256)
            }
            let second = try await client.execute(uri: "/oidc/__mock/rotate", method: .post) { response in
                MockTest.json(response.body)["kid"] as? String ?? ""
            }
            #expect(second != first && provider.currentKeyID == second)
            try await client.execute(uri: "/oidc/jwks", method: .get) { response in
                #expect(kids(response.body) == [first, second])
            }
            let third = try await client.execute(uri: "/oidc/__mock/rotate?keep_previous=false", method: .post) { response in
                MockTest.json(response.body)["kid"] as? String ?? ""
            }
            try await client.execute(uri: "/oidc/jwks", method: .get) { response in
                #expect(kids(response.body) == [third])
            }
        }
    }

    static func base64URL(_ text: String) -> Data {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard) ?? Data()
    }
}
