import ScutumProviders
import ServiceLifecycle
import Synchronization

/// Keeps the upstream HTTP client for the life of the node and shuts its pool down after the
/// services that use it have finished their graceful shutdown.
struct UpstreamHTTPService: Service {
    let http: UpstreamHTTP
    let lanes: UpstreamLanes?

    func run() async throws {
        try? await gracefulShutdown()
        lanes?.shutdown()
        try await http.shutdown()
    }
}

/// Runs `prepare` (migrations) before `service`, so a node serves only once its schema is ready.
struct PreparedService<Inner: Service>: Service {
    let prepare: @Sendable () async throws -> Void
    let service: Inner

    func run() async throws {
        try await prepare()
        try await service.run()
    }
}

/// The ports the node's servers listen on, once they do (port 0 picks one).
final class ListeningPorts: Sendable {
    private let ports = Mutex<(proxy: Int?, admin: Int?)>((nil, nil))

    var proxy: Int? { ports.withLock { $0.proxy } }
    var admin: Int? { ports.withLock { $0.admin } }

    func set(proxy port: Int) { ports.withLock { $0.proxy = port } }
    func set(admin port: Int) { ports.withLock { $0.admin = port } }
}
