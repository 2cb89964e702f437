import Hummingbird
import ScutumCore

/// While the platform is in maintenance mode, every route behind it answers 503.
struct MaintenanceMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext
    let platform: PlatformState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        if platform.current.maintenanceMode {
            throw GatewayError(status: 503, message: "The gateway is in maintenance mode. Retry later.",
                type: "service_unavailable", code: "maintenance_mode", headers: ["Retry-After": "30"])
        }
        return try await next(request, context)
    }
}
