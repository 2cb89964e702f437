import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import _CryptoExtras

/// An OpenID Connect identity provider for offline single sign-on: the authorization code flow with
/// PKCE (S256 only), a login form instead of real accounts, RS256 (or, after a rotation that asks
/// for it, ES256) id tokens, and a JWKS whose signing key tests can rotate.
///
/// Routes (under `/oidc`, the issuer being the mock's base URL plus `/oidc` unless fixed at creation):
/// - `GET /oidc/.well-known/openid-configuration`: the discovery document.
/// - `GET /oidc/authorize`: checks the request and answers an HTML login form (an e-mail field).
/// - `POST /oidc/authorize`: the form's submission; redirects (302) to `redirect_uri?code=...&state=...`.
/// - `POST /oidc/token`: the authorization code grant; the client authenticates with HTTP Basic or
///   `client_id`/`client_secret` form fields, and `code_verifier` must match the code's challenge.
///   Codes are single-use: a code presented twice is refused the second time.
/// - `GET /oidc/jwks`: the RSA public keys, each with its `kid`.
/// - `POST /oidc/__mock/rotate?keep_previous=true|false&alg=RS256|ES256`: rotates the signing key (test hook).
/// - `POST /oidc/__mock/groups` with `{"email": ..., "groups": [...]}`: sets a user's groups (test hook).
///
/// Its state lives in a `Mutex`; the first signing key is generated on first use, so routers that
/// never see an OIDC request pay nothing for it.
public final class OIDCProvider: Sendable {
    /// A registered relying party.
    public struct Client: Sendable, Equatable {
        /// The `client_id`.
        public var id: String
        /// The `client_secret`.
        public var secret: String

        /// A client with its credentials.
        public init(id: String, secret: String) {
            self.id = id
            self.secret = secret
        }
    }

    /// The claims the provider puts into an id token, and that `signIDToken` signs as given.
    public struct IDTokenClaims: Sendable, Equatable {
        public var issuer: String
        public var subject: String
        /// One or more audiences; a single one is written as a string, several as an array.
        public var audience: [String]
        /// The authorized party (`azp`), if any.
        public var authorizedParty: String?
        /// Seconds since 1970.
        public var expiresAt: Int
        /// Seconds since 1970.
        public var issuedAt: Int
        /// Seconds since 1970; written only when set.
        public var notBefore: Int?
        public var nonce: String?
        public var email: String
        public var name: String
        /// The user's groups, written under the provider's groups claim name.
        public var groups: [String]

        /// Claims with every field given.
        public init(issuer: String, subject: String, audience: [String], authorizedParty: String? = nil,
            expiresAt: Int, issuedAt: Int, notBefore: Int? = nil, nonce: String?, email: String, name: String,
            groups: [String])
        {
            self.issuer = issuer
            self.subject = subject
            self.audience = audience
            self.authorizedParty = authorizedParty
            self.expiresAt = expiresAt
            self.issuedAt = issuedAt
            self.notBefore = notBefore
            self.nonce = nonce
            self.email = email
            self.name = name
            self.groups = groups
        }
    }

    /// The default client, registered unless others are given.
    public static let defaultClient = Client(id: "scutum-console", secret: "scutum-console-secret")

    /// A code waiting to be exchanged at the token endpoint.
    struct PendingCode {
        var clientID: String
        var redirectURI: String
        var codeChallenge: String
        var nonce: String?
        var scope: String
        var email: String
        var name: String
        var expiresAt: Date
    }

    /// A key the provider signs with (RSA for RS256, P-256 for ES256), and its key id.
    struct SigningKey {
        enum Material {
            case rsa(_RSA.Signing.PrivateKey)
            case p256(P256.Signing.PrivateKey)
        }

        var kid: String
        var material: Material

        /// The JWS `alg` this key signs with.
        var algorithm: String {
            switch material {
            case .rsa: "RS256"
            case .p256: "ES256"
            }
        }

        /// The signature over `input`: PKCS#1 v1.5 over SHA-256, or ES256's raw r||s.
        func sign(_ input: Data) -> Data {
            switch material {
            case .rsa(let key):
                // With a key generated here these cannot fail short of memory exhaustion.
                (try? key.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5))
                    .map { Data($0.rawRepresentation) } ?? Data()
            case .p256(let key):
                (try? key.signature(for: input)).map { Data($0.rawRepresentation) } ?? Data()
            }
        }

        /// The public key as a JWK.
        var jwk: String? {
            switch material {
            case .rsa(let key):
                guard let primitives = try? key.publicKey.getKeyPrimitives() else { return nil }
                return #"{"kty":"RSA","use":"sig","alg":"RS256","kid":\#(JSONText.quote(kid)),"n":"\#(OIDCProvider.base64URL(primitives.modulus))","e":"\#(OIDCProvider.base64URL(primitives.publicExponent))"}"#
            case .p256(let key):
                let point = key.publicKey.rawRepresentation
                return #"{"kty":"EC","use":"sig","alg":"ES256","crv":"P-256","kid":\#(JSONText.quote(kid)),"x":"\#(OIDCProvider.base64URL(point.prefix(32)))","y":"\#(OIDCProvider.base64URL(point.suffix(32)))"}"#
            }
        }
    }

    struct State {
        /// Published keys, oldest first; the last one signs.
        var keys: [SigningKey] = []
        var codes: [String: PendingCode] = [:]
        var groups: [String: [String]] = [:]
        var generation = 0
    }

    private let state = Mutex(State())
    private let clients: [String: Client]
    private let fixedIssuer: String?
    /// The claim that carries the user's groups.
    public let groupsClaim: String
    /// Lifetime of issued id tokens.
    public let idTokenLifetimeSeconds: Int
    /// Lifetime of authorization codes.
    public let codeLifetimeSeconds: Int
    /// How many keys the JWKS keeps after a rotation that retains the previous ones (the current included).
    public let retainedKeys: Int

    /// A provider for `clients`.
    ///
    /// - Parameters:
    ///   - clients: The registered relying parties.
    ///   - issuer: A fixed issuer; nil derives it from each request's `Host` (`http://host/oidc`).
    ///   - groupsClaim: The claim name for the user's groups.
    ///   - idTokenLifetimeSeconds: `exp - iat` of issued id tokens.
    ///   - codeLifetimeSeconds: How long a code may wait before it is exchanged.
    ///   - retainedKeys: How many keys stay published when a rotation keeps previous keys.
    public init(clients: [Client] = [OIDCProvider.defaultClient], issuer: String? = nil, groupsClaim: String = "groups",
        idTokenLifetimeSeconds: Int = 300, codeLifetimeSeconds: Int = 120, retainedKeys: Int = 2)
    {
        self.clients = Dictionary(clients.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        self.fixedIssuer = issuer
        self.groupsClaim = groupsClaim
        self.idTokenLifetimeSeconds = idTokenLifetimeSeconds
        self.codeLifetimeSeconds = codeLifetimeSeconds
        self.retainedKeys = max(1, retainedKeys)
    }

    // MARK: Test hooks

    /// Replaces the signing key with a new one under a new `kid` and returns that kid. With
    /// `keepPrevious`, earlier keys stay in the JWKS (up to `retainedKeys` in all), so tokens they
    /// signed still verify; without it only the new key is published. `ecdsa` makes the new key a
    /// P-256 one that signs ES256 (RS256 otherwise).
    @discardableResult
    public func rotateSigningKey(keepPrevious: Bool = true, ecdsa: Bool = false) -> String {
        let fresh = ecdsa ? SigningKey(kid: JSONText.randomID(8), material: .p256(P256.Signing.PrivateKey())) : Self.newKey()
        return state.withLock { state in
            Self.ensureKey(&state)
            state.generation += 1
            let key = SigningKey(kid: "mock-\(state.generation)-\(fresh.kid)", material: fresh.material)
            state.keys = keepPrevious ? Array((state.keys + [key]).suffix(retainedKeys)) : [key]
            return key.kid
        }
    }

    /// Sets the groups the id tokens of the user with `email` carry (case-insensitive e-mail).
    public func setGroups(_ groups: [String], for email: String) {
        state.withLock { $0.groups[email.lowercased()] = groups }
    }

    /// The kid of the key that signs now.
    public var currentKeyID: String {
        state.withLock { state in
            Self.ensureKey(&state)
            return state.keys[state.keys.count - 1].kid
        }
    }

    /// The kids the JWKS publishes, oldest first.
    public var publishedKeyIDs: [String] {
        state.withLock { state in
            Self.ensureKey(&state)
            return state.keys.map(\.kid)
        }
    }

    /// `claims` signed by the current key (or the published key `keyID`), as the token
    /// endpoint would sign them; tests use it to build expired, early or misaddressed tokens.
    public func signIDToken(_ claims: IDTokenClaims, keyID: String? = nil) -> String {
        signJWS(header: nil, payload: idTokenPayload(claims), keyID: keyID)
    }

    /// A compact JWS over `payload` signed by the current key (or `keyID`). The header is
    /// `{"alg":<the key's>,"kid":...,"typ":"JWT"}` unless `header` gives its JSON text verbatim.
    public func signJWS(header: String?, payload: String, keyID: String? = nil) -> String {
        let signer = state.withLock { state -> SigningKey in
            Self.ensureKey(&state)
            return state.keys.last { $0.kid == keyID } ?? state.keys[state.keys.count - 1]
        }
        let headerJSON = header ?? #"{"alg":"\#(signer.algorithm)","kid":\#(JSONText.quote(signer.kid)),"typ":"JWT"}"#
        let input = Self.base64URL(Data(headerJSON.utf8)) + "." + Self.base64URL(Data(payload.utf8))
        return input + "." + Self.base64URL(signer.sign(Data(input.utf8)))
    }

    /// The JWKS document.
    public var jwksJSON: String {
        let keys = state.withLock { state -> [SigningKey] in
            Self.ensureKey(&state)
            return state.keys
        }
        let entries = keys.compactMap(\.jwk)
        return #"{"keys":[\#(entries.joined(separator: ","))]}"#
    }

    // MARK: Routes

    /// Registers the provider's routes on `router`.
    public func register(on router: Router<BasicRequestContext>, log: MockRequestLog?) {
        router.get("/oidc/.well-known/openid-configuration") { [self] request, _ in
            _ = try await MockUpstream.record(request, log: log)
            return MockResponses.json(discoveryJSON(issuer: issuer(for: request)))
        }
        router.get("/oidc/jwks") { [self] request, _ in
            _ = try await MockUpstream.record(request, log: log)
            return MockResponses.json(jwksJSON)
        }
        router.get("/oidc/authorize") { [self] request, _ in
            _ = try await MockUpstream.record(request, log: log)
            // The raw query, decoded as a form (`+` is a space), like the POST that follows.
            return authorizePage(GoogleOAuth.formFields(Array((request.uri.query ?? "").utf8)))
        }
        router.post("/oidc/authorize") { [self] request, _ in
            let bytes = try await MockUpstream.record(request, log: log)
            return login(GoogleOAuth.formFields(bytes))
        }
        router.post("/oidc/token") { [self] request, _ in
            let bytes = try await MockUpstream.record(request, log: log)
            return token(form: GoogleOAuth.formFields(bytes), authorization: request.headers[.authorization],
                issuer: issuer(for: request))
        }
        router.post("/oidc/__mock/rotate") { [self] request, _ in
            _ = try await MockUpstream.record(request, log: log)
            let keep = request.uri.queryParameters.get("keep_previous") != "false"
            let ecdsa = request.uri.queryParameters.get("alg") == "ES256"
            return MockResponses.json(#"{"kid":\#(JSONText.quote(rotateSigningKey(keepPrevious: keep, ecdsa: ecdsa)))}"#)
        }
        router.post("/oidc/__mock/groups") { [self] request, _ in
            let bytes = try await MockUpstream.record(request, log: log)
            guard let body = JSONText.object(bytes), let email = body["email"] as? String,
                let groups = body["groups"] as? [String]
            else {
                return MockResponses.json(#"{"error":"expected {\"email\": string, \"groups\": [string]}"}"#, status: .badRequest)
            }
            setGroups(groups, for: email)
            return MockResponses.json(#"{"ok":true}"#)
        }
    }

    /// The issuer for a request: the fixed one, or `http://<Host>/oidc`.
    func issuer(for request: Request) -> String {
        fixedIssuer ?? "http://\(request.head.authority ?? "localhost")/oidc"
    }

    func discoveryJSON(issuer: String) -> String {
        """
        {"issuer":\(JSONText.quote(issuer)),"authorization_endpoint":\(JSONText.quote(issuer + "/authorize")),\
        "token_endpoint":\(JSONText.quote(issuer + "/token")),"jwks_uri":\(JSONText.quote(issuer + "/jwks")),\
        "response_types_supported":["code"],"subject_types_supported":["public"],\
        "id_token_signing_alg_values_supported":["RS256","ES256"],"scopes_supported":["openid","email","profile","groups"],\
        "token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],\
        "grant_types_supported":["authorization_code"],"code_challenge_methods_supported":["S256"],\
        "claims_supported":["iss","sub","aud","exp","iat","nonce","email","name",\(JSONText.quote(groupsClaim))]}
        """
    }

    /// A problem with an authorization request; `redirect` is false when the client or its redirect
    /// URI cannot be trusted, so the error is shown instead of sent back (RFC 6749 section 4.1.2.1).
    struct AuthorizeFailure: Error {
        var error: String
        var description: String
        var redirect: Bool
    }

    /// Checks the authorization request's parameters.
    func checkAuthorization(_ fields: [String: String]) -> AuthorizeFailure? {
        guard let clientID = fields["client_id"], clients[clientID] != nil else {
            return AuthorizeFailure(error: "invalid_client", description: "Unknown client_id.", redirect: false)
        }
        guard let redirect = fields["redirect_uri"], let url = URL(string: redirect),
            url.scheme == "http" || url.scheme == "https", url.host != nil, url.fragment == nil
        else {
            return AuthorizeFailure(error: "invalid_request", description: "redirect_uri must be an absolute http(s) URL.",
                redirect: false)
        }
        guard fields["response_type"] == "code" else {
            return AuthorizeFailure(error: "unsupported_response_type", description: "Only response_type=code is supported.",
                redirect: true)
        }
        guard (fields["scope"] ?? "").split(separator: " ").contains("openid") else {
            return AuthorizeFailure(error: "invalid_scope", description: "The openid scope is required.", redirect: true)
        }
        guard let challenge = fields["code_challenge"], challenge.utf8.count == 43,
            fields["code_challenge_method"] == "S256"
        else {
            return AuthorizeFailure(error: "invalid_request", description: "PKCE with code_challenge_method=S256 is required.",
                redirect: true)
        }
        return nil
    }

    /// The login form for a valid request, or the request's error.
    func authorizePage(_ fields: [String: String], problem: String? = nil) -> Response {
        if let failure = checkAuthorization(fields) { return refuse(failure, fields) }
        let carried = ["response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
            "code_challenge_method"]
        let hidden = carried.compactMap { name in
            fields[name].map { #"<input type="hidden" name="\#(name)" value="\#(Self.html($0))">"# }
        }.joined(separator: "\n")
        let notice = problem.map { #"<p class="error">\#(Self.html($0))</p>"# } ?? ""
        let page = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>Mock identity provider: sign in</title></head>
            <body><h1>Sign in to \(Self.html(fields["client_id"] ?? ""))</h1>
            \(notice)
            <form method="post" action="/oidc/authorize">
            \(hidden)
            <label>E-mail <input type="email" name="email" required autofocus></label>
            <label>Name <input type="text" name="name"></label>
            <button type="submit">Sign in</button>
            </form></body></html>
            """
        return Response(status: problem == nil ? .ok : .badRequest, headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
    }

    /// The login form's submission: a code sent back to the redirect URI.
    func login(_ fields: [String: String], now: Date = Date()) -> Response {
        if let failure = checkAuthorization(fields) { return refuse(failure, fields) }
        let email = (fields["email"] ?? "").trimmingCharacters(in: .whitespaces)
        guard email.contains("@"), !email.hasPrefix("@"), !email.hasSuffix("@") else {
            return authorizePage(fields, problem: "Enter an e-mail address.")
        }
        let name = (fields["name"] ?? "").trimmingCharacters(in: .whitespaces)
        let code = JSONText.randomID(43)
        let pending = PendingCode(clientID: fields["client_id"] ?? "", redirectURI: fields["redirect_uri"] ?? "",
            codeChallenge: fields["code_challenge"] ?? "", nonce: fields["nonce"], scope: fields["scope"] ?? "openid",
            email: email, name: name.isEmpty ? String(email.prefix { $0 != "@" }) : name,
            expiresAt: now.addingTimeInterval(TimeInterval(codeLifetimeSeconds)))
        state.withLock { state in
            state.codes = state.codes.filter { $0.value.expiresAt > now }
            state.codes[code] = pending
        }
        var query = [("code", code)]
        if let stateValue = fields["state"] { query.append(("state", stateValue)) }
        return redirect(to: pending.redirectURI, query)
    }

    /// Sends the error back to the redirect URI, or shows it when the redirect cannot be trusted.
    func refuse(_ failure: AuthorizeFailure, _ fields: [String: String]) -> Response {
        guard failure.redirect, let target = fields["redirect_uri"] else {
            let page = "<!doctype html><html><body><h1>\(failure.error)</h1><p>\(Self.html(failure.description))</p></body></html>"
            return Response(status: .badRequest, headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
        }
        var query = [("error", failure.error), ("error_description", failure.description)]
        if let stateValue = fields["state"] { query.append(("state", stateValue)) }
        return redirect(to: target, query)
    }

    func redirect(to target: String, _ query: [(String, String)]) -> Response {
        let encoded = query.map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&")
        let location = target + (target.contains("?") ? "&" : "?") + encoded
        return Response(status: .found, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// The token endpoint: the authorization code grant with PKCE.
    func token(form: [String: String], authorization: String?, issuer: String, now: Date = Date()) -> Response {
        // Client authentication: HTTP Basic (form-encoded id and secret, RFC 6749 section 2.3.1) or form fields.
        var clientID = form["client_id"]
        var secret = form["client_secret"]
        if let authorization, authorization.lowercased().hasPrefix("basic ") {
            guard let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces))
                .map({ String(decoding: $0, as: UTF8.self) }),
                let colon = decoded.firstIndex(of: ":")
            else { return tokenError("invalid_client", "Malformed Basic credentials.", status: .unauthorized) }
            let id = String(decoded[..<colon]).removingPercentEncoding ?? String(decoded[..<colon])
            let pass = String(decoded[decoded.index(after: colon)...])
            if let formID = clientID, formID != id {
                return tokenError("invalid_request", "client_id differs from the Basic credentials.")
            }
            clientID = id
            secret = pass.removingPercentEncoding ?? pass
        }
        guard let clientID, let client = clients[clientID], let secret,
            Self.constantTimeEquals(Array(secret.utf8), Array(client.secret.utf8))
        else { return tokenError("invalid_client", "Client authentication failed.", status: .unauthorized) }
        guard form["grant_type"] == "authorization_code" else {
            return tokenError("unsupported_grant_type", "Only grant_type=authorization_code is supported.")
        }
        guard let code = form["code"], !code.isEmpty else { return tokenError("invalid_request", "Missing code.") }
        // The code is consumed by its first presentation, whatever the outcome (RFC 6749 section 4.1.2).
        let found = state.withLock { $0.codes.removeValue(forKey: code) }
        guard let pending = found, pending.expiresAt > now else {
            return tokenError("invalid_grant", "The code is unknown, expired or already used.")
        }
        guard pending.clientID == clientID else { return tokenError("invalid_grant", "The code was issued to another client.") }
        guard form["redirect_uri"] == pending.redirectURI else {
            return tokenError("invalid_grant", "redirect_uri differs from the authorization request's.")
        }
        guard let verifier = form["code_verifier"], (43...128).contains(verifier.utf8.count) else {
            return tokenError("invalid_request", "code_verifier must have 43 to 128 characters.")
        }
        let challenge = Self.base64URL(Data(SHA256.hash(data: Data(verifier.utf8))))
        guard Self.constantTimeEquals(Array(challenge.utf8), Array(pending.codeChallenge.utf8)) else {
            return tokenError("invalid_grant", "code_verifier does not match the code_challenge.")
        }
        let issuedAt = Int(now.timeIntervalSince1970)
        let groups = state.withLock { $0.groups[pending.email.lowercased()] ?? [] }
        let claims = IDTokenClaims(issuer: issuer, subject: Self.subject(for: pending.email), audience: [clientID],
            expiresAt: issuedAt + idTokenLifetimeSeconds, issuedAt: issuedAt, nonce: pending.nonce, email: pending.email,
            name: pending.name, groups: groups)
        let idToken = signIDToken(claims)
        let body = """
            {"access_token":\(JSONText.quote("mock-at-" + JSONText.randomID(32))),"token_type":"Bearer",\
            "expires_in":\(idTokenLifetimeSeconds),"scope":\(JSONText.quote(pending.scope)),"id_token":\(JSONText.quote(idToken))}
            """
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    func tokenError(_ error: String, _ description: String, status: HTTPResponse.Status = .badRequest) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        if status == .unauthorized { headers[.wwwAuthenticate] = #"Basic realm="mock-oidc""# }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(
            string: #"{"error":\#(JSONText.quote(error)),"error_description":\#(JSONText.quote(description))}"#)))
    }

    /// The id token's payload JSON for `claims` (the groups under `groupsClaim`).
    public func idTokenPayload(_ claims: IDTokenClaims) -> String {
        var members = [
            "\"iss\":\(JSONText.quote(claims.issuer))", "\"sub\":\(JSONText.quote(claims.subject))",
            "\"aud\":" + (claims.audience.count == 1
                ? JSONText.quote(claims.audience[0]) : "[" + claims.audience.map(JSONText.quote).joined(separator: ",") + "]"),
            "\"exp\":\(claims.expiresAt)", "\"iat\":\(claims.issuedAt)",
            "\"email\":\(JSONText.quote(claims.email))", "\"email_verified\":true", "\"name\":\(JSONText.quote(claims.name))",
            "\(JSONText.quote(groupsClaim)):[" + claims.groups.map(JSONText.quote).joined(separator: ",") + "]",
        ]
        if let azp = claims.authorizedParty { members.append("\"azp\":\(JSONText.quote(azp))") }
        if let nbf = claims.notBefore { members.append("\"nbf\":\(nbf)") }
        if let nonce = claims.nonce { members.append("\"nonce\":\(JSONText.quote(nonce))") }
        return "{" + members.joined(separator: ",") + "}"
    }

    // MARK: Helpers

    /// A stable subject for an e-mail address.
    static func subject(for email: String) -> String {
        "user-" + SHA256.hash(data: Data(email.lowercased().utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    static func ensureKey(_ state: inout State) {
        guard state.keys.isEmpty else { return }
        let fresh = newKey()
        state.generation = 1
        state.keys = [SigningKey(kid: "mock-1-\(fresh.kid)", material: fresh.material)]
    }

    /// A fresh RSA-2048 key and a random kid suffix.
    static func newKey() -> SigningKey {
        // Generating an RSA-2048 key only fails when BoringSSL cannot allocate; the mock cannot run on without one.
        guard let key = try? _RSA.Signing.PrivateKey(keySize: .bits2048) else {
            fatalError("RSA-2048 key generation failed")
        }
        return SigningKey(kid: JSONText.randomID(8), material: .rsa(key))
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func formEncode(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func html(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
