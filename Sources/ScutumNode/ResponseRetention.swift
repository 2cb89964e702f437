import Logging
import ScutumCore
import ScutumStore

/// The leader's sweep of expired Responses API responses: every `interval`, deletes what expired,
/// in rounds of at most `batch` rows (reads already treat an expired response as gone). Ends when
/// its task is cancelled (leadership lost, shutdown).
struct ResponseRetention: Sendable {
    let store: ResponseStore
    var interval: Duration = .seconds(600)
    var batch = 10_000
    let logger: Logger

    func run() async {
        while !Task.isCancelled {
            do {
                var deleted = 0
                var round = 0
                repeat {
                    // Bounded: a query stuck on an unreachable database must not hold up a change of
                    // leader (which waits for this task to end).
                    let (store, batch) = (self.store, self.batch)
                    round = try await withDeadline(.seconds(30)) { try await store.deleteExpired(limit: batch) }
                    deleted += round
                } while round == batch && !Task.isCancelled
                if deleted > 0 { logger.info("expired responses deleted", metadata: ["count": "\(deleted)"]) }
            } catch {
                logger.warning("expired responses could not be deleted", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
