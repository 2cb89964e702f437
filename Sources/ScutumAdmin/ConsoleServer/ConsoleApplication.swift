import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Where the admin console listens (`SCUTUM_CONSOLE_PORT`, on the Admin API's host).
public struct ConsoleConfiguration: Sendable {
    public var host: String
    public var port: Int

    public init(host: String = "0.0.0.0", port: Int = 5173) {
        self.host = host
        self.port = port
    }
}

/// Builds the port-5173 application: the console's static files from memory, plus the very same
/// Admin API routes as port 8086 (`/auth/*`, `/api/v1/*`, `/health`, same tokens and errors), so the
/// page calls relative URLs and needs no CORS.
///
/// Static responses carry a strict Content-Security-Policy (scripts, styles and requests only from
/// this origin, no inline script, Trusted Types required), `Cache-Control: no-cache` with an ETag,
/// and `X-Content-Type-Options: nosniff`. Only the files loaded at start-up are routed, so every other
/// path (traversal attempts included) is the Admin API's JSON 404.
public enum ConsoleApplication {
    /// The policy every console page is served with.
    public static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "connect-src 'self'", "font-src 'self'", "manifest-src 'self'", "base-uri 'none'", "form-action 'none'",
        "frame-ancestors 'none'", "require-trusted-types-for 'script'", "trusted-types 'none'",
    ].joined(separator: "; ")

    /// The router: Admin API routes (built with `admin`, so tokens and limits match port 8086) and a
    /// GET and a HEAD route per console file. `dependencies.jwtSecret` must be the Admin API's secret
    /// (not empty: an empty one is replaced by a random secret per router) for a token from one port
    /// to work on the other.
    public static func router(admin: AdminConfiguration, dependencies: AdminDependencies, assets: ConsoleAssets,
        logger: Logger) -> Router<AdminRequestContext>
    {
        let router = AdminApplication.router(configuration: admin, dependencies: dependencies, logger: logger)
        var routes = assets.files.map { (path: $0.key, asset: $0.value) }
        if let index = assets.asset(for: "/") { routes.append((path: "/", asset: index)) }
        for (path, asset) in routes {
            router.get(RouterPath(path)) { request, _ in response(asset, request: request) }
            router.head(RouterPath(path)) { request, _ in
                var head = response(asset, request: request)
                head.body = ResponseBody()
                return head
            }
        }
        return router
    }

    /// The application, listening on `configuration`'s address.
    public static func application(configuration: ConsoleConfiguration, admin: AdminConfiguration,
        dependencies: AdminDependencies, assets: ConsoleAssets, logger: Logger, server: HTTPServerBuilder = .http1(),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol
    {
        Application(
            router: router(admin: admin, dependencies: dependencies, assets: assets, logger: logger),
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                serverName: "scutum-console"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }

    /// A file with its headers; 304 when the caller already holds this version.
    static func response(_ asset: ConsoleAsset, request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: asset.contentType,
            .cacheControl: "no-cache",
            .eTag: asset.etag,
            .contentSecurityPolicy: contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
            .referrerPolicy: "no-referrer",
            .xFrameOptions: "DENY",
        ]
        if let tags = request.headers[.ifNoneMatch],
            tags.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == asset.etag })
        {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(asset.body.readableBytes)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: asset.body))
    }
}

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
}
