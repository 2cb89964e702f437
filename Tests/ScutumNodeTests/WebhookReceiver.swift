import Foundation
import Hummingbird
import ScutumTestSupport
import Synchronization

/// A webhook receiver for alert tests: a Hummingbird app on a free port that records every body it
/// accepts, answers 500 to the first `failFirst` deliveries, and can hold each answer for `delay`.
final class WebhookReceiver: Sendable {
    private struct State {
        var accepted: [String] = []
        var refused = 0
        var started = 0
    }

    let failFirst: Int
    let delay: Duration
    private let state = Mutex(State())

    init(failFirst: Int = 0, delay: Duration = .zero) {
        self.failFirst = failFirst
        self.delay = delay
    }

    /// Bodies answered 2xx, in order.
    var accepted: [String] { state.withLock { $0.accepted } }
    /// Deliveries answered 500.
    var refused: Int { state.withLock { $0.refused } }
    /// Deliveries that reached the receiver (answered or not yet).
    var started: Int { state.withLock { $0.started } }

    /// The accepted bodies as JSON objects.
    var acceptedObjects: [[String: Any]] {
        accepted.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Runs the receiver while `body` runs, with its URL.
    func serving<T: Sendable>(_ body: @escaping @Sendable (_ url: String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            let refuse = self.state.withLock { state -> Bool in
                state.started += 1
                return state.started <= self.failFirst
            }
            if self.delay > .zero { try await Task.sleep(for: self.delay) }
            self.state.withLock { state in
                if refuse { state.refused += 1 } else { state.accepted.append(text) }
            }
            return Response(status: refuse ? .internalServerError : .noContent)
        }
        let port = PortBox()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.set(channel.localAddress?.port ?? 0) }, logger: Gateway.quietLogger)
        return try await whileServing("the webhook receiver", { try await app.run() }) {
            try await body("http://127.0.0.1:\(try await port.wait())/hook")
        }
    }
}
