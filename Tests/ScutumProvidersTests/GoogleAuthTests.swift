import Crypto
import Foundation
import Synchronization
import Testing
import _CryptoExtras

@testable import ScutumProviders

// MARK: - Fixtures

/// One RSA-2048 key for the whole run: generating keys in a debug build is slow.
private enum GoogleAuthFixture {
    static let key = Result { try _RSA.Signing.PrivateKey(keySize: .bits2048) }

    static let email = "scutum-test@scutum-project.iam.gserviceaccount.com"
    static let projectID = "scutum-project"
    static let keyID = "0123456789abcdef0123456789abcdef01234567"

    /// The key file fields, with `private_key` in the requested PEM form.
    static func fields(pem: String, tokenURI: String? = nil) -> [String: Any] {
        var fields: [String: Any] = [
            "type": "service_account",
            "project_id": projectID,
            "private_key_id": keyID,
            "private_key": pem,
            "client_email": email,
            "client_id": "123456789012345678901",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        ]
        if let tokenURI {
            fields["token_uri"] = tokenURI
        }
        return fields
    }

    static func json(_ fields: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]))
    }

    static func account(tokenURI: String? = nil) throws -> GoogleServiceAccount {
        let pem = try key.get().pkcs8PEMRepresentation
        return try GoogleServiceAccount(json: json(fields(pem: pem, tokenURI: tokenURI)))
    }

    /// The base64 body lines of a PEM block: the secret part that must never leak.
    static func pemBodyLines(_ pem: String) -> [String] {
        pem.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("-----") && $0.count > 16 }
    }
}

/// Decodes base64url without padding.
private func googleBase64URLDecode(_ text: some StringProtocol) -> Data? {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.count % 4 != 0 {
        base64 += "="
    }
    return Data(base64Encoded: base64)
}

private func googleJSONObject(_ data: Data?) throws -> [String: Any] {
    let data = try #require(data)
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// A JWT split into its decoded parts.
private struct DecodedGoogleJWT {
    let signingInput: String
    let header: [String: Any]
    let claims: [String: Any]
    let signature: Data

    init(_ jwt: String) throws {
        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
        try #require(parts.count == 3)
        signingInput = parts[0] + "." + parts[1]
        header = try googleJSONObject(googleBase64URLDecode(parts[0]))
        claims = try googleJSONObject(googleBase64URLDecode(parts[1]))
        signature = try #require(googleBase64URLDecode(parts[2]))
        #expect(!jwt.contains("="), "base64url must not be padded")
        #expect(!jwt.contains("+") && !jwt.contains("/"), "base64url alphabet only")
    }

    func verifies(with key: _RSA.Signing.PublicKey, signingInput input: String? = nil) -> Bool {
        key.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signature),
            for: SHA256.hash(data: Data((input ?? signingInput).utf8)),
            padding: .insecurePKCS1v1_5
        )
    }
}

// MARK: - JWT

@Suite("Google JWT assertion")
struct GoogleJWTTests {
    enum PEMForm: String, CaseIterable, Sendable {
        case pkcs1, pkcs8
    }

    @Test("the assertion carries the expected header and claims and verifies with the public key", arguments: PEMForm.allCases)
    func signedAssertion(form: PEMForm) throws {
        let key = try GoogleAuthFixture.key.get()
        let pem: String
        switch form {
        case .pkcs1:
            pem = key.pemRepresentation
            #expect(pem.hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
        case .pkcs8:
            pem = key.pkcs8PEMRepresentation
            #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        }
        let account = try GoogleServiceAccount(json: GoogleAuthFixture.json(GoogleAuthFixture.fields(pem: pem)))
        let now = Date(timeIntervalSince1970: 1_700_000_000.75)

        let jwt = try GoogleJWT.assertion(for: account, issuedAt: now)
        let decoded = try DecodedGoogleJWT(jwt)

        #expect(decoded.header.count == 3)
        #expect(decoded.header["alg"] as? String == "RS256")
        #expect(decoded.header["typ"] as? String == "JWT")
        #expect(decoded.header["kid"] as? String == GoogleAuthFixture.keyID)

        #expect(decoded.claims.count == 5)
        #expect(decoded.claims["iss"] as? String == GoogleAuthFixture.email)
        #expect(decoded.claims["scope"] as? String == "https://www.googleapis.com/auth/cloud-platform")
        #expect(decoded.claims["aud"] as? String == "https://oauth2.googleapis.com/token")
        #expect(decoded.claims["iat"] as? Int == 1_700_000_000)
        #expect(decoded.claims["exp"] as? Int == 1_700_003_600)

        #expect(decoded.signature.count == 256)
        #expect(decoded.verifies(with: key.publicKey))
    }

    @Test("a tampered claims segment or a foreign key fails verification")
    func tampering() throws {
        let key = try GoogleAuthFixture.key.get()
        let account = try GoogleAuthFixture.account()
        let decoded = try DecodedGoogleJWT(GoogleJWT.assertion(for: account, issuedAt: Date(timeIntervalSince1970: 1_700_000_000)))
        #expect(decoded.verifies(with: key.publicKey))

        let parts = decoded.signingInput.split(separator: ".")
        let forgedClaims = GoogleJWT.base64URLEncoded(
            Data(#"{"aud":"https://oauth2.googleapis.com/token","exp":1800000000,"iat":1700000000,"iss":"attacker@example.com","scope":"https://www.googleapis.com/auth/cloud-platform"}"#.utf8)
        )
        #expect(!decoded.verifies(with: key.publicKey, signingInput: parts[0] + "." + forgedClaims))

        let otherKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        #expect(!decoded.verifies(with: otherKey.publicKey))
    }

    @Test("a custom scope replaces the cloud-platform scope")
    func customScope() throws {
        let account = try GoogleAuthFixture.account(tokenURI: "https://oauth2.example.test/token")
        let scope = "https://www.googleapis.com/auth/cloud-platform.read-only https://www.googleapis.com/auth/userinfo.email"
        let decoded = try DecodedGoogleJWT(GoogleJWT.assertion(for: account, issuedAt: Date(timeIntervalSince1970: 0), scope: scope))
        #expect(decoded.claims["scope"] as? String == scope)
        #expect(decoded.claims["aud"] as? String == "https://oauth2.example.test/token")
        #expect(decoded.claims["iat"] as? Int == 0)
        #expect(decoded.claims["exp"] as? Int == 3600)
    }

    @Test("base64url encoding drops padding and uses the URL-safe alphabet")
    func base64URL() {
        #expect(GoogleJWT.base64URLEncoded(Data()) == "")
        #expect(GoogleJWT.base64URLEncoded(Data([0xFB])) == "-w")
        #expect(GoogleJWT.base64URLEncoded(Data([0xFF, 0xFF])) == "__8")
        #expect(GoogleJWT.base64URLEncoded(Data([0xFB, 0xEF, 0xBE])) == "----")
        #expect(GoogleJWT.base64URLEncoded(Data(#"{"alg":"RS256"}"#.utf8)) == "eyJhbGciOiJSUzI1NiJ9")
    }

    /// RFC 7515 Appendix A.2: RSASSA-PKCS1-v1_5 is deterministic, so the published
    /// JWS must come out byte for byte.
    @Test("RFC 7515 appendix A.2 RS256 vector is reproduced byte for byte")
    func rfc7515Vector() throws {
        func bytes(_ text: String) throws -> Data { try #require(googleBase64URLDecode(text)) }
        let key = try _RSA.Signing.PrivateKey(
            n: bytes(
                "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
                    + "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
                    + "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
                    + "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
                    + "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
                    + "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
            ),
            e: bytes("AQAB"),
            d: bytes(
                "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97I"
                    + "jlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0"
                    + "BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn"
                    + "439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYT"
                    + "CBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLh"
                    + "BOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ"
            ),
            p: bytes(
                "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdi"
                    + "YrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPG"
                    + "BY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc"
            ),
            q: bytes(
                "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxa"
                    + "ewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA"
                    + "-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc"
            )
        )
        let header = Data(#"{"alg":"RS256"}"#.utf8)
        let payload = Data("{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}".utf8)

        let jws = try GoogleJWT.compactRS256(header: header, payload: payload, key: key)

        #expect(
            jws
                == "eyJhbGciOiJSUzI1NiJ9"
                + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
                + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGb"
                + "ds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
                + "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6L"
                + "bgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
        )
    }
}

// MARK: - Service account

@Suite("Google service account key file")
struct GoogleServiceAccountTests {
    @Test("a complete key file decodes, defaulting token_uri")
    func decodes() throws {
        let account = try GoogleAuthFixture.account()
        #expect(account.projectID == GoogleAuthFixture.projectID)
        #expect(account.privateKeyID == GoogleAuthFixture.keyID)
        #expect(account.clientEmail == GoogleAuthFixture.email)
        #expect(account.tokenURI == "https://oauth2.googleapis.com/token")
        #expect(account.tokenURI == GoogleServiceAccount.defaultTokenURI)

        let custom = try GoogleAuthFixture.account(tokenURI: "https://oauth2.example.test/token")
        #expect(custom.tokenURI == "https://oauth2.example.test/token")
    }

    @Test("Data and [UInt8] inputs decode alike")
    func dataInput() throws {
        let bytes = try GoogleAuthFixture.json(GoogleAuthFixture.fields(pem: GoogleAuthFixture.key.get().pkcs8PEMRepresentation))
        let account = try GoogleServiceAccount(json: Data(bytes))
        #expect(account.clientEmail == GoogleAuthFixture.email)
    }

    @Test("a key whose newlines stayed escaped (pasted through an environment variable) is accepted")
    func escapedNewlines() throws {
        let pem = try GoogleAuthFixture.key.get().pkcs8PEMRepresentation.replacingOccurrences(of: "\n", with: "\\n")
        let account = try GoogleServiceAccount(json: GoogleAuthFixture.json(GoogleAuthFixture.fields(pem: pem)))
        #expect(account.privateKeyID == GoogleAuthFixture.keyID)
    }

    @Test("a missing required field is named in the error", arguments: ["type", "project_id", "private_key_id", "private_key", "client_email"])
    func missingField(field: String) throws {
        let pem = try GoogleAuthFixture.key.get().pkcs8PEMRepresentation
        var fields = GoogleAuthFixture.fields(pem: pem)
        fields.removeValue(forKey: field)
        let error = #expect(throws: GoogleAuthError.self) {
            try GoogleServiceAccount(json: GoogleAuthFixture.json(fields))
        }
        #expect(error == .invalidServiceAccount("missing field `\(field)`"))
        try Self.expectNoKeyMaterial(in: error, pem: pem)
    }

    @Test("empty and non-string fields are rejected")
    func wrongFieldTypes() throws {
        let pem = try GoogleAuthFixture.key.get().pkcs8PEMRepresentation
        var fields = GoogleAuthFixture.fields(pem: pem)
        fields["client_email"] = ""
        #expect(throws: GoogleAuthError.invalidServiceAccount("field `client_email` is empty")) {
            try GoogleServiceAccount(json: GoogleAuthFixture.json(fields))
        }
        fields = GoogleAuthFixture.fields(pem: pem)
        fields["project_id"] = 42
        #expect(throws: GoogleAuthError.invalidServiceAccount("field `project_id` is not a string")) {
            try GoogleServiceAccount(json: GoogleAuthFixture.json(fields))
        }
        fields = GoogleAuthFixture.fields(pem: pem, tokenURI: "not a url")
        #expect(throws: GoogleAuthError.invalidServiceAccount("field `token_uri` is not an http(s) URL")) {
            try GoogleServiceAccount(json: GoogleAuthFixture.json(fields))
        }
    }

    @Test("a key file of another type is rejected without echoing the key")
    func wrongType() throws {
        let pem = try GoogleAuthFixture.key.get().pkcs8PEMRepresentation
        var fields = GoogleAuthFixture.fields(pem: pem)
        fields["type"] = "authorized_user"
        let error = #expect(throws: GoogleAuthError.self) {
            try GoogleServiceAccount(json: GoogleAuthFixture.json(fields))
        }
        #expect(error == .invalidServiceAccount(#"field `type` is "authorized_user", expected "service_account""#))
        try Self.expectNoKeyMaterial(in: error, pem: pem)
    }

    @Test(
        "a private key that is not a usable RSA PEM is rejected without echoing it",
        arguments: [
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDsecretsecretsecret",
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQ=\n-----END PRIVATE KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC1zZWNyZXQ=\n-----END RSA PRIVATE KEY-----\n",
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBsecretsecretsecretsecretsecretsecretsecretsecreto\n-----END EC PRIVATE KEY-----\n",
        ]
    )
    func garbageKey(pem: String) throws {
        let error = #expect(throws: GoogleAuthError.self) {
            try GoogleServiceAccount(json: GoogleAuthFixture.json(GoogleAuthFixture.fields(pem: pem)))
        }
        #expect(error == .invalidPrivateKey)
        let text = String(describing: try #require(error))
        #expect(!text.contains("secret"))
        #expect(!text.contains("c2VjcmV0"))
    }

    @Test("a truncated real key is rejected without echoing it")
    func truncatedKey() throws {
        let pem = try GoogleAuthFixture.key.get().pkcs8PEMRepresentation
        let lines = pem.split(separator: "\n")
        let truncated = (lines.prefix(6) + lines.suffix(1)).joined(separator: "\n")
        let error = #expect(throws: GoogleAuthError.self) {
            try GoogleServiceAccount(json: GoogleAuthFixture.json(GoogleAuthFixture.fields(pem: truncated)))
        }
        #expect(error == .invalidPrivateKey)
        try Self.expectNoKeyMaterial(in: error, pem: pem)
    }

    @Test("a document that is not a JSON object is rejected", arguments: ["", "not json", "[1,2]", "\"service_account\""])
    func notAnObject(text: String) {
        #expect(throws: GoogleAuthError.self) {
            try GoogleServiceAccount(json: Array(text.utf8))
        }
    }

    @Test("description, debugDescription and dump never show the private key")
    func descriptionHidesKey() throws {
        let pem = try GoogleAuthFixture.key.get().pkcs8PEMRepresentation
        let account = try GoogleAuthFixture.account()
        var dumped = ""
        dump(account, to: &dumped)
        for text in [String(describing: account), String(reflecting: account), dumped, "\(account)"] {
            #expect(text.contains(GoogleAuthFixture.email))
            #expect(!text.contains("PRIVATE KEY"))
            for line in GoogleAuthFixture.pemBodyLines(pem) {
                #expect(!text.contains(line))
            }
        }
    }

    static func expectNoKeyMaterial(in error: GoogleAuthError?, pem: String) throws {
        let error = try #require(error)
        for text in [String(describing: error), String(reflecting: error), error.localizedDescription] {
            #expect(!text.contains("PRIVATE KEY"))
            for line in GoogleAuthFixture.pemBodyLines(pem) {
                #expect(!text.contains(line))
            }
        }
    }
}

// MARK: - Token provider

/// A settable wall clock.
private final class GoogleTestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date) {
        current = Mutex(start)
    }

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// A thread-safe counter.
private final class GoogleTestCounter: Sendable {
    private let count = Mutex(0)

    var value: Int { count.withLock { $0 } }

    @discardableResult
    func increment() -> Int {
        count.withLock { value in
            value += 1
            return value
        }
    }
}

/// A scripted token endpoint that records every exchange.
private final class FakeGoogleTokenEndpoint: Sendable {
    struct State {
        var exchanges: [GoogleAccessTokenProvider.TokenExchange] = []
        var responses: [(status: Int, body: String)] = []
        var gateOpen = true
    }

    private let state = Mutex(State())

    var exchanges: [GoogleAccessTokenProvider.TokenExchange] { state.withLock { $0.exchanges } }
    var count: Int { state.withLock { $0.exchanges.count } }

    /// Queues answers; when none is queued, a fresh token `ya29.token-N` valid for 3599 s is issued.
    func enqueue(status: Int, body: String) {
        state.withLock { $0.responses.append((status, body)) }
    }

    func closeGate() { state.withLock { $0.gateOpen = false } }
    func openGate() { state.withLock { $0.gateOpen = true } }

    static func tokenBody(_ token: String, expiresIn: Int = 3599) -> String {
        #"{"access_token":"\#(token)","expires_in":\#(expiresIn),"token_type":"Bearer"}"#
    }

    func fetch(_ exchange: GoogleAccessTokenProvider.TokenExchange) async throws -> (status: Int, body: [UInt8]) {
        let number = state.withLock { state in
            state.exchanges.append(exchange)
            return state.exchanges.count
        }
        while !state.withLock({ $0.gateOpen }) {
            try await Task.sleep(for: .milliseconds(1))
        }
        let response = state.withLock { state in
            state.responses.isEmpty ? nil : state.responses.removeFirst()
        }
        let answer = response ?? (200, Self.tokenBody("ya29.token-\(number)"))
        return (answer.status, Array(answer.body.utf8))
    }
}

private struct GoogleTestNetworkDown: Error, Equatable {}

@Suite("Google access token provider")
struct GoogleAccessTokenProviderTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    fileprivate func makeProvider(
        clock: GoogleTestClock,
        endpoint: FakeGoogleTokenEndpoint,
        refreshMargin: Duration = .seconds(300),
        tokenURI: String? = nil
    ) throws -> GoogleAccessTokenProvider {
        GoogleAccessTokenProvider(
            account: try GoogleAuthFixture.account(tokenURI: tokenURI),
            refreshMargin: refreshMargin,
            now: { clock.now },
            fetch: { try await endpoint.fetch($0) }
        )
    }

    /// Starts `callers` concurrent `token()` calls while the endpoint is held, waits until the
    /// first exchange has started and every caller has been launched, then releases it.
    fileprivate func concurrentCalls(
        _ callers: Int,
        provider: GoogleAccessTokenProvider,
        endpoint: FakeGoogleTokenEndpoint
    ) async throws -> [Result<String, any Error>] {
        endpoint.closeGate()
        let launched = GoogleTestCounter()
        return await withTaskGroup(of: Result<String, any Error>.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    launched.increment()
                    do {
                        return .success(try await provider.token())
                    } catch {
                        return .failure(error)
                    }
                }
            }
            while endpoint.count == 0 || launched.value < callers {
                try? await Task.sleep(for: .milliseconds(1))
            }
            // Give every launched caller time to reach the provider before the answer arrives.
            try? await Task.sleep(for: .milliseconds(100))
            endpoint.openGate()
            var results: [Result<String, any Error>] = []
            for await result in group {
                results.append(result)
            }
            return results
        }
    }

    @Test("50 concurrent callers share exactly one exchange and get the same token")
    func singleFlight() async throws {
        let endpoint = FakeGoogleTokenEndpoint()
        let provider = try makeProvider(clock: GoogleTestClock(start), endpoint: endpoint)

        let results = try await concurrentCalls(50, provider: provider, endpoint: endpoint)

        #expect(endpoint.count == 1)
        #expect(results.count == 50)
        let tokens = try results.map { try $0.get() }
        #expect(Set(tokens) == ["ya29.token-1"])
        #expect(try await provider.token() == "ya29.token-1")
        #expect(endpoint.count == 1)
    }

    @Test(
        "the cached token is reused until expires_in minus the margin, then refreshed once",
        arguments: [(margin: 300, expiresIn: 3599), (margin: 60, expiresIn: 3599), (margin: 0, expiresIn: 120)]
    )
    func refreshAfterMargin(margin: Int, expiresIn: Int) async throws {
        let clock = GoogleTestClock(start)
        let endpoint = FakeGoogleTokenEndpoint()
        let provider = try makeProvider(clock: clock, endpoint: endpoint, refreshMargin: .seconds(margin))
        endpoint.enqueue(status: 200, body: FakeGoogleTokenEndpoint.tokenBody("ya29.first", expiresIn: expiresIn))
        endpoint.enqueue(status: 200, body: FakeGoogleTokenEndpoint.tokenBody("ya29.second", expiresIn: expiresIn))

        #expect(try await provider.token() == "ya29.first")
        clock.advance(by: TimeInterval(expiresIn - margin) - 1)
        #expect(try await provider.token() == "ya29.first")
        #expect(endpoint.count == 1)

        clock.advance(by: 1)
        #expect(try await provider.token() == "ya29.second")
        #expect(endpoint.count == 2)
        clock.advance(by: 1)
        #expect(try await provider.token() == "ya29.second")
        #expect(endpoint.count == 2)

        // The second assertion was issued at the refresh time, not the first one's.
        let iat = try DecodedGoogleJWT(try assertion(from: try #require(endpoint.exchanges.dropFirst().first))).claims["iat"] as? Int
        #expect(iat == Int(start.timeIntervalSince1970) + expiresIn - margin)
    }

    @Test("a token living no longer than the margin is refreshed after half its lifetime")
    func shortLivedToken() async throws {
        let clock = GoogleTestClock(start)
        let endpoint = FakeGoogleTokenEndpoint()
        let provider = try makeProvider(clock: clock, endpoint: endpoint)
        endpoint.enqueue(status: 200, body: FakeGoogleTokenEndpoint.tokenBody("ya29.short", expiresIn: 200))

        #expect(try await provider.token() == "ya29.short")
        clock.advance(by: 99)
        #expect(try await provider.token() == "ya29.short")
        clock.advance(by: 1)
        #expect(try await provider.token() == "ya29.token-2")
        #expect(endpoint.count == 2)
    }

    @Test("a 400 from Google maps to tokenRequestFailed and the next call retries")
    func rejectedAssertion() async throws {
        let endpoint = FakeGoogleTokenEndpoint()
        let provider = try makeProvider(clock: GoogleTestClock(start), endpoint: endpoint)
        endpoint.enqueue(status: 400, body: #"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#)

        let error = await #expect(throws: GoogleAuthError.self) {
            try await provider.token()
        }
        guard case .tokenRequestFailed(let status, let message)? = error else {
            Issue.record("unexpected error \(String(describing: error))")
            return
        }
        #expect(status == 400)
        #expect(message.contains("Invalid JWT Signature."))
        #expect(message.contains("invalid_grant"))
        #expect(String(describing: try #require(error)).contains("HTTP 400"))
        #expect(try #require(error).localizedDescription.contains("Invalid JWT Signature."))

        #expect(try await provider.token() == "ya29.token-2")
        #expect(endpoint.count == 2)
    }

    @Test("a failed exchange fails every waiting caller once, and is not cached")
    func sharedFailure() async throws {
        let endpoint = FakeGoogleTokenEndpoint()
        let provider = try makeProvider(clock: GoogleTestClock(start), endpoint: endpoint)
        endpoint.enqueue(status: 401, body: #"{"error":"unauthorized_client","error_description":"Client is unauthorized to retrieve access tokens using this method."}"#)

        let results = try await concurrentCalls(20, provider: provider, endpoint: endpoint)

        #expect(endpoint.count == 1)
        #expect(results.count == 20)
        for result in results {
            #expect(throws: GoogleAuthError.tokenRequestFailed(
                status: 401,
                message: "unauthorized_client: Client is unauthorized to retrieve access tokens using this method."
            )) {
                try result.get()
            }
        }
        #expect(try await provider.token() == "ya29.token-2")
        #expect(endpoint.count == 2)
    }

    @Test("an error thrown by the fetch closure reaches the caller unchanged and the next call retries")
    func transportError() async throws {
        let attempts = GoogleTestCounter()
        let provider = GoogleAccessTokenProvider(
            account: try GoogleAuthFixture.account(),
            now: { Date(timeIntervalSince1970: 1_700_000_000) },
            fetch: { _ in
                let attempt = attempts.increment()
                if attempt == 1 {
                    throw GoogleTestNetworkDown()
                }
                return (200, Array(FakeGoogleTokenEndpoint.tokenBody("ya29.recovered").utf8))
            }
        )
        await #expect(throws: GoogleTestNetworkDown()) {
            try await provider.token()
        }
        #expect(try await provider.token() == "ya29.recovered")
        #expect(attempts.value == 2)
    }

    @Test("the exchange is a form POST to token_uri carrying a valid signed assertion")
    func exchangeRequest() async throws {
        let clock = GoogleTestClock(start)
        let endpoint = FakeGoogleTokenEndpoint()
        let tokenURI = "https://oauth2.example.test/token"
        let provider = try makeProvider(clock: clock, endpoint: endpoint, tokenURI: tokenURI)

        _ = try await provider.token()

        let exchange = try #require(endpoint.exchanges.first)
        #expect(exchange.url == tokenURI)
        #expect(exchange.method == "POST")
        #expect(exchange.contentType == "application/x-www-form-urlencoded")

        let body = try #require(String(bytes: exchange.body, encoding: .utf8))
        #expect(body.hasPrefix("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="))
        let form = try formFields(body)
        #expect(form.count == 2)
        #expect(form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer")

        let decoded = try DecodedGoogleJWT(try #require(form["assertion"]))
        #expect(decoded.header["kid"] as? String == GoogleAuthFixture.keyID)
        #expect(decoded.header["alg"] as? String == "RS256")
        #expect(decoded.claims["iss"] as? String == GoogleAuthFixture.email)
        #expect(decoded.claims["aud"] as? String == tokenURI)
        #expect(decoded.claims["scope"] as? String == "https://www.googleapis.com/auth/cloud-platform")
        #expect(decoded.claims["iat"] as? Int == 1_700_000_000)
        #expect(decoded.claims["exp"] as? Int == 1_700_003_600)
        #expect(decoded.verifies(with: try GoogleAuthFixture.key.get().publicKey))
    }

    @Test(
        "an unusable 2xx body is malformedTokenResponse and never echoes the token",
        arguments: [
            (#"{"expires_in":3599,"token_type":"Bearer"}"#, "missing `access_token`"),
            (#"{"access_token":"ya29.leak","expires_in":-5}"#, "`expires_in` is not a positive number"),
            (#"{"access_token":"ya29.leak","expires_in":"soon"}"#, "`expires_in` is not a positive number"),
            (#"{"access_token":"ya29.leak","expires_in":3599,"token_type":"MAC"}"#, "`token_type` is not Bearer"),
            (#"ya29.leak"#, "the body is not a JSON object"),
            ("", "the body is not a JSON object"),
        ]
    )
    func malformedResponse(body: String, reason: String) async throws {
        let endpoint = FakeGoogleTokenEndpoint()
        let provider = try makeProvider(clock: GoogleTestClock(start), endpoint: endpoint)
        endpoint.enqueue(status: 200, body: body)

        let error = await #expect(throws: GoogleAuthError.self) {
            try await provider.token()
        }
        #expect(error == .malformedTokenResponse(reason))
        #expect(!String(describing: try #require(error)).contains("ya29"))
        #expect(try await provider.token() == "ya29.token-2")
    }

    @Test("a successful answer without expires_in is cached for an hour less the margin")
    func missingExpiry() async throws {
        let clock = GoogleTestClock(start)
        let endpoint = FakeGoogleTokenEndpoint()
        let provider = try makeProvider(clock: clock, endpoint: endpoint)
        endpoint.enqueue(status: 200, body: #"{"access_token":"ya29.noexpiry"}"#)

        #expect(try await provider.token() == "ya29.noexpiry")
        clock.advance(by: 3299)
        #expect(try await provider.token() == "ya29.noexpiry")
        clock.advance(by: 1)
        #expect(try await provider.token() == "ya29.token-2")
    }

    @Test("a non-JSON error body is summarised in the message")
    func htmlError() async throws {
        let endpoint = FakeGoogleTokenEndpoint()
        let provider = try makeProvider(clock: GoogleTestClock(start), endpoint: endpoint)
        endpoint.enqueue(status: 503, body: "<html>\n  <body>Service   Unavailable</body>\n</html>")
        await #expect(throws: GoogleAuthError.tokenRequestFailed(status: 503, message: "<html> <body>Service Unavailable</body> </html>")) {
            try await provider.token()
        }
        endpoint.enqueue(status: 500, body: "")
        await #expect(throws: GoogleAuthError.tokenRequestFailed(status: 500, message: "empty response body")) {
            try await provider.token()
        }
    }

    @Test("invalidate() forces the next call to fetch a new token")
    func invalidate() async throws {
        let endpoint = FakeGoogleTokenEndpoint()
        let provider = try makeProvider(clock: GoogleTestClock(start), endpoint: endpoint)
        #expect(try await provider.token() == "ya29.token-1")
        #expect(try await provider.token() == "ya29.token-1")
        await provider.invalidate()
        #expect(try await provider.token() == "ya29.token-2")
        #expect(endpoint.count == 2)
    }

    func assertion(from exchange: GoogleAccessTokenProvider.TokenExchange) throws -> String {
        let body = try #require(String(bytes: exchange.body, encoding: .utf8))
        return try #require(try formFields(body)["assertion"])
    }

    /// Decodes an `application/x-www-form-urlencoded` body.
    func formFields(_ body: String) throws -> [String: String] {
        var components = URLComponents()
        components.percentEncodedQuery = body
        var fields: [String: String] = [:]
        for item in try #require(components.queryItems) {
            fields[item.name] = item.value
        }
        return fields
    }
}
