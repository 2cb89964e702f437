import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ScutumAdmin
import ScutumCore
import ScutumMock
import Synchronization
import Testing

/// A clock the test moves by hand (the JWKS cache's refetch rate limit reads it).
final class OIDCTestClock: Sendable {
    private let current = Mutex(Date())
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// Counts calls from a `@Sendable` closure.
final class OIDCTestCounter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() { count.withLock { $0 += 1 } }
}

/// Which answer a fake JWKS gives, changed by the test.
final class OIDCTestServed: Sendable {
    private let state = Mutex(0)
    var value: Int {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}

/// The mock upstream on a real port with its OIDC identity provider, and a relying party for it.
struct OIDCFixture: Sendable {
    static let redirectURI = "http://127.0.0.1:1/sso/callback"

    let provider: OIDCProvider
    let base: String
    let http: HTTPClient
    let clock: OIDCTestClock

    var issuer: String { base + "/oidc" }

    /// Starts the mock (port 0), runs `body`, then stops it.
    static func with(provider: OIDCProvider = OIDCProvider(),
        _ body: @escaping @Sendable (OIDCFixture) async throws -> Void) async throws
    {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "oidc-mock")
        logger.logLevel = .critical
        let app = MockUpstream.application(host: "127.0.0.1", port: 0, knobs: MockKnobs(), log: nil, logger: logger,
            oidc: provider) { port in continuation.yield(port) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            var configuration = HTTPClient.Configuration()
            configuration.redirectConfiguration = .disallow
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let fixture = OIDCFixture(provider: provider, base: "http://127.0.0.1:\(port)", http: http, clock: OIDCTestClock())
            do {
                try await body(fixture)
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }

    func configuration(clientID: String = OIDCProvider.defaultClient.id,
        secret: String = OIDCProvider.defaultClient.secret) -> OIDCClient.Configuration
    {
        OIDCClient.Configuration(issuer: issuer, clientID: clientID, clientSecret: secret, redirectURI: Self.redirectURI,
            scopes: ["openid", "email", "profile", "groups"], timeout: .seconds(10))
    }

    func client() async throws -> OIDCClient {
        let clock = self.clock
        return try await OIDCClient.discover(configuration(), httpClient: http, now: { clock.now })
    }

    /// Opens the authorization URL, fills in the login form (its hidden fields as served) and posts
    /// it; returns the query of the redirect back to the relying party.
    func logIn(_ request: OIDCAuthorizationRequest, email: String) async throws -> [String: String] {
        try await logIn(url: request.url, email: email, redirectURI: Self.redirectURI)
    }

    /// Opens `url` (an authorization URL), logs in as `email`, and returns the query of the redirect
    /// back to `redirectURI`.
    func logIn(url: String, email: String, redirectURI: String) async throws -> [String: String] {
        let page = try await http.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        #expect(page.status == .ok)
        let html = String(buffer: try await page.body.collect(upTo: 1 << 20))
        #expect(html.contains(#"<input type="email" name="email""#))
        var fields = Self.hiddenFields(html)
        fields.append(("email", email))
        let action = try #require(Self.formAction(html))
        var post = HTTPClientRequest(url: base + action)
        post.method = .POST
        post.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        post.body = .bytes(ByteBuffer(string: fields.map { Self.encode($0.0) + "=" + Self.encode($0.1) }.joined(separator: "&")))
        let redirect = try await http.execute(post, timeout: .seconds(10))
        #expect(redirect.status == .found)
        let location = try #require(redirect.headers.first(name: "Location"))
        #expect(location.hasPrefix(redirectURI + "?"))
        let components = try #require(URLComponents(string: location))
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        return query
    }

    /// A discovered client, a fresh authorization request, and the query of the redirect back after
    /// logging in as ada@example.com.
    func loggedIn() async throws -> (client: OIDCClient, request: OIDCAuthorizationRequest, callback: [String: String]) {
        let client = try await client()
        let request = client.authorizationRequest()
        return (client, request, try await logIn(request, email: "ada@example.com"))
    }

    /// Exchanges `code`; the error, or nil.
    static func exchangeError(_ client: OIDCClient, code: String, verifier: String) async -> OIDCError? {
        await oidcError { () async throws(OIDCError) in _ = try await client.exchange(code: code, codeVerifier: verifier) }
    }

    /// Claims as the provider would issue them to the default client, signed by its current key.
    func claims(nonce: String = "nonce-1", now: Date = Date()) -> OIDCProvider.IDTokenClaims {
        let time = Int(now.timeIntervalSince1970)
        return OIDCProvider.IDTokenClaims(issuer: issuer, subject: "user-1", audience: [OIDCProvider.defaultClient.id],
            expiresAt: time + 300, issuedAt: time, nonce: nonce, email: "ada@example.com", name: "Ada",
            groups: ["admins"])
    }

    static func hiddenFields(_ html: String) -> [(String, String)] {
        let pattern = #/<input type="hidden" name="([^"]*)" value="([^"]*)">/#
        return html.matches(of: pattern).map { (unescape(String($0.output.1)), unescape(String($0.output.2))) }
    }

    static func formAction(_ html: String) -> String? {
        html.firstMatch(of: #/<form method="post" action="([^"]*)">/#).map { unescape(String($0.output.1)) }
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? text
    }

    /// The token with `transform` applied to its payload JSON text, the signature left as it was.
    static func tamperPayload(_ token: String, _ transform: (String) -> String) -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let payload = String(decoding: Base64URL.decode(parts[1]) ?? [], as: UTF8.self)
        return parts[0] + "." + Base64URL.encode(Array(transform(payload).utf8)) + "." + parts[2]
    }
}

/// Runs `body` and returns the OIDC error it throws (nil when it succeeds).
func oidcError(_ body: () async throws(OIDCError) -> Void) async -> OIDCError? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}

@Suite("OIDC: the authorization code flow with PKCE against the mock identity provider")
struct OIDCFlowTests {
    @Test("OIDC discovery, authorize, login form, code, PKCE token exchange and verified claims, offline")
    func fullFlow() async throws {
        let provider = OIDCProvider()
        provider.setGroups(["scutum-admins", "ml"], for: "Ada@Example.com")
        try await OIDCFixture.with(provider: provider) { fixture in
            let client = try await fixture.client()
            #expect(client.metadata.issuer == fixture.issuer)
            #expect(client.metadata.tokenEndpoint == fixture.issuer + "/token")
            let request = client.authorizationRequest()
            #expect(request.url.hasPrefix(fixture.issuer + "/authorize?"))
            #expect(request.url.contains("code_challenge=" + PKCE.challenge(for: request.codeVerifier)))
            #expect(request.url.contains("code_challenge_method=S256"))
            #expect(request.state != request.nonce && request.state.count == 43)

            let callback = try await fixture.logIn(request, email: "ada@example.com")
            #expect(callback["state"] == request.state)
            #expect((callback["code"] ?? "").count >= 32)
            let claims = try await client.completeLogin(callbackQuery: callback, request: request)
            #expect(claims.issuer == fixture.issuer)
            #expect(claims.audience == [OIDCProvider.defaultClient.id])
            #expect(claims.email == "ada@example.com")
            #expect(claims.name == "ada")
            #expect(claims.nonce == request.nonce)
            #expect(claims.groups == ["scutum-admins", "ml"])
            #expect(claims.subject.hasPrefix("user-"))
            #expect(claims.expiresAt - claims.issuedAt == Int64(provider.idTokenLifetimeSeconds))
        }
    }

    @Test("OIDC: a callback whose state differs is refused before the code is exchanged")
    func stateMismatch() async throws {
        try await OIDCFixture.with { fixture in
            let (client, request, returned) = try await fixture.loggedIn()
            var callback = returned
            callback["state"] = client.authorizationRequest().state
            let error = await oidcError { () async throws(OIDCError) in
                _ = try await client.completeLogin(callbackQuery: callback, request: request)
            }
            #expect(error == .stateMismatch)
            // The code was not spent: it still exchanges.
            let tokens = try await client.exchange(code: callback["code"] ?? "", codeVerifier: request.codeVerifier)
            #expect(tokens.tokenType == "Bearer")
            #expect(tokens.accessToken != nil)
        }
    }

    @Test("OIDC token endpoint: a wrong PKCE verifier is refused (invalid_grant), and the code is spent")
    func wrongVerifier() async throws {
        try await OIDCFixture.with { fixture in
            let (client, request, callback) = try await fixture.loggedIn()
            let code = callback["code"] ?? ""
            let invalidGrant = OIDCError.providerStatus(what: "token", status: 400, error: "invalid_grant")
            #expect(await OIDCFixture.exchangeError(client, code: code, verifier: PKCE().verifier) == invalidGrant)
            #expect(await OIDCFixture.exchangeError(client, code: code, verifier: request.codeVerifier) == invalidGrant)
        }
    }

    @Test("OIDC token endpoint: a code is single-use")
    func reusedCode() async throws {
        try await OIDCFixture.with { fixture in
            let (client, request, callback) = try await fixture.loggedIn()
            let code = callback["code"] ?? ""
            let first = try await client.exchange(code: code, codeVerifier: request.codeVerifier)
            _ = try await client.verifier.verify(first.idToken, nonce: request.nonce)
            #expect(await OIDCFixture.exchangeError(client, code: code, verifier: request.codeVerifier)
                == .providerStatus(what: "token", status: 400, error: "invalid_grant"))
        }
    }

    @Test("OIDC token endpoint: a wrong client secret is refused (invalid_client, 401)")
    func wrongClientSecret() async throws {
        try await OIDCFixture.with { fixture in
            let (good, request, callback) = try await fixture.loggedIn()
            let bad = OIDCClient(configuration: fixture.configuration(secret: "not-the-secret"), metadata: good.metadata,
                httpClient: fixture.http)
            #expect(await OIDCFixture.exchangeError(bad, code: callback["code"] ?? "", verifier: request.codeVerifier)
                == .providerStatus(what: "token", status: 401, error: "invalid_client"))
        }
    }

    @Test("OIDC discovery: a document naming another issuer is refused")
    func discoveryIssuerMismatch() async throws {
        try await OIDCFixture.with(provider: OIDCProvider(issuer: "https://idp.example/oidc")) { fixture in
            let error = await oidcError { () async throws(OIDCError) in
                _ = try await OIDCClient.discover(fixture.configuration(), httpClient: fixture.http)
            }
            #expect(error == .discoveryIssuerMismatch(expected: fixture.issuer, found: "https://idp.example/oidc"))
        }
    }
}

@Suite("OIDC: JWKS key rotation")
struct OIDCKeyRotationTests {
    @Test("OIDC: a token signed by a rotated-in key verifies after the JWKS refetch; refetches are rate-limited")
    func rotation() async throws {
        try await OIDCFixture.with { fixture in
            let client = try await fixture.client()
            let keys = client.verifier.keySet
            let first = fixture.provider.signIDToken(fixture.claims())
            _ = try await client.verifier.verify(first, nonce: "nonce-1")
            #expect(await keys.fetchCount == 1)

            let newKid = fixture.provider.rotateSigningKey(keepPrevious: true)
            let second = fixture.provider.signIDToken(fixture.claims())
            // Within 30 s of the last fetch, an unknown kid does not refetch.
            let early = await oidcError { () async throws(OIDCError) in
                _ = try await client.verifier.verify(second, nonce: "nonce-1")
            }
            #expect(early == .unknownKey(kid: newKid))
            #expect(await keys.fetchCount == 1)

            fixture.clock.advance(31)
            let claims = try await client.verifier.verify(second, nonce: "nonce-1")
            #expect(claims.email == "ada@example.com")
            #expect(await keys.fetchCount == 2)
            #expect(await keys.cachedKeyIDs.count == 2)
            // The previous key was kept: its tokens still verify, from the cache.
            _ = try await client.verifier.verify(first, nonce: "nonce-1")
            #expect(await keys.fetchCount == 2)
        }
    }

    @Test("OIDC: the provider rotates to an ES256 (P-256) key: the whole flow signs in with it, RS256 tokens of the kept key still verify")
    func rotationToES256() async throws {
        try await OIDCFixture.with { fixture in
            let client = try await fixture.client()
            let rsa = fixture.provider.signIDToken(fixture.claims())
            _ = try await client.verifier.verify(rsa, nonce: "nonce-1")
            // Through the mock's own hook, as a test driving it over HTTP would.
            @Sendable func text(_ method: HTTPMethod, _ path: String) async throws -> String {
                var request = HTTPClientRequest(url: fixture.issuer + path)
                request.method = method
                let response = try await fixture.http.execute(request, timeout: .seconds(10))
                return String(buffer: try await response.body.collect(upTo: 1 << 20))
            }
            let rotated = try await text(.POST, "/__mock/rotate?alg=ES256")
            #expect(rotated.contains(fixture.provider.currentKeyID))
            let jwks = try await text(.GET, "/jwks")
            #expect(jwks.contains(#""kty":"EC""#) && jwks.contains(#""crv":"P-256""#) && jwks.contains(#""kty":"RSA""#))
            fixture.clock.advance(31)
            let request = client.authorizationRequest()
            let callback = try await fixture.logIn(request, email: "grace@example.com")
            let claims = try await client.completeLogin(callbackQuery: callback, request: request)
            #expect(claims.email == "grace@example.com")
            let es256 = fixture.provider.signIDToken(fixture.claims())
            let header = try #require(Base64URL.decode(String(es256.split(separator: ".")[0])))
            #expect(String(decoding: header, as: UTF8.self).contains(#""alg":"ES256""#))
            _ = try await client.verifier.verify(es256, nonce: "nonce-1")
            _ = try await client.verifier.verify(rsa, nonce: "nonce-1")
            // An ES256 token whose signature is another P-256 key's is refused.
            let parts = es256.split(separator: ".")
            let forged = parts[0] + "." + parts[1] + "." + Base64URL.encode(
                Array(try P256.Signing.PrivateKey().signature(for: Array((parts[0] + "." + parts[1]).utf8)).rawRepresentation))
            let refused = await oidcError { () async throws(OIDCError) in
                _ = try await client.verifier.verify(String(forged), nonce: "nonce-1")
            }
            #expect(refused == .invalidSignature)
        }
    }

    @Test("OIDC: after a rotation that drops the old key, its tokens are refused once the JWKS is refetched")
    func droppedKey() async throws {
        try await OIDCFixture.with { fixture in
            let client = try await fixture.client()
            let keys = client.verifier.keySet
            let oldKid = fixture.provider.currentKeyID
            let old = fixture.provider.signIDToken(fixture.claims())
            _ = try await client.verifier.verify(old, nonce: "nonce-1")

            fixture.provider.rotateSigningKey(keepPrevious: false)
            #expect(fixture.provider.publishedKeyIDs.count == 1)
            fixture.clock.advance(31)
            _ = try await client.verifier.verify(fixture.provider.signIDToken(fixture.claims()), nonce: "nonce-1")
            #expect(await keys.fetchCount == 2)
            let error = await oidcError { () async throws(OIDCError) in
                _ = try await client.verifier.verify(old, nonce: "nonce-1")
            }
            #expect(error == .unknownKey(kid: oldKid))
        }
    }

    @Test("OIDC: an unknown kid is refused after one refetch")
    func unknownKidAfterRefetch() async throws {
        try await OIDCFixture.with { fixture in
            let client = try await fixture.client()
            let keys = client.verifier.keySet
            try await keys.refresh(force: true)
            fixture.clock.advance(31)
            let token = fixture.provider.signJWS(header: #"{"alg":"RS256","kid":"no-such-key","typ":"JWT"}"#,
                payload: fixture.provider.idTokenPayload(fixture.claims()))
            let error = await oidcError { () async throws(OIDCError) in
                _ = try await client.verifier.verify(token, nonce: "nonce-1")
            }
            #expect(error == .unknownKey(kid: "no-such-key"))
            #expect(await keys.fetchCount == 2)
        }
    }
}

@Suite("OIDC: id tokens that must be refused")
struct OIDCRefusalTests {
    /// Verifies `token` with `client`'s verifier; the error, or nil.
    static func refusal(_ client: OIDCClient, _ token: String, nonce: String = "nonce-1", now: Date = Date()) async
        -> OIDCError?
    {
        await oidcError { () async throws(OIDCError) in
            _ = try await client.verifier.verify(token, nonce: nonce, now: now)
        }
    }

    @Test("OIDC: a tampered payload or signature is refused (invalidSignature)")
    func tampered() async throws {
        try await OIDCFixture.with { fixture in
            let client = try await fixture.client()
            let token = fixture.provider.signIDToken(fixture.claims())
            #expect(await Self.refusal(client, token) == nil)
            let payload = OIDCFixture.tamperPayload(token) {
                $0.replacingOccurrences(of: "ada@example.com", with: "eve@example.com")
            }
            #expect(payload != token)
            #expect(await Self.refusal(client, payload) == .invalidSignature)
            var signature = Array(token)
            let index = token.lastIndex(of: ".").map { token.distance(from: token.startIndex, to: $0) + 20 } ?? 0
            signature[index] = signature[index] == "A" ? "B" : "A"
            #expect(await Self.refusal(client, String(signature)) == .invalidSignature)
        }
    }

    @Test("OIDC: expiry, not-before and issued-at are checked with 60 s of clock skew")
    func timing() async throws {
        try await OIDCFixture.with { fixture in
            let client = try await fixture.client()
            let now = Date()
            let time = Int(now.timeIntervalSince1970)
            var expired = fixture.claims(now: now)
            expired.expiresAt = time - 61
            #expect(await Self.refusal(client, fixture.provider.signIDToken(expired), now: now) == .expired)
            var withinSkew = fixture.claims(now: now)
            withinSkew.expiresAt = time - 30
            #expect(await Self.refusal(client, fixture.provider.signIDToken(withinSkew), now: now) == nil)

            var early = fixture.claims(now: now)
            early.notBefore = time + 120
            #expect(await Self.refusal(client, fixture.provider.signIDToken(early), now: now) == .notYetValid)
            early.notBefore = time + 30
            #expect(await Self.refusal(client, fixture.provider.signIDToken(early), now: now) == nil)

            var future = fixture.claims(now: now)
            future.issuedAt = time + 600
            future.expiresAt = time + 900
            #expect(await Self.refusal(client, fixture.provider.signIDToken(future), now: now) == .issuedInFuture)
        }
    }

    @Test("OIDC: a wrong audience, issuer or nonce is refused")
    func misaddressed() async throws {
        try await OIDCFixture.with { fixture in
            let client = try await fixture.client()
            var audience = fixture.claims()
            audience.audience = ["another-app"]
            #expect(await Self.refusal(client, fixture.provider.signIDToken(audience)) == .wrongAudience(["another-app"]))

            var several = fixture.claims()
            several.audience = [OIDCProvider.defaultClient.id, "another-app"]
            #expect(await Self.refusal(client, fixture.provider.signIDToken(several)) == .wrongAuthorizedParty(nil))
            several.authorizedParty = "another-app"
            #expect(await Self.refusal(client, fixture.provider.signIDToken(several)) == .wrongAuthorizedParty("another-app"))
            several.authorizedParty = OIDCProvider.defaultClient.id
            #expect(await Self.refusal(client, fixture.provider.signIDToken(several)) == nil)

            var issuer = fixture.claims()
            issuer.issuer = "http://evil.example/oidc"
            #expect(await Self.refusal(client, fixture.provider.signIDToken(issuer)) == .wrongIssuer("http://evil.example/oidc"))

            let token = fixture.provider.signIDToken(fixture.claims(nonce: "nonce-1"))
            #expect(await Self.refusal(client, token, nonce: "nonce-2") == .wrongNonce)
            var missing = fixture.claims()
            missing.nonce = nil
            #expect(await Self.refusal(client, fixture.provider.signIDToken(missing)) == .wrongNonce)
        }
    }

    @Test("OIDC: alg none and HMAC tokens are refused before any key is used")
    func algorithms() async throws {
        try await OIDCFixture.with { fixture in
            let client = try await fixture.client()
            let payload = Base64URL.encode(Array(fixture.provider.idTokenPayload(fixture.claims()).utf8))
            let none = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + payload + "."
            #expect(await Self.refusal(client, none) == .unsupportedAlgorithm("none"))
            let kid = fixture.provider.currentKeyID
            let hmacHeader = Base64URL.encode(Array(#"{"alg":"HS256","kid":"\#(kid)","typ":"JWT"}"#.utf8))
            let mac = HMAC<SHA256>.authenticationCode(for: Array((hmacHeader + "." + payload).utf8),
                using: SymmetricKey(data: Array(fixture.provider.jwksJSON.utf8)))
            let hs256 = hmacHeader + "." + payload + "." + Base64URL.encode(Array(mac))
            #expect(await Self.refusal(client, hs256) == .unsupportedAlgorithm("HS256"))
            // ES256 named on an RSA key: the key does not fit the algorithm.
            let es = fixture.provider.signJWS(header: #"{"alg":"ES256","kid":"\#(kid)"}"#,
                payload: fixture.provider.idTokenPayload(fixture.claims()))
            #expect(await Self.refusal(client, es) == .algorithmKeyMismatch(alg: "ES256", kid: kid))
            #expect(await Self.refusal(client, "not-a-token") == .malformedToken)
        }
    }
}

@Suite("OIDC: ES256, PKCE and the JWKS cache without a provider")
struct OIDCUnitTests {
    static let issuer = "https://idp.example"
    static let clientID = "scutum"

    static func es256Token(_ key: P256.Signing.PrivateKey, kid: String, claims: JSONValue) throws -> String {
        let header: JSONValue = ["alg": "ES256", "kid": .string(kid), "typ": "JWT"]
        let input = Base64URL.encode(Array(header.jsonString.utf8)) + "." + Base64URL.encode(Array(claims.jsonString.utf8))
        let signature = try key.signature(for: Array(input.utf8))
        return input + "." + Base64URL.encode(Array(signature.rawRepresentation))
    }

    static func jwk(_ key: P256.Signing.PrivateKey, kid: String) -> JSONWebKey {
        let raw = Array(key.publicKey.rawRepresentation)
        return JSONWebKey(keyType: "EC", keyID: kid, algorithm: "ES256", use: "sig", curve: "P-256",
            x: Base64URL.encode(raw.prefix(32)), y: Base64URL.encode(raw.suffix(32)))
    }

    static func claims(now: Date = Date()) -> JSONValue {
        let time = Int64(now.timeIntervalSince1970)
        return ["iss": .string(issuer), "sub": "u1", "aud": .string(clientID), "exp": .int(time + 300), "iat": .int(time),
            "nonce": "n", "email": "ada@example.com"]
    }

    @Test("OIDC: ES256 tokens verify with the JWK's P-256 key; another key's signature is refused")
    func es256() async throws {
        let key = P256.Signing.PrivateKey()
        let other = P256.Signing.PrivateKey()
        let keySet = OIDCKeySet { () async throws(OIDCError) -> [JSONWebKey] in [Self.jwk(key, kid: "ec-1")] }
        let verifier = OIDCIDTokenVerifier(issuer: Self.issuer, clientID: Self.clientID, keySet: keySet)
        let claims = try await verifier.verify(try Self.es256Token(key, kid: "ec-1", claims: Self.claims()), nonce: "n")
        #expect(claims.email == "ada@example.com")
        let forged = try Self.es256Token(other, kid: "ec-1", claims: Self.claims())
        let error = await oidcError { () async throws(OIDCError) in _ = try await verifier.verify(forged, nonce: "n") }
        #expect(error == .invalidSignature)
    }

    @Test("OIDC: the JWKS cache refetches an unknown kid at most once per interval unless forced")
    func keySetRateLimit() async throws {
        let clock = OIDCTestClock()
        let fetches = OIDCTestCounter()
        let key = P256.Signing.PrivateKey()
        let keySet = OIDCKeySet(minimumRefetchInterval: 30, now: { clock.now }) { () async throws(OIDCError) -> [JSONWebKey] in
            fetches.increment()
            return [Self.jwk(key, kid: "ec-1")]
        }
        #expect(try await keySet.keys(kid: "ec-1", algorithm: "ES256").count == 1)
        for _ in 0..<5 {
            let error = await oidcError { () async throws(OIDCError) in _ = try await keySet.keys(kid: "x", algorithm: "ES256") }
            #expect(error == .unknownKey(kid: "x"))
        }
        #expect(fetches.value == 1)
        clock.advance(30)
        _ = await oidcError { () async throws(OIDCError) in _ = try await keySet.keys(kid: "x", algorithm: "ES256") }
        #expect(fetches.value == 2)
        try await keySet.refresh(force: true)
        #expect(fetches.value == 3)
        try await keySet.refresh()
        #expect(fetches.value == 3)
    }

    @Test("OIDC JWKS: a key the provider withdrew stops verifying once the cache is an hour old; a failed refetch keeps the cached keys")
    func keySetMaximumAge() async throws {
        let clock = OIDCTestClock()
        let fetches = OIDCTestCounter()
        let (old, new) = (P256.Signing.PrivateKey(), P256.Signing.PrivateKey())
        let served = OIDCTestServed()
        let keySet = OIDCKeySet(minimumRefetchInterval: 30, maximumAge: 3600, now: { clock.now }) {
            () async throws(OIDCError) -> [JSONWebKey] in
            fetches.increment()
            switch served.value {
            case 0: return [Self.jwk(old, kid: "old")]
            case 1: throw OIDCError.providerUnreachable(what: "jwks", detail: "down")
            default: return [Self.jwk(new, kid: "new")]
            }
        }
        #expect(try await keySet.keys(kid: "old", algorithm: "ES256").count == 1)
        clock.advance(3599)
        #expect(try await keySet.keys(kid: "old", algorithm: "ES256").count == 1)
        #expect(fetches.value == 1)
        // An hour on, the provider is down: the cached keys are used, and asked for again 30 s later.
        served.value = 1
        clock.advance(1)
        #expect(try await keySet.keys(kid: "old", algorithm: "ES256").count == 1)
        #expect(try await keySet.keys(kid: "old", algorithm: "ES256").count == 1)
        #expect(fetches.value == 2)
        // Back, without the old key: it is refused from then on.
        served.value = 2
        clock.advance(30)
        let error = await oidcError { () async throws(OIDCError) in _ = try await keySet.keys(kid: "old", algorithm: "ES256") }
        #expect(error == .unknownKey(kid: "old"))
        #expect(fetches.value == 3)
        #expect(try await keySet.keys(kid: "new", algorithm: "ES256").count == 1)
        #expect(fetches.value == 3)
    }

    @Test("OIDC PKCE: the RFC 7636 appendix B vector; fresh verifiers are 43 characters and differ")
    func pkce() {
        #expect(PKCE(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").challenge
            == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        let a = PKCE()
        let b = PKCE()
        #expect(a.verifier.count == 43 && a.verifier != b.verifier)
        #expect(a.method == "S256")
        #expect(OIDCRandom.token() != OIDCRandom.token())
    }
}
