/// Why an OpenID Connect step failed; each case names one reason, so callers and tests can tell a
/// tampered token from an expired one without reading messages.
public enum OIDCError: Error, Sendable, Equatable {
    // MARK: Talking to the provider

    /// The provider could not be reached or answered too late (`what` names the step, `detail` the cause).
    case providerUnreachable(what: String, detail: String)
    /// The provider answered an HTTP status other than 200 (`error` is the OAuth `error` code, if any).
    case providerStatus(what: String, status: Int, error: String?)
    /// The discovery document is not JSON or lacks a required endpoint (named by `field`).
    case invalidDiscoveryDocument(field: String)
    /// The discovery document's `issuer` differs from the configured issuer (OpenID Connect Discovery 4.3).
    case discoveryIssuerMismatch(expected: String, found: String)
    /// The JWKS document is not a JSON object with a `keys` array.
    case invalidKeySet
    /// The token endpoint's answer is not JSON or lacks `id_token`.
    case invalidTokenResponse

    // MARK: The authorization response

    /// The `state` returned to the redirect URI is not the one sent.
    case stateMismatch
    /// The provider redirected back with an OAuth error instead of a code.
    case authorizationDenied(error: String, description: String?)

    // MARK: The id token

    /// Not three base64url segments of JSON objects.
    case malformedToken
    /// `alg` is not RS256 or ES256 (`none`, HS256 and the rest are always refused).
    case unsupportedAlgorithm(String)
    /// The header carries `crit` extensions, none of which are understood.
    case unsupportedCriticalHeader
    /// No published key has this `kid`, even after refetching the JWKS.
    case unknownKey(kid: String?)
    /// The key's type, curve or `alg` does not fit the token's `alg`.
    case algorithmKeyMismatch(alg: String, kid: String?)
    /// The key cannot be used to verify (bad modulus, point not on the curve...).
    case invalidKey(kid: String?)
    /// The signature does not verify with the key.
    case invalidSignature
    /// A required claim is missing or has the wrong type.
    case missingClaim(String)
    /// `iss` differs from the discovered issuer.
    case wrongIssuer(String)
    /// `aud` does not contain the client id.
    case wrongAudience([String])
    /// Several audiences without an `azp`, or an `azp` other than the client id.
    case wrongAuthorizedParty(String?)
    /// `exp` is more than the clock skew in the past.
    case expired
    /// `nbf` is more than the clock skew in the future.
    case notYetValid
    /// `iat` is more than the clock skew in the future.
    case issuedInFuture
    /// `nonce` differs from the one sent with the authorization request (or is missing).
    case wrongNonce
}
