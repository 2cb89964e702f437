import Hummingbird
import NIOCore

/// `GET /metrics`: the node's metrics in Prometheus' text format, for scrapers (no key).
struct MetricsRoutes {
    let metrics: ProxyMetrics

    func register(on router: Router<ProxyRequestContext>) {
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
    }
}
