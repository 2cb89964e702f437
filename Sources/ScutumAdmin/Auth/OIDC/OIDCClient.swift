import AsyncHTTPClient
import Foundation
import NIOCore
import ScutumCore

/// The endpoints of an OpenID Connect provider, from its discovery document.
public struct OIDCProviderMetadata: Sendable, Equatable {
    public var issuer: String
    public var authorizationEndpoint: String
    public var tokenEndpoint: String
    public var jwksURI: String
    /// `id_token_signing_alg_values_supported`, when given.
    public var signingAlgorithms: [String]

    /// Metadata from a discovery document, which must name `expectedIssuer` as its issuer.
    public init(document bytes: some Collection<UInt8>, expectedIssuer: String) throws(OIDCError) {
        guard let value = try? JSONParser.parse(bytes), let document = value.objectValue else {
            throw OIDCError.invalidDiscoveryDocument(field: "document")
        }
        func url(_ field: String) throws(OIDCError) -> String {
            guard let text = document[field]?.stringValue, let url = URL(string: text),
                url.scheme == "https" || url.scheme == "http", url.host != nil
            else { throw OIDCError.invalidDiscoveryDocument(field: field) }
            return text
        }
        let issuer = try url("issuer")
        guard issuer == expectedIssuer else {
            throw OIDCError.discoveryIssuerMismatch(expected: expectedIssuer, found: issuer)
        }
        self.issuer = issuer
        self.authorizationEndpoint = try url("authorization_endpoint")
        self.tokenEndpoint = try url("token_endpoint")
        self.jwksURI = try url("jwks_uri")
        self.signingAlgorithms = document["id_token_signing_alg_values_supported"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }
}

/// An authorization request in progress: the URL to send the browser to, and the secrets to keep
/// (server-side, or in a signed cookie) until the browser comes back to the redirect URI.
public struct OIDCAuthorizationRequest: Sendable, Equatable {
    /// The provider's authorization endpoint with every parameter.
    public var url: String
    /// Sent as `state`; the redirect must bring it back unchanged.
    public var state: String
    /// Sent as `nonce`; the id token must carry it.
    public var nonce: String
    /// The PKCE verifier for the token request.
    public var codeVerifier: String
}

/// The token endpoint's answer.
public struct OIDCTokenResponse: Sendable, Equatable {
    public var idToken: String
    public var accessToken: String?
    public var tokenType: String?
    public var expiresIn: Int64?
}

/// The relying party's side of the authorization code flow with PKCE: discovery, the authorization
/// URL, the code exchange, and id token verification against the provider's JWKS (refetched on an
/// unknown `kid`). Every request to the provider is bounded by `timeout` as a whole.
public struct OIDCClient: Sendable {
    /// The relying party's registration at the provider.
    public struct Configuration: Sendable {
        /// The issuer identifier, exactly as the provider writes it in `iss` (some end in `/`); discovery
        /// reads `/.well-known/openid-configuration` below it.
        public var issuer: String
        public var clientID: String
        public var clientSecret: String
        /// Where the provider sends the browser back.
        public var redirectURI: String
        public var scopes: [String]
        /// The tolerance for `exp`, `nbf` and `iat`.
        public var clockSkew: TimeInterval
        /// The claim that carries the user's groups.
        public var groupsClaim: String
        /// The bound on each request to the provider.
        public var timeout: Duration
        /// The least time between JWKS refetches caused by unknown kids.
        public var jwksRefetchInterval: TimeInterval

        /// A configuration with the usual scopes (`openid email profile`), 60 s of clock skew, 10 s
        /// timeouts and at most one JWKS refetch per 30 s.
        public init(issuer: String, clientID: String, clientSecret: String, redirectURI: String,
            scopes: [String] = ["openid", "email", "profile"], clockSkew: TimeInterval = 60, groupsClaim: String = "groups",
            timeout: Duration = .seconds(10), jwksRefetchInterval: TimeInterval = 30)
        {
            self.issuer = issuer
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.redirectURI = redirectURI
            self.scopes = scopes.contains("openid") ? scopes : ["openid"] + scopes
            self.clockSkew = clockSkew
            self.groupsClaim = groupsClaim
            self.timeout = timeout
            self.jwksRefetchInterval = jwksRefetchInterval
        }
    }

    public let configuration: Configuration
    public let metadata: OIDCProviderMetadata
    public let verifier: OIDCIDTokenVerifier
    private let httpClient: HTTPClient

    /// Reads the provider's discovery document and prepares the JWKS cache (fetched on first use).
    /// `now` is the JWKS cache's clock (for its refetch rate limit).
    public static func discover(_ configuration: Configuration, httpClient: HTTPClient,
        now: @escaping @Sendable () -> Date = { Date() }) async throws(OIDCError) -> OIDCClient
    {
        let base = configuration.issuer.hasSuffix("/") ? String(configuration.issuer.dropLast()) : configuration.issuer
        let body = try await get(base + "/.well-known/openid-configuration", what: "discovery",
            httpClient: httpClient, timeout: configuration.timeout)
        let metadata = try OIDCProviderMetadata(document: body.readableBytesView, expectedIssuer: configuration.issuer)
        return OIDCClient(configuration: configuration, metadata: metadata, httpClient: httpClient, now: now)
    }

    /// A client for already known metadata; `now` is the JWKS cache's clock.
    public init(configuration: Configuration, metadata: OIDCProviderMetadata, httpClient: HTTPClient,
        now: @escaping @Sendable () -> Date = { Date() })
    {
        self.configuration = configuration
        self.metadata = metadata
        self.httpClient = httpClient
        let jwksURI = metadata.jwksURI
        let timeout = configuration.timeout
        let keySet = OIDCKeySet(minimumRefetchInterval: configuration.jwksRefetchInterval, now: now) { () async throws(OIDCError) -> [JSONWebKey] in
            let body = try await Self.get(jwksURI, what: "jwks", httpClient: httpClient, timeout: timeout)
            return try JSONWebKey.keySet(body.readableBytesView)
        }
        self.verifier = OIDCIDTokenVerifier(issuer: metadata.issuer, clientID: configuration.clientID, keySet: keySet,
            clockSkew: configuration.clockSkew, groupsClaim: configuration.groupsClaim)
    }

    /// A new authorization request with fresh `state`, `nonce` and PKCE verifier.
    public func authorizationRequest() -> OIDCAuthorizationRequest {
        let pkce = PKCE()
        let state = OIDCRandom.token()
        let nonce = OIDCRandom.token()
        let query = [
            ("response_type", "code"), ("client_id", configuration.clientID), ("redirect_uri", configuration.redirectURI),
            ("scope", configuration.scopes.joined(separator: " ")), ("state", state), ("nonce", nonce),
            ("code_challenge", pkce.challenge), ("code_challenge_method", pkce.method),
        ]
        let endpoint = metadata.authorizationEndpoint
        let url = endpoint + (endpoint.contains("?") ? "&" : "?") + Self.form(query)
        return OIDCAuthorizationRequest(url: url, state: state, nonce: nonce, codeVerifier: pkce.verifier)
    }

    /// Finishes a login from the query the provider redirected back with: checks `state`, exchanges
    /// the code with the PKCE verifier and verifies the id token against `request`'s nonce.
    public func completeLogin(callbackQuery: [String: String], request: OIDCAuthorizationRequest, now: Date = Date())
        async throws(OIDCError) -> OIDCIDTokenClaims
    {
        guard let returned = callbackQuery["state"], APIKey.constantTimeEquals(returned, request.state) else {
            throw OIDCError.stateMismatch
        }
        if let error = callbackQuery["error"] {
            throw OIDCError.authorizationDenied(error: error, description: callbackQuery["error_description"])
        }
        guard let code = callbackQuery["code"], !code.isEmpty else {
            throw OIDCError.authorizationDenied(error: "invalid_request", description: "no code")
        }
        let tokens = try await exchange(code: code, codeVerifier: request.codeVerifier)
        return try await verifier.verify(tokens.idToken, nonce: request.nonce, now: now)
    }

    /// Exchanges an authorization code at the token endpoint (client_secret_basic).
    public func exchange(code: String, codeVerifier: String) async throws(OIDCError) -> OIDCTokenResponse {
        var request = HTTPClientRequest(url: metadata.tokenEndpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        // RFC 6749 section 2.3.1: the id and secret are form-encoded before they are joined.
        let credentials = Self.formEncode(configuration.clientID) + ":" + Self.formEncode(configuration.clientSecret)
        request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        request.body = .bytes(ByteBuffer(string: Self.form([
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", configuration.redirectURI),
            ("code_verifier", codeVerifier),
        ])))
        let body = try await Self.send(request, what: "token", httpClient: httpClient, timeout: configuration.timeout)
        guard let value = try? JSONParser.parse(body.readableBytesView), let idToken = value["id_token"]?.stringValue else {
            throw OIDCError.invalidTokenResponse
        }
        return OIDCTokenResponse(idToken: idToken, accessToken: value["access_token"]?.stringValue,
            tokenType: value["token_type"]?.stringValue, expiresIn: value["expires_in"]?.intValue)
    }

    // MARK: HTTP

    /// Largest document read from the provider.
    static let maximumBodyBytes = 1024 * 1024

    static func get(_ url: String, what: String, httpClient: HTTPClient, timeout: Duration) async throws(OIDCError) -> ByteBuffer {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        return try await send(request, what: what, httpClient: httpClient, timeout: timeout)
    }

    /// Sends `request` and reads the whole answer within `timeout`; a status other than 200 becomes
    /// `providerStatus` with the OAuth `error` code of its body, if any.
    static func send(_ request: HTTPClientRequest, what: String, httpClient: HTTPClient, timeout: Duration)
        async throws(OIDCError) -> ByteBuffer
    {
        let outcome: (status: Int, body: ByteBuffer)
        do {
            outcome = try await withThrowingTaskGroup(of: (status: Int, body: ByteBuffer)?.self) { group in
                group.addTask {
                    let response = try await httpClient.execute(request, timeout: .init(timeout))
                    let body = try await response.body.collect(upTo: maximumBodyBytes)
                    return (Int(response.status.code), body)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let result = first else {
                    throw OIDCError.providerUnreachable(what: what, detail: "no answer within \(timeout)")
                }
                return result
            }
        } catch let error as OIDCError {
            throw error
        } catch {
            throw OIDCError.providerUnreachable(what: what, detail: "\(error)")
        }
        guard outcome.status == 200 else {
            let code = (try? JSONParser.parse(outcome.body.readableBytesView))?["error"]?.stringValue
            throw OIDCError.providerStatus(what: what, status: outcome.status, error: code)
        }
        return outcome.body
    }

    /// `application/x-www-form-urlencoded` pairs (also used for query strings).
    static func form(_ pairs: [(String, String)]) -> String {
        pairs.map { formEncode($0.0) + "=" + formEncode($0.1) }.joined(separator: "&")
    }

    /// Percent-encodes everything but the unreserved characters.
    static func formEncode(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.append(Character(UnicodeScalar(byte)))
            default:
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }
}
