import Foundation
import Logging
import ScutumStore
import ServiceLifecycle
import Synchronization

/// Elects one leader for the cluster with the PostgreSQL lease in `cluster_leader`.
///
/// Every `renewInterval` the node takes the lease if it is free or renews its own. It counts
/// itself leader only until `lease - safetyMargin` after the start of its last successful renewal,
/// by its own monotonic clock, so a node that was paused or cut off stops acting before another
/// node can take over; what it still tries to write is refused by the fence (`LeaderFence.verify`).
/// Leader-only work subscribes with `leadershipChanges()`.
public final class LeaderElection: Service, Sendable {
    public let nodeID: String
    let lease: LeaderLease
    let leaseDuration: Duration
    let renewInterval: Duration
    let safetyMargin: Duration
    let onChange: @Sendable (LeaderFence?) -> Void
    let logger: Logger

    private struct State {
        var fence: LeaderFence?
        var validUntil: ContinuousClock.Instant = .now
        var subscribers: [UUID: AsyncStream<LeaderFence?>.Continuation] = [:]
    }
    private let state = Mutex(State())

    public init(nodeID: String, lease: LeaderLease, leaseDuration: Duration = .seconds(6),
        renewInterval: Duration = .seconds(2), onChange: @escaping @Sendable (LeaderFence?) -> Void = { _ in },
        logger: Logger)
    {
        self.nodeID = nodeID
        self.lease = lease
        self.leaseDuration = leaseDuration
        self.renewInterval = renewInterval
        self.safetyMargin = leaseDuration / 4
        self.onChange = onChange
        self.logger = logger
    }

    /// The fence while this node is leader by its own clock; nil otherwise.
    public var fence: LeaderFence? {
        state.withLock { state in state.validUntil > .now ? state.fence : nil }
    }

    /// The current leadership (fence or nil) and every change after it.
    public func leadershipChanges() -> AsyncStream<LeaderFence?> {
        let (stream, continuation) = AsyncStream.makeStream(of: LeaderFence?.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        state.withLock { state in
            continuation.yield(state.validUntil > .now ? state.fence : nil)
            state.subscribers[id] = continuation
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastAttempt = ContinuousClock.now
            while !Task.isCancelled {
                let attempt = ContinuousClock.now
                if attempt - lastAttempt > self.leaseDuration, self.state.withLock({ $0.fence }) != nil {
                    // The process did not run for longer than a lease (paused, starved): whatever it
                    // held is gone. Stop acting before asking again.
                    self.logger.warning("node was paused past its lease; fenced: not acting as leader",
                        metadata: ["paused_for": "\(attempt - lastAttempt)"])
                    self.update(nil, validUntil: attempt)
                }
                lastAttempt = attempt
                await self.renew(startedAt: attempt)
                await self.sleepUntilNextRenewal()
            }
        }
        if let fence = state.withLock({ $0.fence }) {
            update(nil, validUntil: .now)
            do {
                try await lease.release(fence)
                logger.notice("leadership released on shutdown", metadata: ["fence": "\(fence)"])
            } catch {
                logger.warning("could not release leadership; it lapses by itself", metadata: ["error": "\(error)"])
            }
        }
        // Finished outside the lock: a stream's termination handler takes it to remove itself.
        let subscribers = state.withLock { state in
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for continuation in subscribers { continuation.finish() }
    }

    private func sleepUntilNextRenewal() async {
        try? await Task.sleep(for: renewInterval)
    }

    private func renew(startedAt: ContinuousClock.Instant) async {
        do {
            let fence = try await lease.acquireOrRenew(nodeID: nodeID, lease: leaseDuration)
            update(fence, validUntil: startedAt + leaseDuration - safetyMargin)
        } catch {
            logger.warning("leader lease not renewed", metadata: ["error": "\(String(reflecting: error))"])
            // Keep what we have until it lapses by our own clock.
            let expired = state.withLock { $0.validUntil <= .now }
            if expired { update(nil, validUntil: .now) }
        }
    }

    private func update(_ fence: LeaderFence?, validUntil: ContinuousClock.Instant) {
        let (changed, previous) = state.withLock { state -> (Bool, LeaderFence?) in
            let previous = state.fence
            state.fence = fence
            state.validUntil = validUntil
            guard previous != fence else { return (false, previous) }
            for continuation in state.subscribers.values { continuation.yield(fence) }
            return (true, previous)
        }
        guard changed else { return }
        if let fence {
            logger.notice("this node is now the cluster leader", metadata: ["fence": "\(fence)"])
        } else if let previous {
            logger.warning("this node lost the cluster leadership", metadata: ["fence": "\(previous)"])
        }
        onChange(fence)
    }
}

/// Runs `work` while this node leads, with the fence it leads under; cancels it when leadership
/// is lost and starts it again on the next term.
public struct LeaderOnlyService: Service {
    let name: String
    let election: LeaderElection
    let work: @Sendable (LeaderFence) async -> Void
    let logger: Logger

    public init(name: String, election: LeaderElection, logger: Logger,
        work: @escaping @Sendable (LeaderFence) async -> Void)
    {
        self.name = name
        self.election = election
        self.work = work
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var running: Task<Void, Never>?
            for await fence in election.leadershipChanges() {
                running?.cancel()
                await running?.value
                running = nil
                guard let fence else { continue }
                logger.info("leader-only work starting", metadata: ["work": "\(name)", "fence": "\(fence)"])
                running = Task { await work(fence) }
            }
            running?.cancel()
            await running?.value
        }
    }
}
