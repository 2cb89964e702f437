import Logging
import ScutumCore
import ScutumStore
import ServiceLifecycle

/// The sweep of expired Responses API responses, on every node: every `interval` (and once at
/// start), deletes what expired, in rounds of at most `batch` rows that skip rows another node is
/// deleting (reads already treat an expired response as gone). Ends at graceful shutdown.
struct ResponseRetention: Service {
    let store: ResponseStore
    var interval: Duration = .seconds(600)
    var batch = 10_000
    let logger: Logger

    func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweep()
                try? await Task.sleep(for: interval)
            }
        }
    }

    func sweep() async {
        do {
            var deleted = 0
            var round = 0
            repeat {
                round = try await store.deleteExpired(limit: batch)
                deleted += round
            } while round == batch && !Task.isCancelled
            if deleted > 0 { logger.info("expired responses deleted", metadata: ["count": "\(deleted)"]) }
        } catch where !Task.isCancelled {
            logger.warning("expired responses could not be deleted", metadata: ["error": "\(String(reflecting: error))"])
        } catch {}
    }
}
