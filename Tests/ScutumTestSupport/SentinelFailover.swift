import Foundation
import ScutumRedis
import Testing

/// `SENTINEL FAILOVER` until the sentinels name a new master. A sentinel refuses one while it settles
/// (`INPROG`, `NOGOODSLAVE`), and aborts one it accepted when the replica's state is stale (a failover
/// moments after another: `-failover-abort-no-good-slave` in its log, and no reply says so): each
/// attempt waits `attempt` for the switch, then asks again, until `deadline`.
public func forceSentinelFailover(sentinel admin: RedisClient, masterName: String, connector: RedisConnector,
    from before: RedisEndpoint, attempt: Duration = .seconds(5), deadline: Duration = .seconds(45)) async throws
    -> RedisEndpoint
{
    let asked = ContinuousClock.now
    while ContinuousClock.now - asked < deadline {
        do {
            try await admin.send(["SENTINEL", "FAILOVER", RedisArgument(masterName)])
        } catch RedisClientError.server(let message) {
            TestEnvironment.logger.info("failover refused for now: \(message)")
            try await Task.sleep(for: .milliseconds(250))
            continue
        }
        let tried = ContinuousClock.now
        while ContinuousClock.now - tried < attempt {
            let now = try await connector.resolveMaster()
            if now != before { return now }
            try await Task.sleep(for: .milliseconds(50))
        }
        TestEnvironment.logger.info("the sentinels named no new master within \(attempt); asking again")
    }
    Issue.record("the sentinels never named a new master in \(deadline)")
    throw RedisClientError.unavailable("no failover of \(masterName)")
}
