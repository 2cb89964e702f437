import Hummingbird
import ScutumCore

/// `GET /api/v1/metrics/realtime`: cluster-wide figures for the dashboard, the same from every node
/// (every node adds what it serves to Redis): requests per minute, error rate, latency percentiles
/// and active keys over the last five minutes, today's tokens and cost, per-model usage, each
/// deployment's breaker state, and a per-minute series for the last fifteen minutes.
struct RealtimeRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/metrics/realtime") { _, _ in
            guard let realtime = services.dependencies.realtime else {
                throw AdminError.unavailable("Realtime metrics are not available on this node")
            }
            do {
                return AdminResponse.json(try await realtime())
            } catch {
                services.logger.warning("realtime metrics unavailable", metadata: ["error": "\(error)"])
                throw AdminError.unavailable("Realtime metrics are unavailable: Redis did not answer")
            }
        }
    }
}
