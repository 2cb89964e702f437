import Foundation

/// Hands out OAuth 2.0 access tokens for a Google service account, exchanging a signed
/// JWT assertion at the account's token endpoint only when the cached token is about to expire.
///
/// The provider performs no I/O itself: the gateway supplies a ``Fetch`` closure that POSTs a
/// ``TokenExchange`` with its own HTTP client. At most one exchange is in flight at a time;
/// callers that arrive while it runs wait for the same result, success or failure. A failed
/// exchange is not remembered, so the next call tries again.
///
/// Cancelling a waiting caller does not abort the shared exchange: it runs until the fetch
/// closure returns (bound it with the HTTP client's timeout).
public actor GoogleAccessTokenProvider {
    /// One token request for the gateway's HTTP client to send as a `POST`.
    public struct TokenExchange: Sendable, Equatable {
        /// The content type of every token request body.
        public static let formContentType = "application/x-www-form-urlencoded"

        /// The token endpoint (the service account's `token_uri`).
        public let url: String
        /// The HTTP method, always `POST`.
        public let method: String
        /// The `Content-Type` header value, always ``formContentType``.
        public let contentType: String
        /// The form body:
        /// `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=<jwt>`.
        public let body: [UInt8]

        init(url: String, assertion: String) {
            self.url = url
            self.method = "POST"
            self.contentType = Self.formContentType
            let form = "grant_type=" + Self.formEncoded("urn:ietf:params:oauth:grant-type:jwt-bearer")
                + "&assertion=" + Self.formEncoded(assertion)
            self.body = Array(form.utf8)
        }

        /// Percent-encodes everything but the RFC 3986 unreserved characters.
        private static func formEncoded(_ value: String) -> String {
            var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            allowed.insert(charactersIn: "-._~")
            return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
        }
    }

    /// Sends a ``TokenExchange`` and returns the HTTP status and the response body.
    /// Errors it throws (connection failures, timeouts) reach the callers of ``token()`` unchanged.
    public typealias Fetch = @Sendable (TokenExchange) async throws -> (status: Int, body: [UInt8])

    /// The service account whose tokens this provider hands out.
    public nonisolated let account: GoogleServiceAccount
    /// How long before its expiry a token is replaced.
    public nonisolated let refreshMargin: Duration

    private let fetch: Fetch
    private let now: @Sendable () -> Date
    private var cached: CachedToken?
    private var inFlight: Task<CachedToken, any Error>?

    /// Creates a provider.
    ///
    /// - Parameters:
    ///   - account: The service account to authenticate as.
    ///   - refreshMargin: How long before `expires_in` runs out a token is refreshed (default 5 minutes).
    ///     When a token lives no longer than the margin, it is refreshed after half its lifetime instead.
    ///   - now: The wall clock, used for the JWT `iat` and the cache expiry; injectable for tests.
    ///   - fetch: Performs the HTTP exchange with the token endpoint.
    public init(
        account: GoogleServiceAccount,
        refreshMargin: Duration = .seconds(300),
        now: @escaping @Sendable () -> Date = { Date() },
        fetch: @escaping Fetch
    ) {
        self.account = account
        self.refreshMargin = refreshMargin
        self.now = now
        self.fetch = fetch
    }

    /// Returns a valid access token, from the cache when it is not yet due for refresh.
    ///
    /// - Throws: ``GoogleAuthError/tokenRequestFailed(status:message:)`` for a non-2xx answer,
    ///   ``GoogleAuthError/malformedTokenResponse(_:)`` for an unusable 2xx body,
    ///   ``GoogleAuthError/signingFailed``, or whatever the fetch closure throws.
    public func token() async throws -> String {
        if let cached, now() < cached.refreshAt {
            return cached.token
        }
        let exchange: Task<CachedToken, any Error>
        if let inFlight {
            exchange = inFlight
        } else {
            exchange = Task { try await self.exchange() }
            inFlight = exchange
        }
        return try await exchange.value.token
    }

    /// Forgets the cached token so that the next ``token()`` call fetches a new one,
    /// e.g. after the upstream rejected it with 401. An exchange already in flight is kept.
    public func invalidate() {
        cached = nil
    }

    /// Runs one exchange; the cache and the in-flight marker change together, on the actor,
    /// before any waiter resumes.
    private func exchange() async throws -> CachedToken {
        defer { inFlight = nil }
        let issuedAt = now()
        let assertion = try GoogleJWT.assertion(for: account, issuedAt: issuedAt)
        let response = try await fetch(TokenExchange(url: account.tokenURI, assertion: assertion))
        let parsed = try GoogleTokenResponse.parse(status: response.status, body: response.body)
        let margin = Self.seconds(refreshMargin)
        let usable = parsed.expiresIn > margin ? parsed.expiresIn - margin : parsed.expiresIn / 2
        let fresh = CachedToken(token: parsed.accessToken, refreshAt: issuedAt.addingTimeInterval(usable))
        cached = fresh
        return fresh
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let parts = duration.components
        return TimeInterval(parts.seconds) + TimeInterval(parts.attoseconds) / 1e18
    }
}

/// A token and the moment it stops being handed out.
private struct CachedToken: Sendable {
    let token: String
    let refreshAt: Date
}
