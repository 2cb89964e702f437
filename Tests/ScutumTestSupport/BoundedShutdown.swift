import Foundation

/// Whether `task` ended within `limit`; a task still running then is left to run (it is reported,
/// not awaited, so one server that ignores its shutdown cannot stall the whole test run).
public func ended<T: Sendable>(_ task: Task<T, any Error>, within limit: Duration) async -> Bool {
    let (finished, continuation) = AsyncStream.makeStream(of: Void.self)
    Task {
        _ = await task.result
        continuation.finish()
    }
    return await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            for await _ in finished {}
            return !Task.isCancelled
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
    }
}

/// Runs `server` (a test's upstream mock or webhook receiver, not the gateway under test) while
/// `body` runs, then cancels it and waits for it at most `limit`. A server that has not stopped by
/// then is named on standard error and left behind: it is the test's scaffolding, and a test's
/// outcome is its expectations, not how its scaffolding shut down.
public func whileServing<T: Sendable>(_ name: String, limit: Duration = .seconds(30),
    _ server: @escaping @Sendable () async throws -> Void, _ body: () async throws -> T) async throws -> T
{
    let running = Task { try await server() }
    let outcome: Result<T, any Error>
    do {
        outcome = .success(try await body())
    } catch {
        outcome = .failure(error)
    }
    running.cancel()
    if await !ended(running, within: limit) {
        FileHandle.standardError.write(Data("warning: \(name) did not stop within \(limit) of being cancelled; left running\n".utf8))
    }
    return try outcome.get()
}
