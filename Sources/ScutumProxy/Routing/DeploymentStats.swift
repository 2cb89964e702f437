import ScutumCore
import Synchronization

/// What this node has seen of each deployment: calls in progress, a smoothed latency and the last
/// minute's requests and tokens, for the least-busy, latency-based and usage-based strategies.
///
/// Per node on purpose: reading other nodes' figures would cost a Redis round trip on every
/// request, and behind a load balancer each node sees a fair sample of the traffic.
public final class DeploymentStats: Sendable {
    /// Weight of the newest latency sample in the moving average.
    static let smoothing = 0.3

    struct Entry {
        var inFlight = 0
        var latency: Double?
        /// Per-second buckets for the last minute: `second` is the bucket's start in whole seconds.
        var buckets = [(second: Int64, requests: Int, tokens: Int)](repeating: (-1, 0, 0), count: 60)
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let origin = ContinuousClock.now

    public init() {}

    /// A call to `deployment` starts.
    func started(_ deployment: String) {
        entries.withLock { $0[deployment, default: Entry()].inFlight += 1 }
    }

    /// The call answered (its first byte, for streams) after `latency`; it stays in progress.
    func answered(_ deployment: String, after latency: Duration) {
        let seconds = Double(latency.components.seconds) + Double(latency.components.attoseconds) / 1e18
        entries.withLock { entries in
            Self.smooth(&entries[deployment, default: Entry()].latency, with: seconds)
        }
    }

    /// The call ended (an answer fully delivered, or a failure) having used `tokens`.
    func ended(_ deployment: String, tokens: Int) {
        let second = Int64((ContinuousClock.now - origin).components.seconds)
        entries.withLock { entries in
            // Mutated in place: copying the entry out would copy its bucket array on every request.
            Self.record(&entries[deployment, default: Entry()], second: second, tokens: tokens)
        }
    }

    private static func smooth(_ latency: inout Double?, with seconds: Double) {
        latency = latency.map { $0 + smoothing * (seconds - $0) } ?? seconds
    }

    private static func record(_ entry: inout Entry, second: Int64, tokens: Int) {
        entry.inFlight = max(0, entry.inFlight - 1)
        let slot = Int(second % 60)
        if entry.buckets[slot].second != second { entry.buckets[slot] = (second, 0, 0) }
        entry.buckets[slot].requests += 1
        entry.buckets[slot].tokens += tokens
    }

    /// What was seen of `deployment`.
    public func load(_ deployment: String) -> DeploymentLoad {
        let now = Int64((ContinuousClock.now - origin).components.seconds)
        return entries.withLock { entries in
            guard let entry = entries[deployment] else { return .idle }
            var load = DeploymentLoad(inFlight: entry.inFlight, latencySeconds: entry.latency)
            for bucket in entry.buckets where bucket.second > now - 60 {
                load.requestsLastMinute += bucket.requests
                load.tokensLastMinute += bucket.tokens
            }
            return load
        }
    }
}
