import Logging
import ScutumCore
import ScutumRedis
import Synchronization

/// Checks the services a node needs to serve: PostgreSQL and Redis. Without Redis the node serves,
/// degraded to per-node limits, so it stays in the load balancer. PostgreSQL is required until the
/// node first reaches it; after that its loss only degrades the node, which keeps serving the keys
/// it has cached (a fleet sharing one database would otherwise leave the load balancer all at once).
public struct ReadinessProbe: Sendable {
    /// One named check; throws when the service is not usable.
    public struct Check: Sendable {
        public var name: String
        /// When false, a failure makes the node degraded, not unready.
        public var required: Bool
        /// When true, `required` holds only until the check first passes.
        public var onlyUntilFirstSuccess: Bool
        public var run: @Sendable () async throws -> Void
        /// Whether the check has passed since the process started.
        let passedOnce = PassedOnce()

        public init(name: String, required: Bool = true, onlyUntilFirstSuccess: Bool = false,
            run: @escaping @Sendable () async throws -> Void)
        {
            self.name = name
            self.required = required
            self.onlyUntilFirstSuccess = onlyUntilFirstSuccess
            self.run = run
        }

        /// Whether a failure now makes the node unready.
        var requiredNow: Bool { required && !(onlyUntilFirstSuccess && passedOnce.value.withLock { $0 }) }
    }

    final class PassedOnce: Sendable {
        let value = Mutex(false)
    }

    /// The outcome of each check. `error` is safe to show on a public endpoint: `no answer within ...`,
    /// `unavailable`, or for a Redis Cluster `unavailable: 1 of 3 nodes (slots 0-5460)`, never the underlying error (whose text names hosts, ports and URLs); that goes to the log.
    public struct Report: Sendable {
        public var results: [(name: String, required: Bool, error: String?)]
        public var isReady: Bool { results.allSatisfy { $0.error == nil || !$0.required } }
        public var isDegraded: Bool { results.contains { $0.error != nil } }
    }

    let checks: [Check]
    let timeout: Duration
    let logger: Logger?

    /// - Parameter logger: where a failed check's underlying error is logged (the report only says `unavailable`).
    public init(checks: [Check], timeout: Duration, logger: Logger? = nil) {
        self.checks = checks
        self.timeout = timeout
        self.logger = logger
    }

    /// Runs every check concurrently, each bounded by the timeout.
    public func report() async -> Report {
        await withTaskGroup(of: (Int, String?).self) { group in
            for (index, check) in checks.enumerated() {
                group.addTask {
                    do {
                        try await withDeadline(timeout) { try await check.run() }
                        return (index, nil)
                    } catch is DeadlineExceeded {
                        logger?.notice("readiness check gave no answer in time",
                            metadata: ["check": "\(check.name)", "timeout": "\(timeout)"])
                        return (index, "no answer within \(timeout)")
                    } catch let error as RedisNodesUnavailable where error.failing.contains(where: { !$0.slots.isEmpty }) {
                        // Which shards of a Redis Cluster fail, by their slots (never their addresses).
                        logger?.notice("readiness check failed", metadata: ["check": "\(check.name)", "error": "\(error)"])
                        return (index, "unavailable: \(error.publicDescription)")
                    } catch {
                        logger?.notice("readiness check failed", metadata: ["check": "\(check.name)", "error": "\(error)"])
                        return (index, "unavailable")
                    }
                }
            }
            var errors = [String?](repeating: nil, count: checks.count)
            for await (index, error) in group { errors[index] = error }
            for (check, error) in zip(checks, errors) where error == nil { check.passedOnce.value.withLock { $0 = true } }
            return Report(results: zip(checks, errors).map { check, error in
                (name: check.name, required: check.requiredNow, error: error)
            })
        }
    }
}
