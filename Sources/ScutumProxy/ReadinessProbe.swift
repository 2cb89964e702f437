/// Checks the services a node needs to serve: PostgreSQL (required) and Redis (the node serves
/// without it, degraded to per-node limits, so it stays in the load balancer).
public struct ReadinessProbe: Sendable {
    /// One named check; throws when the service is not usable.
    public struct Check: Sendable {
        public var name: String
        /// When false, a failure makes the node degraded, not unready.
        public var required: Bool
        public var run: @Sendable () async throws -> Void

        public init(name: String, required: Bool = true, run: @escaping @Sendable () async throws -> Void) {
            self.name = name
            self.required = required
            self.run = run
        }
    }

    /// The outcome of each check.
    public struct Report: Sendable {
        public var results: [(name: String, required: Bool, error: String?)]
        public var isReady: Bool { results.allSatisfy { $0.error == nil || !$0.required } }
        public var isDegraded: Bool { results.contains { $0.error != nil } }
    }

    let checks: [Check]
    let timeout: Duration

    public init(checks: [Check], timeout: Duration) {
        self.checks = checks
        self.timeout = timeout
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
                        return (index, "no answer within \(timeout)")
                    } catch {
                        return (index, "\(error)")
                    }
                }
            }
            var results = checks.map { (name: $0.name, required: $0.required, error: String?.none) }
            for await (index, error) in group { results[index].error = error }
            return Report(results: results)
        }
    }
}
