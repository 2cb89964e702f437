import Foundation
import Hummingbird
import NIOCore

/// `GET /health/liveness` (the process answers) and `GET /health/readiness` (it can serve:
/// 200 `ready`; 200 `degraded` when Redis is down and limits are per node, or PostgreSQL went down
/// after the node had reached it (cached keys still serve); 503 `not_ready` while the node has never
/// reached PostgreSQL; each check `ok`, `unavailable` or `no answer within ...`, never an address: the
/// public host blocks this path anyway, see deploy/).
struct HealthRoutes {
    let probe: ReadinessProbe
    let rateLimiting: RateLimiting?
    let metrics: ProxyMetrics?

    func register(on router: Router<ProxyRequestContext>) {
        router.get("/health/liveness") { _, _ in
            Self.json(.ok, #"{"status":"alive"}"#)
        }
        router.get("/health/readiness") { _, _ in
            let report = await probe.report()
            var checks: [String: String] = [:]
            for result in report.results {
                checks[result.name] = result.error ?? "ok"
                metrics?.backend(result.name, up: result.error == nil)
            }
            let status = !report.isReady ? "not_ready" : report.isDegraded ? "degraded" : "ready"
            var body: [String: Any] = ["status": status, "checks": checks]
            if let rateLimiting {
                let perNode = rateLimiting.isDegraded || (checks["redis"].map { $0 != "ok" } ?? false)
                body["rate_limits"] = perNode ? "per-node" : "cluster"
            }
            let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
            return Self.json(report.isReady ? .ok : .serviceUnavailable, String(decoding: data, as: UTF8.self))
        }
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
