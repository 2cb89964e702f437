/// Thrown by `withDeadline` when the work does not finish in time.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public var description: String { "deadline exceeded" }
}

/// Runs `work`, cancelling it and throwing `DeadlineExceeded` after `timeout`.
public func withDeadline<T: Sendable>(_ timeout: Duration, _ work: @escaping @Sendable () async throws -> T)
    async throws -> T
{
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
