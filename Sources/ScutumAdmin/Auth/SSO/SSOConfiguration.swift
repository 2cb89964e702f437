import Foundation

/// Single sign-on with an OpenID Connect provider (`SCUTUM_OIDC_*`): the relying party's
/// registration, who may sign in, and how the provider's groups map to Scutum's roles.
///
/// Groups (the `groupsClaim` claim's strings) are authoritative when an id token carries at least
/// one group this mapping knows: then the user's global role and team memberships become exactly
/// what the groups say. Otherwise the user's role and memberships stay as admins set them in
/// Scutum (`/api/v1/users`, team members).
public struct SSOConfiguration: Sendable, Equatable {
    /// The issuer, exactly as the provider writes it in `iss`.
    public var issuer: String
    public var clientID: String
    public var clientSecret: String
    /// This console's callback, as registered at the provider: `https://console.example/auth/sso/callback`.
    public var redirectURI: String
    /// E-mail domains allowed to sign in (lower-case); empty allows every domain.
    public var allowedDomains: [String]
    /// The claim carrying the user's groups.
    public var groupsClaim: String
    /// Groups that make a user an admin.
    public var adminGroups: [String]
    /// Groups that make a user a viewer.
    public var viewerGroups: [String]
    /// The prefix of team groups: `<prefix><team_id>:team_admin` or `<prefix><team_id>:member`.
    public var teamGroupPrefix: String
    /// Extra scopes besides `openid email profile`.
    public var extraScopes: [String]

    public init(issuer: String, clientID: String, clientSecret: String, redirectURI: String,
        allowedDomains: [String] = [], groupsClaim: String = "groups", adminGroups: [String] = ["scutum-admins"],
        viewerGroups: [String] = ["scutum-viewers"], teamGroupPrefix: String = "scutum-team:",
        extraScopes: [String] = [])
    {
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.redirectURI = redirectURI
        self.allowedDomains = allowedDomains.map { $0.lowercased() }
        self.groupsClaim = groupsClaim
        self.adminGroups = adminGroups
        self.viewerGroups = viewerGroups
        self.teamGroupPrefix = teamGroupPrefix
        self.extraScopes = extraScopes
    }

    /// The configuration the environment gives, nil when `SCUTUM_OIDC_ISSUER` is unset; throws a
    /// message naming the missing or bad variable.
    ///
    /// `SCUTUM_OIDC_ISSUER`, `SCUTUM_OIDC_CLIENT_ID`, `SCUTUM_OIDC_CLIENT_SECRET`, `SCUTUM_OIDC_REDIRECT_URI`
    /// (required together); `SCUTUM_OIDC_ALLOWED_DOMAINS`, `SCUTUM_OIDC_ADMIN_GROUPS`,
    /// `SCUTUM_OIDC_VIEWER_GROUPS`, `SCUTUM_OIDC_SCOPES` (comma-separated), `SCUTUM_OIDC_GROUPS_CLAIM`,
    /// `SCUTUM_OIDC_TEAM_GROUP_PREFIX`.
    public static func fromEnvironment(_ environment: [String: String]) throws(SSOConfigurationError) -> SSOConfiguration? {
        func value(_ name: String) -> String? {
            environment[name].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        func list(_ name: String) -> [String]? {
            value(name).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        }
        guard let issuer = value("SCUTUM_OIDC_ISSUER") else { return nil }
        guard let clientID = value("SCUTUM_OIDC_CLIENT_ID") else { throw .missing("SCUTUM_OIDC_CLIENT_ID") }
        guard let secret = value("SCUTUM_OIDC_CLIENT_SECRET") else { throw .missing("SCUTUM_OIDC_CLIENT_SECRET") }
        guard let redirect = value("SCUTUM_OIDC_REDIRECT_URI") else { throw .missing("SCUTUM_OIDC_REDIRECT_URI") }
        for (name, url) in [("SCUTUM_OIDC_ISSUER", issuer), ("SCUTUM_OIDC_REDIRECT_URI", redirect)] {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw .invalid(name, "an http(s) URL")
            }
        }
        var configuration = SSOConfiguration(issuer: issuer, clientID: clientID, clientSecret: secret,
            redirectURI: redirect, allowedDomains: list("SCUTUM_OIDC_ALLOWED_DOMAINS") ?? [])
        if let claim = value("SCUTUM_OIDC_GROUPS_CLAIM") { configuration.groupsClaim = claim }
        if let groups = list("SCUTUM_OIDC_ADMIN_GROUPS") { configuration.adminGroups = groups }
        if let groups = list("SCUTUM_OIDC_VIEWER_GROUPS") { configuration.viewerGroups = groups }
        if let prefix = value("SCUTUM_OIDC_TEAM_GROUP_PREFIX") { configuration.teamGroupPrefix = prefix }
        if let scopes = list("SCUTUM_OIDC_SCOPES") { configuration.extraScopes = scopes }
        return configuration
    }
}

/// A single sign-on setting that is missing or malformed.
public enum SSOConfigurationError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case invalid(String, String)

    public var description: String {
        switch self {
        case .missing(let name): "\(name) is required when SCUTUM_OIDC_ISSUER is set"
        case .invalid(let name, let expected): "\(name) must be \(expected)"
        }
    }
}
