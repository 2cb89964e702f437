import Foundation
import HTTPTypes
import Hummingbird
import ScutumCore
import ScutumStore

/// Single sign-on for the console (OpenID Connect, authorization code with PKCE):
/// - `GET /auth/sso`: whether SSO is configured and whether master-key sign-in is allowed.
/// - `GET /auth/sso/login`: sends the browser to the identity provider with fresh `state`, `nonce`
///   and PKCE challenge, their secrets in an encrypted cookie (`SSOStateCookie`).
/// - `GET /auth/sso/callback`: checks the state, exchanges the code, verifies the id token, signs the
///   user in (`SSOUserMapping`) and sends the browser to the console with the session in the URL's
///   fragment (`/#sso_token=...&expires_at=...`), which never reaches a server; or with
///   `/#sso_error=...` saying what went wrong.
struct SSORoutes {
    let services: AdminServices
    let authenticator: AdminAuthenticator
    let login: SSOLogin?
    let cookie: SSOStateCookie

    func register(on router: Router<AdminRequestContext>) {
        router.get("/auth/sso") { _, _ in
            AdminResponse.json(["enabled": .bool(login != nil), "master_key_login": .bool(authenticator.masterKeySignIn)])
        }
        router.get("/auth/sso/login") { _, _ in try await begin() }
        router.get("/auth/sso/callback") { request, _ in try await callback(request) }
    }

    func begin() async throws -> Response {
        guard let login else { throw Self.notConfigured }
        let secure = Self.isSecure(login.configuration.redirectURI)
        do {
            let request = try await login.begin()
            return Self.redirect(to: request.url, cookie: try cookie.set(request, secure: secure))
        } catch let error as SSOError {
            return failure(error, login.configuration)
        }
    }

    func callback(_ request: Request) async throws -> Response {
        guard let login else { throw Self.notConfigured }
        let configuration = login.configuration
        do {
            let pending = try cookie.open(cookieHeader: request.headers[.cookie])
            let claims = try await login.finish(query: Self.query(request), request: pending)
            let user = try await SSOUserMapping(configuration: configuration, users: services.users, teams: services.teams)
                .signIn(claims)
            let (token, issued) = authenticator.issue(user: user)
            let principal = AdminPrincipal(subject: issued.subject, role: issued.role,
                expiresAt: Date(timeIntervalSince1970: TimeInterval(issued.expiresAt)),
                access: AdminAuthenticator.access(of: user), user: user)
            do {
                try await services.audit(principal, "auth.sso_login", targetType: "user", targetID: user.userID,
                    details: ["issuer": .string(claims.issuer), "role": .optional(user.role?.rawValue),
                        "teams": .int(Int64(user.teams.count))])
            } catch {
                services.logger.warning("could not record a sign-in in the audit log", metadata: ["error": "\(error)"])
            }
            let fragment = "sso_token=\(token)&expires_at=\(issued.expiresAt)"
            return Self.redirect(to: Self.landing(configuration) + "#" + fragment,
                cookie: SSOStateCookie.clear(secure: Self.isSecure(configuration.redirectURI)))
        } catch let error as SSOError {
            return failure(error, configuration)
        }
    }

    /// Back to the console's sign-in screen with the reason; logged without secrets.
    private func failure(_ error: SSOError, _ configuration: SSOConfiguration) -> Response {
        services.logger.notice("single sign-on refused", metadata: ["reason": "\(error.message)"])
        let message = error.message.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "failed"
        return Self.redirect(to: Self.landing(configuration) + "#sso_error=" + message,
            cookie: SSOStateCookie.clear(secure: Self.isSecure(configuration.redirectURI)))
    }

    static let notConfigured = AdminError.notFound("Single sign-on is not configured")

    /// The console's page on the redirect URI's origin.
    static func landing(_ configuration: SSOConfiguration) -> String {
        guard let url = URL(string: configuration.redirectURI), let scheme = url.scheme, let host = url.host else {
            return "/"
        }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "") + "/"
    }

    static func isSecure(_ url: String) -> Bool { url.lowercased().hasPrefix("https:") }

    static func redirect(to location: String, cookie: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.setCookie] = cookie
        headers[.cacheControl] = "no-store"
        return Response(status: .found, headers: headers)
    }

    /// The query's parameters (percent- and plus-decoded; the first of a repeated name).
    static func query(_ request: Request) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in (request.uri.query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            let name = decode(parts[0])
            if fields[name] == nil { fields[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return fields
    }
}
