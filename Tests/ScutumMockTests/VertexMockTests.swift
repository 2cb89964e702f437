import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ScutumMock
import Testing

/// A JWT-shaped service account assertion, built by hand: base64url header and claims and 256
/// random bytes for the RS256 signature.
enum Assertion {
    static let scope = "https://www.googleapis.com/auth/cloud-platform"

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func segment(_ object: [String: Any]) -> String {
        base64URL((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    static func claims(issuedAt: Int = Int(Date().timeIntervalSince1970), lifetime: Int = 3600, scope: String = scope,
        audience: String = "https://oauth2.googleapis.com/token") -> [String: Any]
    {
        ["iss": "mock@project.iam.gserviceaccount.com", "scope": scope, "aud": audience, "iat": issuedAt, "exp": issuedAt + lifetime]
    }

    static func make(header: [String: Any] = ["alg": "RS256", "typ": "JWT"], claims: [String: Any] = claims(),
        signatureBytes: Int = 256) -> String
    {
        let signature = Data((0..<signatureBytes).map { _ in UInt8.random(in: 0...255) })
        return segment(header) + "." + segment(claims) + "." + base64URL(signature)
    }

    static func form(_ assertion: String, grantType: String = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") -> String {
        "grant_type=\(grantType)&assertion=\(assertion)"
    }
}

@Suite("Vertex AI and Google OAuth")
struct VertexMockTests {
    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
    static let gemini = "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash"
    static let claude = "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5"
    static let question = #"{"contents":[{"role":"user","parts":[{"text":"What is the capital of France?"}]}]}"#

    /// Gets an access token from the mock's token endpoint.
    static func token(_ client: some TestClientProtocol) async throws -> String {
        try await client.execute(uri: "/token", method: .post, headers: formHeaders,
            body: MockTest.body(Assertion.form(Assertion.make()))) { response in
            MockTest.json(response.body)["access_token"] as? String ?? ""
        }
    }

    static func bearer(_ token: String) -> HTTPFields {
        [.authorization: "Bearer \(token)", .contentType: "application/json"]
    }

    @Test("a good assertion gets a Bearer token that Vertex AI accepts; token requests are logged")
    func tokenExchange() async throws {
        let log = MockRequestLog()
        try await MockTest.app(log: log).test(.router) { client in
            let assertion = Assertion.make()
            let token = try await client.execute(uri: "/token", method: .post, headers: Self.formHeaders,
                body: MockTest.body(Assertion.form(assertion))) { response in
                #expect(response.status == .ok)
                let json = MockTest.json(response.body)
                #expect(json["expires_in"] as? Int == 3599)
                #expect(json["token_type"] as? String == "Bearer")
                return json["access_token"] as? String ?? ""
            }
            #expect(token.hasPrefix("ya29.mock-"))
            #expect(log.last?.uri == "/token")
            #expect(log.last?.bodyString().contains(assertion) == true)
            try await client.execute(uri: Self.gemini + ":generateContent", method: .post, headers: Self.bearer(token),
                body: MockTest.body(Self.question)) { response in
                #expect(response.status == .ok)
                let json = MockTest.json(response.body)
                #expect(MockTest.at(json, "candidates", 0, "content", "parts", 0, "text") as? String == "The capital of France is Paris.")
                #expect(json["modelVersion"] as? String == "gemini-2.0-flash")
            }
        }
    }

    /// Assertions the real endpoint refuses: form body, error, start of the description.
    static let badForms: [(String, String, String)] = [
        (Assertion.form(Assertion.make(), grantType: "client_credentials"), "unsupported_grant_type", "Invalid grant_type: client_credentials"),
        (Assertion.form("abc.def"), "invalid_grant", "Invalid JWT"),
        (Assertion.form(Assertion.make(header: ["alg": "HS256", "typ": "JWT"])), "invalid_grant", "Invalid JWT"),
        (Assertion.form(Assertion.make(claims: Assertion.claims(scope: "https://www.googleapis.com/auth/devstorage.read_only"))),
         "invalid_scope", "Invalid OAuth scope"),
        (Assertion.form(Assertion.make(claims: Assertion.claims(audience: "https://example.com/oauth"))), "invalid_grant",
         "Invalid JWT: Failed audience check."),
        (Assertion.form(Assertion.make(claims: Assertion.claims(lifetime: 7200))), "invalid_grant", "Invalid JWT: Token must be a short-lived token"),
        (Assertion.form(Assertion.make(claims: Assertion.claims(issuedAt: Int(Date().timeIntervalSince1970) - 7200))),
         "invalid_grant", "Invalid JWT: Token must be a short-lived token"),
        (Assertion.form(Assertion.make(signatureBytes: 128)), "invalid_grant", "Invalid JWT Signature."),
        ]

    @Test("bad assertions get Google's OAuth errors", arguments: badForms)
    func badAssertions(form: String, error: String, description: String) async throws {
        try await MockTest.app().test(.router) { client in
            try await client.execute(uri: "/token", method: .post, headers: Self.formHeaders, body: MockTest.body(form)) { response in
                #expect(response.status == .badRequest)
                let json = MockTest.json(response.body)
                #expect(json["error"] as? String == error)
                #expect((json["error_description"] as? String)?.hasPrefix(description) == true)
            }
        }
    }

    @Test("Vertex AI refuses missing, unknown and expired tokens with 401 UNAUTHENTICATED")
    func unauthenticated() async throws {
        let expected = "Request had invalid authentication credentials. Expected OAuth 2 access token"
        try await MockTest.app().test(.router) { client in
            for headers: HTTPFields in [[:], Self.bearer("ya29.not-issued-here")] {
                try await client.execute(uri: Self.gemini + ":generateContent", method: .post, headers: headers,
                    body: MockTest.body(Self.question)) { response in
                    #expect(response.status == .unauthorized)
                    let json = MockTest.json(response.body)
                    #expect(MockTest.at(json, "error", "code") as? Int == 401)
                    #expect(MockTest.at(json, "error", "status") as? String == "UNAUTHENTICATED")
                    #expect((MockTest.at(json, "error", "message") as? String)?.hasPrefix(expected) == true)
                }
            }
        }
        try await MockTest.app(MockKnobs(tokenLifetimeSeconds: 0)).test(.router) { client in
            let token = try await Self.token(client)
            try await client.execute(uri: Self.gemini + ":generateContent", method: .post, headers: Self.bearer(token),
                body: MockTest.body(Self.question)) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test("Vertex AI requires a role on every content and streams alt=sse like the Gemini API")
    func geminiOnVertex() async throws {
        try await MockTest.app().test(.router) { client in
            let token = try await Self.token(client)
            try await client.execute(uri: Self.gemini + ":generateContent", method: .post, headers: Self.bearer(token),
                body: MockTest.body(#"{"contents":[{"parts":[{"text":"hi"}]}]}"#)) { response in
                #expect(response.status == .badRequest)
                #expect(MockTest.at(MockTest.json(response.body), "error", "message") as? String == "Please use a valid role: user, model.")
            }
            try await client.execute(uri: Self.gemini + ":streamGenerateContent?alt=sse", method: .post, headers: Self.bearer(token),
                body: MockTest.body(Self.question)) { response in
                let events = parseSSE(MockTest.text(response.body))
                let text = events.compactMap { MockTest.at(MockTest.json($0.data), "candidates", 0, "content", "parts", 0, "text") as? String }
                #expect(text.joined() == "The capital of France is Paris.")
            }
        }
    }

    @Test("Anthropic on Vertex AI: rawPredict and streamRawPredict with anthropic_version in the body")
    func claudeOnVertex() async throws {
        let body = #"{"anthropic_version":"vertex-2023-10-16","max_tokens":50,"messages":[{"role":"user","content":"What is the capital of France?"}]}"#
        try await MockTest.app().test(.router) { client in
            let token = try await Self.token(client)
            try await client.execute(uri: Self.claude + ":rawPredict", method: .post, headers: Self.bearer(token),
                body: MockTest.body(body)) { response in
                #expect(response.status == .ok)
                #expect(MockTest.header(response, "request-id")?.hasPrefix("req_vrtx_") == true)
                let json = MockTest.json(response.body)
                #expect(json["model"] as? String == "claude-sonnet-4-5")
                #expect(MockTest.at(json, "content", 0, "text") as? String == "The capital of France is Paris.")
            }
            let streaming = body.replacingOccurrences(of: #""max_tokens":50"#, with: #""max_tokens":50,"stream":true"#)
            try await client.execute(uri: Self.claude + ":streamRawPredict", method: .post, headers: Self.bearer(token),
                body: MockTest.body(streaming)) { response in
                let events = parseSSE(MockTest.text(response.body))
                #expect(events.first?.event == "message_start")
                #expect(events.last?.event == "message_stop")
            }
            for (invalid, message) in [
                (body.replacingOccurrences(of: #""max_tokens""#, with: #""model":"claude-sonnet-4-5","max_tokens""#), "model: Extra inputs are not permitted"),
                (body.replacingOccurrences(of: #""anthropic_version":"vertex-2023-10-16","#, with: ""), "anthropic_version: Field required"),
            ] {
                try await client.execute(uri: Self.claude + ":rawPredict", method: .post, headers: Self.bearer(token),
                    body: MockTest.body(invalid)) { response in
                    #expect(response.status == .badRequest)
                    #expect(MockTest.at(MockTest.json(response.body), "error", "message") as? String == message)
                }
            }
            try await client.execute(uri: Self.claude + ":rawPredict", method: .post, headers: [:], body: MockTest.body(body)) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }
}
