import Foundation
import Hummingbird
import NIOCore

/// `GET /health/liveness` (the process answers) and `GET /health/readiness` (it can serve:
/// PostgreSQL and Redis reachable; 503 otherwise, naming what is down).
struct HealthRoutes {
    let probe: ReadinessProbe

    func register(on router: Router<ProxyRequestContext>) {
        router.get("/health/liveness") { _, _ in
            Self.json(.ok, #"{"status":"alive"}"#)
        }
        router.get("/health/readiness") { _, _ in
            let report = await probe.report()
            var checks: [String: String] = [:]
            for result in report.results { checks[result.name] = result.error ?? "ok" }
            let body: [String: Any] = ["status": report.isReady ? "ready" : "not_ready", "checks": checks]
            let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
            return Self.json(report.isReady ? .ok : .serviceUnavailable, String(decoding: data, as: UTF8.self))
        }
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
