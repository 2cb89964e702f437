import Foundation
import ScutumCore
import Synchronization
import Testing

/// `withDeadline`: the answer at the deadline, whatever the work does with its cancellation.
@Suite("Deadlines")
struct DeadlineTests {
    /// Work that does not stop when cancelled: it waits for a timer outside Swift concurrency.
    static func stubborn(for seconds: Double, ended: Ended) async -> Int {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                ended.mark()
                continuation.resume(returning: 7)
            }
        }
    }

    final class Ended: Sendable {
        private let state = Mutex(false)
        var value: Bool { state.withLock { $0 } }
        func mark() { state.withLock { $0 = true } }
    }

    @Test("work that finishes in time gives its value or its error")
    func inTime() async throws {
        #expect(try await withDeadline(.seconds(5)) { 42 } == 42)
        struct Failed: Error {}
        await #expect(throws: Failed.self) { try await withDeadline(.seconds(5)) { () async throws -> Int in throw Failed() } }
    }

    @Test("work that ignores its cancellation does not hold the caller past the deadline")
    func stubbornWork() async throws {
        let ended = Ended()
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(100)) { await Self.stubborn(for: 3, ended: ended) }
        }
        // A task group would have waited the 3 s out.
        #expect(clock.now - start < .seconds(2))
        #expect(!ended.value)
    }

    @Test("work that honours cancellation is cancelled at the deadline")
    func cooperativeWork() async throws {
        let cancelled = Ended()
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(50)) { () async throws -> Int in
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    cancelled.mark()
                    throw error
                }
                return 1
            }
        }
        let seen = try await eventuallyTrue { cancelled.value }
        #expect(seen)
    }

    @Test("cancelling the caller cancels the work and throws CancellationError at once")
    func callerCancelled() async throws {
        let ended = Ended()
        let task = Task { try await withDeadline(.seconds(30)) { await Self.stubborn(for: 3, ended: ended) } }
        try await Task.sleep(for: .milliseconds(50))
        let clock = ContinuousClock()
        let start = clock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(clock.now - start < .seconds(2))
        // Already cancelled before it starts: CancellationError, and the work never holds it.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await withDeadline(.seconds(30)) { await Self.stubborn(for: 3, ended: ended) }
        }
        await #expect(throws: CancellationError.self) { _ = try await early.value }
    }

    /// Polls `check` for up to two seconds.
    func eventuallyTrue(_ check: () -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if check() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return check()
    }
}
