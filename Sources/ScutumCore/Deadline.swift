import Synchronization

/// Thrown by `withDeadline` when the work does not finish in time.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public var description: String { "deadline exceeded" }
}

/// Runs `work`, cancelling it and throwing `DeadlineExceeded` after `timeout`.
///
/// The caller gets its answer at the deadline even when `work` does not stop at once on
/// cancellation (a connection attempt, a pool waiting for a server): the work is cancelled and left
/// to end on its own, and what it returns then is dropped. A task group would wait for it, which is
/// how a readiness probe bounded at 2 s could still take longer than its caller's patience.
/// Cancelling the caller cancels the work and throws `CancellationError`.
public func withDeadline<T: Sendable>(_ timeout: Duration, _ work: @escaping @Sendable () async throws -> T)
    async throws -> T
{
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.start(continuation, timeout: timeout, work: work)
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The work and its timer racing to answer one continuation; the first to finish answers and
/// cancels the other.
final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var tasks: [Task<Void, Never>] = []
        /// Set by the first `finish`; a result that comes before `start` waits here.
        var outcome: Result<T, any Error>?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>, timeout: Duration,
        work: @escaping @Sendable () async throws -> T)
    {
        let early = state.withLock { state -> Result<T, any Error>? in
            if let outcome = state.outcome { return outcome }
            state.continuation = continuation
            return nil
        }
        if let early { return continuation.resume(with: early) }
        let worker = Task {
            do {
                finish(.success(try await work()))
            } catch {
                finish(.failure(error))
            }
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            finish(.failure(DeadlineExceeded()))
        }
        let finished = state.withLock { state -> Bool in
            state.tasks = [worker, timer]
            return state.outcome != nil
        }
        if finished {
            worker.cancel()
            timer.cancel()
        }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            guard state.outcome == nil else { return (nil, []) }
            state.outcome = result
            defer { state.continuation = nil }
            return (state.continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        continuation?.resume(with: result)
    }
}
