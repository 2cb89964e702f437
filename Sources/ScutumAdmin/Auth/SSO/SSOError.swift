/// Why a single sign-on did not end in a session; `message` is what the console shows.
enum SSOError: Error, Sendable, Equatable {
    /// The browser came back without the sign-in cookie (another browser, or cookies blocked).
    case stateMissing
    /// The cookie does not open (tampered, or sealed under another secret).
    case stateInvalid
    /// The sign-in took longer than the cookie lives.
    case stateExpired
    /// The identity provider step failed (the id token, the exchange, the provider's answer).
    case provider(OIDCError)
    /// The id token carries no e-mail, or one the provider says is not verified.
    case noVerifiedEmail
    /// The e-mail's domain is not allowed.
    case domainNotAllowed(String)
    /// The user is disabled in Scutum.
    case disabled
    /// The user has no role and no team.
    case noAccess
    /// The e-mail the provider gives now belongs to another Scutum user.
    case emailTaken(String)

    var message: String {
        switch self {
        case .stateMissing: "The sign-in could not be matched to this browser; start again."
        case .stateInvalid: "The sign-in state was not valid; start again."
        case .stateExpired: "The sign-in took too long; start again."
        case .provider(let error): "The identity provider's answer was refused: \(error.summary)."
        case .noVerifiedEmail: "The identity provider gave no verified e-mail address."
        case .domainNotAllowed(let domain): "E-mail addresses at \(domain) may not sign in here."
        case .disabled: "This user is disabled."
        case .noAccess: "This user has no role in Scutum yet; ask an admin to add you to a team."
        case .emailTaken(let email): "Another Scutum user has the e-mail \(email); ask an admin to merge or rename them."
        }
    }
}

extension OIDCError {
    /// A short reason, without secrets (never a token).
    var summary: String {
        switch self {
        case .providerUnreachable(let what, _): "the provider could not be reached (\(what))"
        case .providerStatus(let what, let status, let error): "\(what) answered \(status)\(error.map { " (\($0))" } ?? "")"
        case .invalidDiscoveryDocument(let field): "the discovery document lacks \(field)"
        case .discoveryIssuerMismatch: "the discovery document names another issuer"
        case .invalidKeySet: "the key set is not valid"
        case .invalidTokenResponse: "the token response is not valid"
        case .stateMismatch: "the state does not match"
        case .authorizationDenied(let error, _): "authorization denied (\(error))"
        case .malformedToken: "the id token is malformed"
        case .unsupportedAlgorithm(let alg): "the id token's algorithm \(alg) is not accepted"
        case .unsupportedCriticalHeader: "the id token has critical headers"
        case .unknownKey: "the id token's signing key is unknown"
        case .algorithmKeyMismatch: "the id token's key does not fit its algorithm"
        case .invalidKey: "the id token's key is not valid"
        case .invalidSignature: "the id token's signature does not verify"
        case .missingClaim(let claim): "the id token lacks \(claim)"
        case .wrongIssuer: "the id token's issuer is wrong"
        case .wrongAudience: "the id token is for another client"
        case .wrongAuthorizedParty: "the id token's authorized party is wrong"
        case .expired: "the id token has expired"
        case .notYetValid: "the id token is not valid yet"
        case .issuedInFuture: "the id token was issued in the future"
        case .wrongNonce: "the id token's nonce does not match"
        }
    }
}
