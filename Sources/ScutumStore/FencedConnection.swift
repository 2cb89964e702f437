import Logging
import PostgresNIO
import Synchronization

/// The connection a fenced transaction runs on (`LeaderLease.withFencedTransaction`).
///
/// PostgreSQL ends the session of a fenced transaction left idle too long (a paused leader), and
/// postgres-nio 1.33 never answers a query written to a connection that has already closed (the
/// write fails on the closed channel and the query's promise is dropped). So every query here also
/// watches whether the connection closed, and fails with `ConnectionClosed` instead of waiting forever.
public struct FencedConnection: Sendable {
    let connection: PostgresConnection

    /// The query refused because the connection closed (PostgreSQL ended an idle transaction).
    public struct ConnectionClosed: Error, CustomStringConvertible {
        public var description: String { "the database connection closed during a fenced transaction" }
    }

    /// How often a waiting query looks whether its connection has closed.
    static let closeCheckInterval: Duration = .milliseconds(100)

    /// Runs `query` on the transaction's connection.
    @discardableResult
    public func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        let connection = self.connection
        if connection.isClosed { throw ConnectionClosed() }
        return try await withCheckedThrowingContinuation { continuation in
            let once = ResumeOnce(continuation)
            // A query written to a closed channel never completes: that task is abandoned.
            Task {
                do { once.resume(with: .success(try await connection.query(query, logger: logger))) }
                catch { once.resume(with: .failure(error)) }
            }
            // Polled rather than `closeFuture` callbacks, which would pile up on a pooled connection.
            Task {
                while !once.isDone {
                    if connection.isClosed { return once.resume(with: .failure(ConnectionClosed())) }
                    try? await Task.sleep(for: Self.closeCheckInterval)
                }
            }
        }
    }
}

/// Resumes a continuation with the first result given to it and ignores the rest.
private final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, any Error>?>

    init(_ continuation: CheckedContinuation<Value, any Error>) {
        self.continuation = Mutex(continuation)
    }

    var isDone: Bool { continuation.withLock { $0 == nil } }

    func resume(with result: Result<Value, any Error>) {
        continuation.withLock { pending -> CheckedContinuation<Value, any Error>? in
            defer { pending = nil }
            return pending
        }?.resume(with: result)
    }
}
