/// Checks the services a node needs to serve: PostgreSQL and Redis.
public struct ReadinessProbe: Sendable {
    /// One named check; throws when the service is not usable.
    public struct Check: Sendable {
        public var name: String
        public var run: @Sendable () async throws -> Void

        public init(name: String, run: @escaping @Sendable () async throws -> Void) {
            self.name = name
            self.run = run
        }
    }

    /// The outcome of each check.
    public struct Report: Sendable {
        public var results: [(name: String, error: String?)]
        public var isReady: Bool { results.allSatisfy { $0.error == nil } }
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
            var results = checks.map { (name: $0.name, error: String?.none) }
            for await (index, error) in group { results[index].error = error }
            return Report(results: results)
        }
    }
}
