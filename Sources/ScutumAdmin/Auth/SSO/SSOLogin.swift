import AsyncHTTPClient
import Foundation
import Logging
import ScutumStore

/// Single sign-on for the console: discovers the provider on first use (and again after a failed
/// discovery), begins sign-ins, and finishes them into a Scutum user.
actor SSOLogin {
    let configuration: SSOConfiguration
    private let httpClient: HTTPClient
    private let logger: Logger
    private var client: OIDCClient?

    init(configuration: SSOConfiguration, httpClient: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.logger = logger
    }

    /// The relying party, discovered once.
    func relyingParty() async throws(SSOError) -> OIDCClient {
        if let client { return client }
        let oidc = OIDCClient.Configuration(issuer: configuration.issuer, clientID: configuration.clientID,
            clientSecret: configuration.clientSecret, redirectURI: configuration.redirectURI,
            scopes: ["openid", "email", "profile"] + configuration.extraScopes, groupsClaim: configuration.groupsClaim)
        do {
            let discovered = try await OIDCClient.discover(oidc, httpClient: httpClient)
            client = discovered
            return discovered
        } catch {
            logger.warning("single sign-on: the identity provider's discovery failed", metadata: ["error": "\(error)"])
            throw .provider(error)
        }
    }

    /// A new authorization request (its URL for the browser, its secrets for the cookie).
    func begin() async throws(SSOError) -> OIDCAuthorizationRequest {
        try await relyingParty().authorizationRequest()
    }

    /// The verified claims of the browser's return to the callback.
    func finish(query: [String: String], request: OIDCAuthorizationRequest) async throws(SSOError) -> OIDCIDTokenClaims {
        do {
            return try await relyingParty().completeLogin(callbackQuery: query, request: request)
        } catch let error as SSOError {
            throw error
        } catch let error as OIDCError {
            throw .provider(error)
        } catch {
            throw .stateInvalid
        }
    }
}
